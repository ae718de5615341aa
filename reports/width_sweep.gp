# width_sweep.gp: function gap and kernel drift of full networks against
# their linearisation, against hidden width, log-log (DESIGN.md T4).
# Variables (strings): gapfile and driftfile (first line quoted names;
# column 1 width, then one column per method), ncol, title.
if (!exists("width")) width = '1400'
load tmpldir.'/common.gp'
set multiplot layout 1,2 title title
set logscale xy
set format y '%.0e'
set xlabel 'hidden width (units per layer)'
set key inside bottom left
set ylabel 'function gap |f_full - f_lin| / |f_lin - y| (dimensionless)'
set title 'function gap at the end of training'
plot for [i=2:int(real(ncol))] gapfile using 1:i with linespoints lw 2 pt 7 title columnhead(i)
set ylabel 'kernel drift |K_t - K_0|_F / |K_0|_F (dimensionless)'
set title 'kernel drift at the end of training'
plot for [i=2:int(real(ncol))] driftfile using 1:i with linespoints lw 2 pt 7 title columnhead(i)
unset multiplot

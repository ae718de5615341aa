# kernel_heatmap.gp: a kernel matrix estimated by Monte Carlo next to its
# moment formula, and the entry-wise z-scores (estimate - formula) / SE.
# Variables (strings): estfile, formfile, zfile (gnuplot `matrix` files,
# n x n), title, what (e.g. 'shared NZK').
if (!exists("width")) width = '1500'
if (!exists("height")) height = '520'
load tmpldir.'/common.gp'
stats formfile matrix using 3 nooutput
lo = STATS_min; hi = STATS_max
set multiplot layout 1,3 title title
set size ratio -1
set xlabel 'example j'
set ylabel 'example i'
set autoscale xfix
set autoscale yfix
set yrange [*:*] reverse
set cbrange [lo:hi]
set palette rgbformulae 33,13,10
set cblabel 'kernel entry (squared output units)'
set title 'Monte Carlo estimate of '.what
plot estfile matrix with image notitle
set title 'moment formula E K'
plot formfile matrix with image notitle
set title 'z-score (estimate - formula) / SE'
set cbrange [-5:5]
set palette defined (-5 '#2040c0', 0 '#ffffff', 5 '#c02020')
set cblabel 'z (standard errors)'
plot zfile matrix with image notitle
unset multiplot

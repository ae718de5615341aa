# acceleration.gp: T5, speed-up over the plain scheme in steps to a target
# loss, measured next to predicted from the expected kernels' spectra, for
# each comparison regime.  Variables (strings): datafile (first line
# quoted names; column 1 regime label, then one column per series), ncol,
# title.  Missing bars (NaN) are runs that never reached the target.
load tmpldir.'/common.gp'
# left-aligned at the top of the canvas: a centred title over a plot whose key
# sits outside on the right is clipped on the left when it is long
set label 1 title at screen 0.01, screen 0.975 left front
set tmargin 3
set ylabel 'speed-up over plain = steps_plain / steps_scheme (ratio)'
set xlabel 'comparison regime'
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [*:*]
plot for [i=2:int(real(ncol))] datafile using i:xtic(1) title columnhead(i), \
     1 with lines dt 2 lc rgb 'black' title 'no speed-up'

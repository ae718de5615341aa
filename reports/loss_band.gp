# loss_band.gp: mean training loss over R seeds with its spread, one band
# per method.  Variables (strings): datafile (first line quoted names;
# column 1 step, then for each method three columns: mean, low, high),
# nmeth (number of methods), title.
load tmpldir.'/common.gp'
# left-aligned at the top of the canvas: a centred title over a plot whose key
# sits outside on the right is clipped on the left when it is long
set label 1 title at screen 0.01, screen 0.975 left front
set tmargin 3
set xlabel 'training step t (iterations)'
set ylabel 'training loss L = |f - y|^2 / 2n  (squared target units)'
set logscale y
set format y '%.0e'
set style fill transparent solid 0.22 noborder
nm = int(real(nmeth))
plot for [m=0:nm-1] datafile using 1:(column(3+3*m)):(column(4+3*m)) with filledcurves \
       lc m+1 notitle, \
     for [m=0:nm-1] datafile using 1:(column(2+3*m)) with lines lw 2 lc m+1 \
       title columnhead(2+3*m)

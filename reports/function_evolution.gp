# function_evolution.gp: the model's outputs on the training examples at
# several record steps, with the targets.  Variables (strings): datafile
# (first line quoted names; column 1 example index sorted by target,
# column 2 target y, then f at each record step), ncol, title.
load tmpldir.'/common.gp'
# left-aligned at the top of the canvas: a centred title over a plot whose key
# sits outside on the right is clipped on the left when it is long
set label 1 title at screen 0.01, screen 0.975 left front
set tmargin 3
set xlabel 'training example i (sorted by target y_i)'
set ylabel 'model output f(x_i) (target units)'
plot datafile using 1:2 with points pt 7 ps 0.7 lc rgb 'black' title columnhead(2), \
     for [i=3:int(real(ncol))] datafile using 1:i with lines lw 1.5 title columnhead(i)

# loss_curves.gp: training loss against step, one line per method.
# Variables (strings): datafile (whitespace columns, first line quoted
# names: step, then one column per method), ncol (number of columns),
# title; optional ylabel and logx ('1' for a logarithmic step axis).
load tmpldir.'/common.gp'
if (!exists("ylabel")) ylabel = 'training loss L = |f - y|^2 / 2n  (squared target units)'
# left-aligned at the top of the canvas: a centred title over a plot whose key
# sits outside on the right is clipped on the left when it is long
set label 1 title at screen 0.01, screen 0.975 left front
set tmargin 3
set xlabel 'training step t (iterations)'
set ylabel ylabel
set logscale y
set format y '%.0e'
if (exists("logx") && logx eq '1') set logscale x
# dash types cycle so that curves lying on top of each other stay visible
plot for [i=2:int(real(ncol))] datafile using 1:i with lines dashtype int(i%3+1) lw 2 \
     title columnhead(i)

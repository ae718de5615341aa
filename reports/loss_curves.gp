# loss_curves.gp: training loss against step, one line per method.
# Variables (strings): datafile (whitespace columns, first line quoted
# names: step, then one column per method), ncol (number of columns),
# title; optional ylabel and logx ('1' for a logarithmic step axis).
load tmpldir.'/common.gp'
if (!exists("ylabel")) ylabel = 'training loss L = |f - y|^2 / 2n  (squared target units)'
set title title
set xlabel 'training step t (iterations)'
set ylabel ylabel
set logscale y
set format y '%.0e'
if (exists("logx") && logx eq '1') set logscale x
plot for [i=2:int(real(ncol))] datafile using 1:i with lines lw 2 title columnhead(i)

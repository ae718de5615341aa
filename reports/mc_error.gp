# mc_error.gp: relative Frobenius error of Monte Carlo kernel estimates
# against the number of draws S, log-log, with the fitted line per scheme
# and the S^(-1/2) reference.  Variables (strings): datafile (first line
# quoted names; column 1 S, then one error column per scheme), ncol,
# slopes and intercepts (space-separated, one per scheme, of the fit
# log10 err = a + b log10 S), title.
load tmpldir.'/common.gp'
# left-aligned at the top of the canvas: a centred title over a plot whose key
# sits outside on the right is clipped on the left when it is long
set label 1 title at screen 0.01, screen 0.975 left front
set tmargin 3
set xlabel 'Monte Carlo draws S (count)'
set ylabel 'relative error |K_S - E K|_F / |E K|_F (dimensionless)'
set logscale xy
set format y '%.0e'
set format x '%.0e'
nser = int(real(ncol)) - 1
b(i) = real(word(slopes, i))
a(i) = real(word(intercepts, i))
plot for [i=1:nser] datafile using 1:(column(i+1)) with points pt 7 ps 1.2 lc i \
       title sprintf('%s (fit slope %.3f)', columnhead(i+1), b(i)), \
     for [i=1:nser] datafile using 1:(10**(a(i) + b(i)*log10($1))) with lines lc i notitle

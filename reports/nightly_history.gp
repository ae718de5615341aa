# nightly_history.gp: history of one benchmark figure across the nightly
# runs of one size.  Called by `nzk_bench report` as
#   gnuplot -c nightly_history.gp DATA OUT TITLE YLABEL NPOINTS
# DATA: whitespace columns run-index, median, min, max, run folder.
# The y axis starts at 0 so that a change looks as large as it is.
set terminal svg size 720,400 dynamic font "sans,11"
set output ARG2
set title ARG3 noenhanced
set ylabel ARG4 noenhanced
set xlabel "nightly run (folder name)"
n = int(ARG5)
set xrange [-0.5:n - 0.5]
set yrange [0:*]
set xtics rotate by -30 noenhanced
set grid ytics
set key bottom left
plot ARG1 using 1:2:3:4:xtic(5) with yerrorlines lw 2 pt 7 \
     title "median; bars: min to max of the repeats"

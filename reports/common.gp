# common.gp: terminal and style shared by every template of reports/.
# Loaded by each template as `load tmpldir.'/common.gp'`; the caller
# (src/report_plot.c) sets `outfile` (a PNG path) and `tmpldir` with -e.
# Text is not "enhanced": method names with underscores print as written.
if (!exists("outfile")) { print "common.gp: outfile is not set"; exit status 2 }
if (!exists("width")) width = '960'
if (!exists("height")) height = '600'
set terminal pngcairo size real(width), real(height) noenhanced font 'DejaVu Sans,11'
set output outfile
set grid lc rgb '#dddddd'
set key outside right top

# bench/plot.gp — the chart of one bench/run.sh run (gnuplot; Debian package gnuplot-nox).
#   gnuplot -e "datadir='DIR'; outfile='X.png'; title='...'" bench/plot.gp
# DIR/throughput.dat: "label" value           (requests, key sets, handshakes or cards per second)
# DIR/latency.dat:    achieved_req/s p50 p90 p99 max   (WSGetDiversifiedKeys, 64 keep-alive
#                                                       connections, open loop, in ms)
if (!exists("datadir")) datadir = "."
if (!exists("outfile")) outfile = "bench.png"
if (!exists("title")) title = "sekds bench"

set terminal pngcairo size 1400,560 font "DejaVu Sans,10"
set output outfile
set multiplot layout 1,2 title title font ",12"

# Left: throughput, each figure beside its baseline.
set title "throughput (per second, same run)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -35 left nomirror
set ytics nomirror
set grid ytics
set yrange [0:*]
set key off
set format y "%.0f"
plot datadir."/throughput.dat" using 2:xtic(1) linecolor rgb "#3b6ea8", \
     '' using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7 font ",8"

# Right: latency against the load that was achieved, with the 5 ms goal.
set title "WSGetDiversifiedKeys latency, 64 keep-alive connections (open loop)"
unset style
set style data linespoints
set xtics norotate autofreq
set xlabel "achieved requests/s"
set ylabel "ms"
set key top left
set yrange [0:*]
set xrange [0:*]
set arrow 1 from graph 0, first 5 to graph 1, first 5 nohead dashtype 2 linecolor rgb "#aa0000"
set label 1 "goal: p99 <= 5 ms" at graph 0.02, first 5 offset 0,0.6 textcolor rgb "#aa0000"
plot datadir."/latency.dat" using 1:2 title "p50" pointtype 7, \
     '' using 1:3 title "p90" pointtype 7, \
     '' using 1:4 title "p99" pointtype 7 linewidth 2, \
     '' using 1:5 title "max" pointtype 6 dashtype 3
unset multiplot

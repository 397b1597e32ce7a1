# bench/plot.gp: the bench's plot (bench/run.sh passes pk, md, out, title).
# Data columns: concurrency, unlocks/s, p50 ms, p99 ms, server CPU ms per
# unlock, failures.
set terminal pngcairo size 1400,450 font ",10"
set output out
set multiplot layout 1,3 title title
set logscale x 2
set xtics (8, 32, 128, 1000)
set xlabel "concurrent clients"
set key top left
set grid
set logscale y 10
set title "unlocks/s"
set yrange [1:10000]
plot pk using 1:2 with linespoints lw 2 title "peerkeyd (native)", \
     md using 1:2 with linespoints lw 2 title "mandos"
set autoscale y
set title "latency, ms (p50 solid, p99 dashed)"
set key bottom right
plot pk using 1:3 with linespoints lw 2 lc 1 title "peerkeyd p50", \
     pk using 1:4 with linespoints lw 2 lc 1 dt 2 title "peerkeyd p99", \
     md using 1:3 with linespoints lw 2 lc 2 title "mandos p50", \
     md using 1:4 with linespoints lw 2 lc 2 dt 2 title "mandos p99"
set title "server CPU per unlock, ms"
set key top left
plot pk using 1:5 with linespoints lw 2 title "peerkeyd", \
     md using 1:5 with linespoints lw 2 title "mandos"
unset multiplot

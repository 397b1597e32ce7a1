# bench/scale.gp: the fleet's plot (bench/scale.sh --plot passes sets,
# mesh, out, title). Data columns, as results/*-scale.txt has them: N,
# keys (3/5 or mesh), formation s, enroll s, heartbeats/s, CPU per node
# median and max (ms per s), RSS median and max (KiB), s to all unlocked,
# load, unlocked.
set terminal pngcairo size 1400,450 font ",10"
set output out
set multiplot layout 1,3 title title
set xlabel "machines (N)"
set xtics (25, 50, 100)
set xrange [0:110]
set key top left
set grid
set title "heartbeats/s, cluster-wide"
plot sets using 1:5 with linespoints lw 2 title "guardian sets (3 of 5)", \
     mesh using 1:5 with linespoints lw 2 title "full mesh", \
     [20:105] x * (x - 1) / 5 with lines dt 2 lc 2 title "N(N-1)/interval"
set title "CPU per node guarding, ms per s (median solid, max dashed)"
plot sets using 1:6 with linespoints lw 2 lc 1 title "sets, median", \
     sets using 1:7 with linespoints lw 2 lc 1 dt 2 title "sets, max", \
     mesh using 1:6 with linespoints lw 2 lc 2 title "mesh, median", \
     mesh using 1:7 with linespoints lw 2 lc 2 dt 2 title "mesh, max"
set title "cold start: s to all unlocked after one typed passphrase"
plot sets using 1:10 with linespoints lw 2 title "guardian sets (3 of 5)", \
     mesh using 1:10 with linespoints lw 2 title "full mesh"
unset multiplot

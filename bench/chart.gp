# bench/chart.gp - draws bench/run.sh's results: gnuplot -e "outfile='x.png'; echo='echo.dat';
# mem='mem.dat'; memrows=N; machine='...'" bench/chart.gp  (an outfile ending in .svg gives SVG;
# memrows 0: no in-memory panel, as with BENCH_MEM=0)
if (!exists('memrows')) memrows = 1
if (outfile[strlen(outfile)-3:] eq '.svg') {
    set terminal svg size 1200,900 dynamic font 'sans,12' background rgb 'white'
} else {
    set terminal pngcairo size 1200,900 font 'sans,10' background rgb 'white'
}
set output outfile
set multiplot layout (memrows > 0 ? 3 : 2),1 title "ws.h against its peers\n{/*0.8 ".machine."}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical Left reverse
set yrange [0:*]

set title 'Echo, small messages: 100 connections x 16 in flight x 16 bytes (million messages/s, higher is better)'
plot echo using 2:xtic(1) title 'binary' lc rgb '#1f77b4', \
     '' using 3 title 'text (mixed CJK)' lc rgb '#ff7f0e'

set title 'Echo, bulk: 10 connections x 4 in flight x 64 KiB (GB/s one way, higher is better)'
plot echo using 4:xtic(1) title 'binary' lc rgb '#1f77b4', \
     '' using 5 title 'text (mixed CJK)' lc rgb '#ff7f0e'

if (memrows > 0) {
    set title 'In memory: receive (parse, unmask, UTF-8 check; wslay frame API: no UTF-8 check), payload GB/s, log scale'
    set logscale y
    set yrange [0.05:*]
    plot mem using 2:xtic(1) title 'ws.h' lc rgb '#2ca02c', \
         '' using 3 title 'wslay frame API' lc rgb '#9467bd', \
         '' using 4 title 'wslay event API' lc rgb '#8c564b', \
         '' using 5 title 'memcpy' lc rgb '#aaaaaa'
}
unset multiplot

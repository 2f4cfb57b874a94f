#!/bin/bash
# Final side by side, second set: old (610a48e) vs new (main at the end), 3 rounds alternating,
# with the CPU steal of each run from /proc/stat.
out=/work/notes/s4/final-bench2.txt
: > $out
cpu() { head -1 /proc/stat | awk '{t=0; for (i=2;i<=9;i++) t+=$i; print t, $9}'; }
steal() { # steal% between two "total steal" pairs
  awk -v a="$1" -v b="$2" 'BEGIN { split(a,x," "); split(b,y," "); if (y[1]>x[1]) printf "%.1f%%", 100*(y[2]-x[2])/(y[1]-x[1]); else print "?" }'
}
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for b in $order; do
    s0=$(cpu); echo "=== round $r $b $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out
    /tmp/msgr-$b bench --reps 1 --duration 2s >> $out 2>&1
    s1=$(cpu); echo "--- round $r $b depth 4 $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) (steal in the run above: $(steal "$s0" "$s1"))" >> $out
    /tmp/msgr-$b bench --stack eventloop --size 64K,4M --conns 1 --depth 4 --reps 1 --duration 2s --idle 0 >> $out 2>&1
    s2=$(cpu); echo "+++ steal in the depth-4 run: $(steal "$s1" "$s2")" >> $out
  done
done
echo done >> $out

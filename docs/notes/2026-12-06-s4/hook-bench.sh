#!/bin/bash
out=/work/notes/s4/hook-bench.txt
: > $out
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for b in $order; do
    echo "=== round $r $b $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out
    /tmp/msgr-$b bench --size 4K,4M --conns 1,16 --reps 3 --idle 0 >> $out 2>&1
  done
done
echo done >> $out

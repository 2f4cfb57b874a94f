#!/bin/bash
# Final side by side: old (session start, 610a48e) vs new (main at the end), 3 rounds alternating.
out=/work/notes/s4/final-bench.txt
: > $out
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for b in $order; do
    echo "=== round $r $b $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out
    /tmp/msgr-$b bench --reps 1 --duration 2s >> $out 2>&1
    echo "--- round $r $b depth 4 $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out
    /tmp/msgr-$b bench --stack eventloop --size 64K,4M --conns 1 --depth 4 --reps 1 --duration 2s --idle 0 >> $out 2>&1
  done
done
echo done >> $out

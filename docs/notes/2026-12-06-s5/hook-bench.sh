#!/usr/bin/env bash
# The stop hook's side by side: msgr bench --size 4K,4M --conns 1,16 --reps 3, old/new alternating.
OLD=$1 NEW=$2 OUT=$3
: > $OUT
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    b=$OLD; [ $w = new ] && b=$NEW
    echo "### round $r $w $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT
    $b bench --size 4K,4M --conns 1,16 --reps 3 --idle 0 >> $OUT 2>&1
  done
done

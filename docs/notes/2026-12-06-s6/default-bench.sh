#!/usr/bin/env bash
# msgr bench default cases (4K x 1,16,256; 64K, 4M x1; idle sessions), old/new alternating, 3 rounds.
OLD=$1 NEW=$2 OUT=$3
: > $OUT
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    b=$OLD; [ $w = new ] && b=$NEW
    echo "### round $r $w default $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT
    $b bench --reps 1 --duration 2s >> $OUT 2>&1
  done
done

#!/usr/bin/env bash
# Issue 13's matrix: msgr bench --size 64K,4M --conns 1,4 --depth 1,4, crc and secure, old/new alternating, 3 rounds.
OLD=$1 NEW=$2 OUT=$3
: > $OUT
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    b=$OLD; [ $w = new ] && b=$NEW
    for d in 1 4; do
      echo "### round $r $w depth $d $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT
      $b bench --stack eventloop --size 64K,4M --conns 1,4 --depth $d --mode crc,secure --reps 1 --duration 2s --idle 0 >> $OUT 2>&1
    done
  done
done

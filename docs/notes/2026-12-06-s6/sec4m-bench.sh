#!/usr/bin/env bash
# Secure 4M only: A vs B alternating, 3 rounds, x 1,4 x depth 1,4.
A=$1 B=$2 OUT=$3
: > $OUT
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    b=$A; [ $w = new ] && b=$B
    for d in 1 4; do
      echo "### round $r $w depth $d $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT
      $b bench --stack eventloop --size 4M --conns 1,4 --depth $d --mode secure --reps 1 --duration 2s --idle 0 >> $OUT 2>&1
    done
  done
done

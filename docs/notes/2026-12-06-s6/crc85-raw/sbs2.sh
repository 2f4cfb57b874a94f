#!/usr/bin/env bash
# sbs.sh OUT ROUNDS : old vs new, alternating (order swapped on even rounds), the brief's cases
OUT=$1; ROUNDS=$2
for r in $(seq 1 $ROUNDS); do
  order="base new"; [ $((r%2)) = 0 ] && order="new base"
  for w in $order; do
    for d in 1 4; do
      echo "### round $r $w $(date +%T) load $(cut -d' ' -f1 /proc/loadavg) args: depth $d" >> $OUT
      /tmp/crc85/msgr-${w}2 bench --stack eventloop --size 64K,4M --conns 1,4 --depth $d --reps 1 --duration 2s --idle 0 >> $OUT 2>&1
    done
  done
done

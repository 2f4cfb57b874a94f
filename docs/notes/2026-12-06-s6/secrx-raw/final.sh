#!/usr/bin/env bash
# old = a568fd6 (main before secrx), new = fc80f70 (secrx: decrypt as bytes arrive); alternating, 3 rounds
OUT=$1; : > $OUT
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    for d in 1 4; do
      echo "### round $r $w depth $d $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) vmstat-st $(vmstat 1 2 | tail -1 | awk '{print $NF}')" >> $OUT
      /tmp/msgr-$w-secrx bench --stack eventloop --size 64K,4M --conns 1,4 --depth $d --mode secure --reps 1 --duration 2s --idle 0 2>&1 | grep -E "^ +(eventloop|raw) |load average" >> $OUT
    done
  done
done

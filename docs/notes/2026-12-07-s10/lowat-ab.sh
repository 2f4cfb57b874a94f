#!/bin/bash
# A/B of SO_RCVLOWAT (env MSGR_LOWAT_CAP) in one binary, alternating.
BIN=$1; OUT=$2; ROUNDS=${3:-3}
for r in $(seq 1 $ROUNDS); do
  for d in 4 1; do
    caps="0 1024"; [ $((r % 2)) -eq 0 ] && caps="1024 0"
    for cap in $caps; do
      echo "== round $r d=$d cap=$cap load $(cut -d' ' -f1-3 /proc/loadavg) $(date +%T)"
      MSGR_LOWAT_CAP=$cap MSGR_LOWAT_MIN=64 timeout 600 $BIN bench --stack eventloop --size 64K,4M --conns 1,4 --depth $d --mode crc,secure --reps 1 --duration 2s --idle 0 --timeout 20s 2>&1 | grep -E '^\s+(eventloop|raw) |incompl|panic'
    done
  done
done > $OUT 2>&1

#!/usr/bin/env bash
# usage: ab.sh OUT ROUNDS args...   alternating old/new msgr bench, each run prefixed with load
OUT=$1 R=$2; shift 2
for r in $(seq 1 $R); do
  if [ $((r%2)) = 0 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    echo "### round $r $w $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $OUT
    /tmp/msgr-$w-secrx bench "$@" 2>&1 | grep -E "^ +(eventloop|raw) " >> $OUT
  done
done

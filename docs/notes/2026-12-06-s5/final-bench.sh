#!/usr/bin/env bash
# Final side by side: old (15cb876, session start) vs new (main at the end), alternating, 3 rounds.
# usage: final-bench.sh OLD NEW OUT
OLD=$1 NEW=$2 OUT=$3
: > $OUT
run() { # label binary args...
  local l=$1 b=$2; shift 2
  echo "### $l $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg) args: $*" >> $OUT
  $b bench "$@" >> $OUT 2>&1
}
for r in 1 2 3; do
  if [ $r = 2 ]; then order="new old"; else order="old new"; fi
  for w in $order; do
    b=$OLD; [ $w = new ] && b=$NEW
    run "round $r $w default" $b --reps 1 --duration 2s
    run "round $r $w depth4" $b --stack eventloop --size 64K,4M --conns 1 --depth 4 --mode crc,secure --reps 1 --duration 2s --idle 0
  done
done

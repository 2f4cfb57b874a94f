#!/bin/bash
# hog.sh OUT ROUNDS ARGS: old/new alternating with a busy loop pinned to CPU 0 during each run
OUT=$1; R=$2; shift 2
for r in $(seq 1 $R); do
  order="old new"; [ $((r%2)) = 0 ] && order="new old"
  for v in $order; do
    cmd=/tmp/msgr-old-tail; [ $v = new ] && cmd=/tmp/msgr-new14
    ./quiet.sh
    up=$(uptime|sed 's/.*average: //')
    taskset -c 0 sh -c 'while :; do :; done' & H=$!
    out=$($cmd bench --reps 1 --idle 0 "$@" 2>&1)
    kill $H; wait $H 2>/dev/null
    echo "$out" | grep -E "^ +(eventloop|gonet|raw) " | sed "s/^/$r $v load $up other hog |/" | tee -a $OUT
  done
done

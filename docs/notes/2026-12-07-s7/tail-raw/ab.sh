#!/bin/bash
# ab.sh OUT ROUNDS ARGS...: old (6aa6d77) and new alternating (old first in odd rounds), raw rows kept
OUT=$1; R=$2; shift 2
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
for r in $(seq 1 $R); do
  order="old new"; [ $((r%2)) = 0 ] && order="new old"
  for v in $order; do
    cmd=/tmp/msgr-old-tail; [ $v = new ] && cmd=/tmp/msgr-new14
    ./quiet.sh
    up=$(uptime|sed 's/.*average: //')
    b0=$(busy); t0=$(date +%s.%N)
    out=$(/usr/bin/time -f "TIME %e %U %S" $cmd bench --reps 1 --idle 0 "$@" 2>&1)
    b1=$(busy); t1=$(date +%s.%N)
    own=$(echo "$out" | awk '/^TIME/{print $3+$4}')
    other=$(echo "$b0 $b1 $t0 $t1 $own" | awk '{printf "%.2f", (($2-$1)/100 - $5)/($4-$3)}')
    echo "$out" | grep -E "^ +(eventloop|gonet|raw) " | sed "s/^/$r $v load $up other $other |/" | tee -a $OUT
  done
done

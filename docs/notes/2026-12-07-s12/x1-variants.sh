#!/usr/bin/env bash
# x1-variants.sh OUT ROUNDS: 4K x1 (eventloop and gonet), rotating old / e6b9e65 with MSGR_BATCH=none / both.
OUT=$1 R=${2:-5}
: > "$OUT"
vs=("base:/tmp/msgr-base:both" "none:/tmp/msgr-exp4:none" "both:/tmp/msgr-exp4:both")
for r in $(seq 1 $R); do
  for i in 0 1 2; do
    v=${vs[$(( (i + r) % 3 ))]}
    IFS=: read -r name bin mode <<< "$v"
    echo "### round $r $name $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
    MSGR_BATCH=$mode $bin bench --size 4K --conns 1 --reps 3 --duration 1s --raw=false --idle 0 2>&1 | grep -E "^ +(eventloop|gonet) " >> "$OUT"
  done
done

#!/usr/bin/env bash
# x4-variants.sh OUT ROUNDS: crc 4M x4 depth 1 (eventloop), rotating base / exp4 with MSGR_BATCH=none|send|recv|both.
OUT=$1 R=${2:-4}
: > "$OUT"
vs=("base:/tmp/msgr-base:both" "none:/tmp/msgr-exp4:none" "send:/tmp/msgr-exp4:send" "recv:/tmp/msgr-exp4:recv" "both:/tmp/msgr-exp4:both")
for r in $(seq 1 $R); do
  for i in $(seq 0 4); do
    v=${vs[$(( (i + r) % 5 ))]}
    IFS=: read -r name bin mode <<< "$v"
    echo "### round $r $name $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT"
    MSGR_BATCH=$mode $bin bench --stack eventloop --size 4M --conns 4 --depth 1 --reps 1 --duration 2s --idle 0 2>&1 | grep -E "^ +(eventloop|raw) " >> "$OUT"
  done
done

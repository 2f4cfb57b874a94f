#!/usr/bin/env bash
# pstat.sh OUT ROUNDS COUNT "label:ENV.. BIN" ... -- bench args ; perf stat per run (task-clock, context switches)
OUT=$1; ROUNDS=$2; COUNT=$3; shift 3
vars=(); while [ "$1" != "--" ]; do vars+=("$1"); shift; done; shift
for r in $(seq 1 $ROUNDS); do
  order=("${vars[@]}")
  if [ $((r%2)) = 0 ]; then order=(); for ((i=${#vars[@]}-1;i>=0;i--)); do order+=("${vars[$i]}"); done; fi
  for v in "${order[@]}"; do
    label=${v%%:*}; cmd=${v#*:}
    l=$(cut -d' ' -f1 /proc/loadavg)
    res=$(perf stat -x, -e task-clock,context-switches -o /tmp/crc85/ps.tmp -- env $cmd bench "$@" --count $COUNT --raw=false --reps 1 --idle 0 2>&1 | grep -E '^ +eventloop')
    msgs=$(echo "$res" | awk '{print $6}'); mps=$(echo "$res" | awk '{print $7}'); cpu=$(echo "$res" | awk '{print $13}'); p50=$(echo "$res" | awk '{print $10}'); p99=$(echo "$res" | awk '{print $11}'); st=$(echo "$res" | awk '{print $NF}')
    cs=$(grep context-sw ps.tmp | cut -d, -f1)
    echo "$r $label $(date +%T) load $l msgs/s $mps cpu/1k $cpu p50 $p50 p99 $p99 steal $st cs/msg $(python3 -c "print('%.1f'%($cs/$msgs))")" >> $OUT
  done
done

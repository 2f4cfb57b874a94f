#!/usr/bin/env bash
# run.sh OUT ROUNDS "label=ENV... BINARY" ... -- bench args
# alternates the variants (order reversed on even rounds); one bench invocation per variant per round
OUT=$1; ROUNDS=$2; shift 2
vars=()
while [ "$1" != "--" ]; do vars+=("$1"); shift; done; shift
for r in $(seq 1 $ROUNDS); do
  order=("${vars[@]}")
  if [ $((r%2)) = 0 ]; then order=(); for ((i=${#vars[@]}-1;i>=0;i--)); do order+=("${vars[$i]}"); done; fi
  for v in "${order[@]}"; do
    label=${v%%:*}; cmd=${v#*:}
    echo "### round $r $label $(date +%T) load $(cut -d' ' -f1 /proc/loadavg) args: $*" >> $OUT
    env $cmd bench "$@" >> $OUT 2>&1
  done
done

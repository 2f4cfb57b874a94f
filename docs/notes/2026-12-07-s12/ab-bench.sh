#!/usr/bin/env bash
# ab-bench.sh OLD NEW OUT 'LABEL=ARGS'...: `msgr bench ARGS` with the OLD and NEW binaries,
# alternating over ROUNDS rounds (default 3; even rounds run new first), every LABEL=ARGS once per round and
# binary, each run headed "### round R old|new LABEL HH:MM:SS load L1 L5 L15" in OUT.
# The runs of this directory:
#   hook-bench.txt        'hook=--size 4K,4M --conns 1,16 --reps 3 --idle 0'
#   default-bench.txt     'default=--reps 1 --duration 2s'
#   big-bench*.txt        'depth D=--stack eventloop --size 64K,4M --conns 1,4 --depth D --mode crc,secure --reps 1 --duration 2s --idle 0' for D = 1, 4
#   sec-ahead.txt         as big-bench with --mode secure (OLD: decrypt-ahead forced off)
#   sec-step256.txt       as sec-ahead with --size 4M (NEW: decrypt-ahead in 256 KiB steps)
OLD=$1 NEW=$2 OUT=$3
shift 3
: >"$OUT"
for r in $(seq 1 "${ROUNDS:-3}"); do
	if [ $((r % 2)) = 0 ]; then order="new old"; else order="old new"; fi
	for w in $order; do
		b=$OLD
		[ $w = new ] && b=$NEW
		for v in "$@"; do
			echo "### round $r $w ${v%%=*} $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
			# shellcheck disable=SC2086 # ARGS are words
			$b bench ${v#*=} >>"$OUT" 2>&1
		done
	done
done

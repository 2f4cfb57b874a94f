#!/usr/bin/env bash
# ab4.sh OUT ROUNDS 'LABEL=ARGS'...: like ab-bench.sh over the variants oa0 oa1 oa256 oa1m
# (/tmp/secrx-VARIANT: openAhead off, on per read, on in 256 KiB steps, on in 1 MiB steps),
# rotating the order each round.
OUT=$1 R=$2
shift 2
: >"$OUT"
vs=(oa0 oa1 oa256 oa1m)
for r in $(seq 1 "$R"); do
	for i in 0 1 2 3; do
		w=${vs[$(((i + r - 1) % 4))]}
		for v in "$@"; do
			echo "### round $r $w ${v%%=*} $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
			# shellcheck disable=SC2086
			/tmp/secrx-$w bench ${v#*=} >>"$OUT" 2>&1
		done
	done
done

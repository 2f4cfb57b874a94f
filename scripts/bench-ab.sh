#!/usr/bin/env bash
# bench-ab.sh: two msgr binaries (say the session's start and its end) side by side under
# `msgr bench`, alternating, and every run's target figures next to each other.
#
#   scripts/bench-ab.sh [-r ROUNDS] OLD NEW OUT 'LABEL=BENCH ARGS'...
#
#   -r ROUNDS   rounds (default 3); odd rounds run OLD first, even rounds NEW first
#   OLD, NEW    msgr binaries (build one from another commit with
#               `git worktree add /tmp/old COMMIT && (cd /tmp/old && go build -o /tmp/msgr-old ./cmd/msgr)`)
#   OUT         every run's whole output, each headed
#               "### round R old|new LABEL HH:MM:SS load L1 L5 L15"
#   LABEL=ARGS  one `msgr bench ARGS` per round and binary (LABEL: one word), e.g.
#               'hook=--size 4K,4M --conns 1,16 --reps 3 --idle 0'
#               'd1=--stack eventloop --size 64K,4M --conns 1,4 --depth 1 --mode crc,secure --reps 1 --duration 2s --idle 0'
#
# At the end it prints, for each target line `msgr bench` printed ("targets (measured, not
# asserted)"), the figure of every run, old then new, with the median of each, and the load
# average when each run started. The machine is shared and noisy: read every figure, not only
# the medians, and run nothing else meanwhile.
set -euo pipefail

ROUNDS=3
while getopts "r:h" opt; do
	case $opt in
	r) ROUNDS=$OPTARG ;;
	*) sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 4 ] || { sed -n '2,/^set /p' "$0" | sed '$d' >&2; exit 2; }
OLD=$1 NEW=$2 OUT=$3
shift 3
for b in "$OLD" "$NEW"; do
	[ -x "$b" ] || { echo "bench-ab: $b is not an executable" >&2; exit 2; }
done

: >"$OUT"
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then order="old new"; else order="new old"; fi
	for w in $order; do
		b=$OLD
		[ "$w" = new ] && b=$NEW
		for v in "$@"; do
			echo "### round $r $w ${v%%=*} $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT"
			echo "bench-ab: round $r $w ${v%%=*}" >&2
			# shellcheck disable=SC2086 # ARGS are words
			if ! "$b" bench ${v#*=} >>"$OUT" 2>&1; then
				echo "bench-ab: round $r $w ${v%%=*} failed; see $OUT" >&2
				exit 1
			fi
		done
	done
done

# The summary: a target line's figure is its first number after the colon.
awk '
function median(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) { sub(/[x%]$/, "", a[i]); a[i] += 0 }
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	if (n == 0) return "-"
	return (n % 2) ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
/^### round / { build = $4; label = $5; load = $8; loads[build] = loads[build] " " load; intargets = 0; next }
/^targets \(measured/ { intargets = 1; next }
intargets && /^  [a-z0-9]/ {
	line = $0; sub(/^ +/, "", line); gsub(/ +/, " ", line)
	c = index(line, ": "); head = substr(line, 1, c + 1); rest = substr(line, c + 2)
	n = split(rest, w, " "); val = ""
	for (i = 1; i <= n; i++) if (w[i] ~ /^[0-9.]+[x%]?$/) { val = w[i]; w[i] = "_"; break }
	if (val == "") next
	key = label ": " head; for (i = 1; i <= n; i++) key = key (i > 1 ? " " : "") w[i]
	sub(/ (met|SHORT)$/, "", key)
	if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
	vals[key, build] = vals[key, build] " " val
	next
}
intargets && !/^  / { intargets = 0 }
END {
	print "load when each run started: old" loads["old"] "; new" loads["new"]
	for (k = 1; k <= nk; k++) {
		key = keys[k]
		printf "%s\n    old:%s  (median %s)\n    new:%s  (median %s)\n", key, vals[key, "old"], median(vals[key, "old"]), vals[key, "new"], median(vals[key, "new"])
	}
}' "$OUT"

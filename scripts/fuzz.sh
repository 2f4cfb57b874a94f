#!/usr/bin/env bash
# fuzz.sh: runs every fuzz target of the module, one after another, each for the same time, and
# prints executions per target.
#
#   scripts/fuzz.sh [-t FUZZTIME] [-p PARALLEL] [-k] [-r REGEXP] [PACKAGES...]
#
#   -t  go test's -fuzztime for each target: a duration (60s, the default) or a count (10000000x)
#   -p  fuzzing workers per target (go test -parallel; default 1: the machine is usually shared)
#   -k  keep the corpus: copy the inputs the fuzzer found interesting (kept in GOCACHE/fuzz) into
#       PKG/testdata/fuzz/TARGET/, where `go test` replays them as seeds from then on
#   -r  only targets whose name matches REGEXP
#   PACKAGES  default ./...
#
# A target that fails leaves its input in PKG/testdata/fuzz/TARGET/ (go test does that) and makes
# the script exit 1 after the others ran. Logs: $FUZZ_LOGS (default a temp dir), one per target.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=60s
parallel=1
keep=0
only=.
while getopts "t:p:kr:h" o; do
	case $o in
	t) fuzztime=$OPTARG ;;
	p) parallel=$OPTARG ;;
	k) keep=1 ;;
	r) only=$OPTARG ;;
	*) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- ./...

logs=${FUZZ_LOGS:-$(mktemp -d /tmp/msgr-fuzz.XXXXXX)}
mkdir -p "$logs"
module=$(go list -m)
cache=$(go env GOCACHE)/fuzz

# pkg<TAB>target, for every fuzz target in the packages given.
targets=$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' "$@" | while read -r pkg; do
	[ -n "$pkg" ] || continue
	go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' | grep -E -- "$only" | sed "s|^|$pkg\t|" || true
done)
n=$(printf '%s\n' "$targets" | grep -c . || true)
echo "fuzz.sh: $n targets, -fuzztime $fuzztime, -parallel $parallel, logs in $logs"
[ "$n" -gt 0 ] || exit 1

failed=0
total=0
printf '%-60s %14s %10s %8s %s\n' TARGET EXECS EXECS/S NEW RESULT
while IFS=$'\t' read -r pkg fn; do
	dir=${pkg#"$module"}
	dir=.${dir}
	log="$logs/$(echo "${dir#./}" | tr / _)_$fn.log"
	if go test -run '^$' -fuzz "^$fn\$" -fuzztime "$fuzztime" -parallel "$parallel" "$pkg" >"$log" 2>&1; then
		result=ok
	else
		result="FAIL (see $log)"
		failed=1
	fi
	# The last progress line: "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), new interesting: 12 (total: 40)".
	last=$(grep -E '^fuzz: elapsed: .*execs: [0-9]+' "$log" | tail -1 || true)
	execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
	el=$(sed -nE 's/^fuzz: elapsed: ([0-9hms]+),.*/\1/p' <<<"$last")
	newi=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	[ -n "$execs" ] || execs=0
	# go test's rate is its last interval's; the mean is execs over the fuzzing time (no build).
	secs=0
	[[ $el =~ ([0-9]+)h ]] && secs=$((secs + 3600 * BASH_REMATCH[1]))
	[[ $el =~ ([0-9]+)m ]] && secs=$((secs + 60 * BASH_REMATCH[1]))
	[[ $el =~ ([0-9]+)s ]] && secs=$((secs + BASH_REMATCH[1]))
	rate='?'
	[ "$secs" -gt 0 ] && rate=$((execs / secs))
	total=$((total + execs))
	printf '%-60s %14s %10s %8s %s\n' "${dir#./}.$fn" "$execs" "$rate" "${newi:-?}" "$result"
	if [ $keep = 1 ] && [ -d "$cache/$pkg/$fn" ]; then
		mkdir -p "$dir/testdata/fuzz/$fn"
		cp -n "$cache/$pkg/$fn"/* "$dir/testdata/fuzz/$fn/" 2>/dev/null || true
	fi
done <<<"$targets"
echo "fuzz.sh: $total executions in all; $(uptime)"
exit $failed

#!/usr/bin/env bash
# rados-bench-compare.sh: Ceph's own client (librados, via the real `rados bench`) and msgr
# (`msgr rados bench`) side by side on the same pool of the same running cluster, alternating,
# and the ratios msgr/librados of IOPS, latency and client CPU seconds per op.
#
#   scripts/rados-bench-compare.sh -c CEPH_CONF [-k KEYRING] [-p POOL] [-s SECS] [-m SECS] [-r ROUNDS] [-w SECS]
#
#   -c CEPH_CONF   the cluster's ceph.conf (default $MSGR_TEST_CEPH_RADOS)
#   -k KEYRING     client.admin's keyring (default: what the conf names)
#   -p POOL        pool to bench in (default msgr); bench objects are removed afterwards
#   -s SECS        seconds per 4 KiB bench (default 10)
#   -m SECS        seconds per 4 MiB bench (default 5), each at most 250 objects (1000 MiB,
#                  which the OSDs must hold below their 95% full ratio: a full OSD drops writes
#                  and the bench stalls; a 1-OSD memstore cluster needs --memstore-mb 2048 or more)
#   -r ROUNDS      rounds of the whole series (default 1); even rounds run msgr first
#   -w SECS        warm-up before round 1: a 4 KiB and a 4 MiB write bench by each client, not
#                  counted (default 5; 0 skips it). A fresh memstore OSD is slower at first.
#
# Series per round, each run by librados then by msgr:
#   4 KiB write t=16 (objects kept), 4 KiB seq read t=16, 4 KiB rand read t=16, cleanup,
#   4 MiB write t=4 then 4 MiB seq read t=4 of what it wrote (at most 250 objects), cleanup,
#   per client in turn (the OSDs hold 1000 MiB of it at a time, not twice that).
# CPU is user+system seconds of each client process (/usr/bin/time), divided by its ops; load is
# the 1-minute load average when the run started; steal% is the share of all CPU time the
# hypervisor gave to other guests during the run (/proc/stat).
# `rados bench` prints no latency percentiles, so p50/p99 are msgr's only; the latency ratio
# is of the averages both print.
set -euo pipefail

CONF=${MSGR_TEST_CEPH_RADOS:-}
KEYRING=
POOL=msgr
SECS=10
SECS4M=5
MAX4M=250 # at most 1 GiB of 4 MiB objects per client at a time
ROUNDS=1
WARM=5
while getopts "c:k:p:s:m:r:w:h" opt; do
	case $opt in
	c) CONF=$OPTARG ;;
	k) KEYRING=$OPTARG ;;
	p) POOL=$OPTARG ;;
	s) SECS=$OPTARG ;;
	m) SECS4M=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	w) WARM=$OPTARG ;;
	*) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
[ -n "$CONF" ] || { echo "rados-bench-compare: -c CEPH_CONF (or MSGR_TEST_CEPH_RADOS) is required" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "rados-bench-compare: /usr/bin/time is needed for CPU accounting" >&2; exit 2; }
command -v rados >/dev/null || { echo "rados-bench-compare: the real rados CLI is not installed" >&2; exit 2; }

WORK=$(mktemp -d /tmp/rados-bench-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$(dirname "$0")/.."
go build -o "$WORK/msgr" ./cmd/msgr

common=(-c "$CONF")
[ -n "$KEYRING" ] && common+=(-k "$KEYRING")
LIMIT=$((SECS + SECS4M + 120)) # a bench that hangs (a full OSD) must not hang the caller

# run TOOL NAME ARGS...: one bench, its output in $WORK/TOOL.NAME.out, its CPU in .cpu
run() {
	local tool=$1 name=$2
	shift 2
	local cmd
	if [ "$tool" = librados ]; then cmd=(rados); else cmd=("$WORK/msgr" rados); fi
	cut -d' ' -f1 /proc/loadavg >"$WORK/$tool.$name.load"
	local stat0
	stat0=$(head -n1 /proc/stat)
	if ! timeout --kill-after=10 "$LIMIT" /usr/bin/time -f '%U %S' -o "$WORK/$tool.$name.cpu" \
		"${cmd[@]}" "${common[@]}" -p "$POOL" "$@" >"$WORK/$tool.$name.out" 2>"$WORK/$tool.$name.err"; then
		echo "rados-bench-compare: $tool $name failed:" >&2
		tail -n 20 "$WORK/$tool.$name.err" "$WORK/$tool.$name.out" >&2
		cleanup
		exit 1
	fi
	# The share of the machine's CPU time the hypervisor gave to others
	# during the run (the cpu line's steal column), as msgr bench's steal.
	printf '%s\n%s\n' "$stat0" "$(head -n1 /proc/stat)" | awk '
		{ t = 0; for (i = 2; i <= NF; i++) t += $i; tot[NR] = t; st[NR] = $9 }
		END { d = tot[2] - tot[1]; if (d > 0) printf "%.1f\n", 100 * (st[2] - st[1]) / d; else print "-" }' >"$WORK/$tool.$name.steal"
}

field() { # field FILE LABEL: the value after "LABEL:" (first match), or "-"
	awk -F: -v l="$2" '$1 == l { gsub(/^[ \t]+/, "", $2); print $2; found=1; exit } END { if (!found) print "-" }' "$1"
}

cleanup() {
	timeout 300 rados "${common[@]}" -p "$POOL" cleanup >/dev/null 2>&1 || true
	timeout 300 "$WORK/msgr" rados "${common[@]}" -p "$POOL" cleanup >/dev/null 2>&1 || true
}

declare -A sum
# series ORDER: one round, the two clients taking turns in ORDER (odd rounds
# librados first, even rounds msgr first: the cluster's state, e.g. how
# full memstore is, then favours neither).
series() {
	local order=$1 tool
	for tool in $order; do run "$tool" w4k bench "$SECS" write -b 4096 -t 16 --no-cleanup; done
	for tool in $order; do run "$tool" seq4k bench "$SECS" seq -t 16; done
	for tool in $order; do run "$tool" rand4k bench "$SECS" rand -t 16; done
	cleanup
	# Each client reads back its own objects (msgr's bench metadata is its
	# own), then they go before the other client writes.
	for tool in $order; do
		run "$tool" w4m bench "$SECS4M" write -b 4194304 -t 4 --max-objects "$MAX4M" --no-cleanup
		run "$tool" seq4m bench "$SECS4M" seq -t 4
		cleanup
	done
}

if [ "$WARM" -gt 0 ]; then
	for tool in librados msgr; do
		run "$tool" warm4k bench "$WARM" write -b 4096 -t 16
		run "$tool" warm4m bench "$WARM" write -b 4194304 -t 4 --max-objects "$MAX4M"
	done
	cleanup
fi
printf '%-10s %-9s %10s %12s %12s %12s %14s %6s %6s\n' bench client IOPS "avg lat(s)" "p50(s)" "p99(s)" "CPU s/op" load steal%
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then series "librados msgr"; else series "msgr librados"; fi
	for name in w4k seq4k rand4k w4m seq4m; do
		for tool in librados msgr; do
			out=$WORK/$tool.$name.out
			iops=$(field "$out" "Average IOPS")
			lat=$(field "$out" "Average Latency(s)")
			p50=$(field "$out" "Latency p50(s)")
			p99=$(field "$out" "Latency p99(s)")
			ops=$(field "$out" "Total writes made")
			[ "$ops" = - ] && ops=$(field "$out" "Total reads made")
			cpu=$(awk -v n="$ops" '{ if (n > 0) printf "%.3g", ($1 + $2) / n; else print "-" }' "$WORK/$tool.$name.cpu")
			printf '%-10s %-9s %10s %12s %12s %12s %14s %6s %6s\n' "$name" "$tool" "$iops" "$lat" "$p50" "$p99" "$cpu" "$(cat "$WORK/$tool.$name.load")" "$(cat "$WORK/$tool.$name.steal")"
			sum[$name.$tool.iops]=$iops sum[$name.$tool.lat]=$lat sum[$name.$tool.cpu]=$cpu
		done
	done
	echo "ratios msgr/librados (round $round): IOPS (higher is better), avg latency and CPU/op (lower is better)"
	for name in w4k seq4k rand4k w4m seq4m; do
		awk -v n="$name" -v li="${sum[$name.librados.iops]}" -v mi="${sum[$name.msgr.iops]}" \
			-v ll="${sum[$name.librados.lat]}" -v ml="${sum[$name.msgr.lat]}" \
			-v lc="${sum[$name.librados.cpu]}" -v mc="${sum[$name.msgr.cpu]}" \
			'function r(m, l) { return (l + 0 > 0 && m != "-") ? sprintf("%.2f", m / l) : "-" }
			 BEGIN { printf "  %-8s IOPS %s  latency %s  CPU/op %s\n", n, r(mi, li), r(ml, ll), r(mc, lc) }'
	done
done

#!/usr/bin/env bash
# rados-bench-compare.sh: Ceph's own client (librados, via the real `rados bench`) and msgr
# (`msgr rados bench`) side by side on the same pool of the same running cluster, alternating,
# and the ratios msgr/librados of IOPS, latency and client CPU seconds per op.
#
#   scripts/rados-bench-compare.sh -c CEPH_CONF [-k KEYRING] [-p POOL] [-s SECS] [-m SECS] [-n OBJS]
#                                  [-r ROUNDS] [-w SECS] [-o all|4k|4m] [-x MSGR_BINARY]
#
#   -c CEPH_CONF   the cluster's ceph.conf (default $MSGR_TEST_CEPH_RADOS)
#   -k KEYRING     client.admin's keyring (default: what the conf names)
#   -p POOL        pool to bench in (default msgr); bench objects are removed afterwards
#   -s SECS        seconds per 4 KiB bench (default 10)
#   -m SECS        seconds per 4 MiB bench (default 10): the write runs for SECS or until it
#                  has written -n objects; the seq read repeats passes over them until the passes
#                  add up to SECS
#   -n OBJS        4 MiB objects a write may leave (default 1000 = 4000 MiB; the OSDs must hold
#                  them below their 95% full ratio, or a full OSD drops writes and the bench
#                  stalls: a 1-OSD memstore cluster needs --memstore-mb 6144 for 1000)
#   -r ROUNDS      rounds of the whole series (default 1); even rounds run msgr first
#   -w SECS        warm-up before round 1: a 4 KiB and a 4 MiB write bench by each client, not
#                  counted (default 20; 0 skips it). A fresh memstore OSD is slower at first:
#                  after 3-5 s, the OSD spent 1.2-1.55x the CPU per op on the second client's
#                  round-1 4 KiB writes (msgr/librados 0.72-0.95); after 20 s, round 1 read like
#                  the others (notes/2026-12-07-s12, rbc-w20.txt).
#   -o CASES       all (default), 4k or 4m: only the 4 KiB or only the 4 MiB benches
#   -x MSGR        bench this msgr binary (e.g. an older build) instead of building ./cmd/msgr
#
# Series per round, each run by librados then by msgr:
#   4 KiB write t=16 (objects kept), 4 KiB seq read t=16, 4 KiB rand read t=16, cleanup,
#   4 MiB write t=4 then 4 MiB seq read t=4 of what it wrote, cleanup, per client in turn
#   (the OSDs hold one client's objects at a time, not twice that).
# 4 KiB IOPS is what each tool prints as "Average IOPS". 4 MiB IOPS and MB/s are total ops over
# total time run (summed over the seq passes), for both tools alike: `rados bench` averages its
# per-second counts, which for a few seconds of 4 MiB ops is a handful of samples.
# CPU is user+system seconds of each client process (/usr/bin/time), summed over a run's
# processes and divided by its ops. OSD and mon CPU are the user+system seconds the cluster's
# ceph-osd and ceph-mon processes spent during the run (utime+stime from /proc/PID/stat, summed
# over the daemons on this machine started with CEPH_CONF; "-" if there are none), per op: what
# each client's ops cost the cluster. load is the 1-minute load average when the run started;
# steal% is the share of all CPU time the hypervisor gave to other guests during the run
# (/proc/stat).
# `rados bench` prints no latency percentiles, so p50/p99 are msgr's only (of a seq read's
# first pass); the latency ratio is of the averages both print.
# When the cluster runs on this machine and the runs use all its cores, CPU bounds IOPS: "bound"
# is librados' client+cluster CPU per op over msgr's (what the IOPS ratio tends to), "free
# client" librados' over the cluster's alone for msgr's ops (the most any client could get).
set -euo pipefail

CONF=${MSGR_TEST_CEPH_RADOS:-}
KEYRING=
POOL=msgr
SECS=10
SECS4M=10
MAX4M=1000
ROUNDS=1
WARM=20
CASES=all
MSGR=
while getopts "c:k:p:s:m:n:r:w:o:x:h" opt; do
	case $opt in
	c) CONF=$OPTARG ;;
	k) KEYRING=$OPTARG ;;
	p) POOL=$OPTARG ;;
	s) SECS=$OPTARG ;;
	m) SECS4M=$OPTARG ;;
	n) MAX4M=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	w) WARM=$OPTARG ;;
	o) CASES=$OPTARG ;;
	x) MSGR=$OPTARG ;;
	*) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2 ;;
	esac
done
[ -n "$CONF" ] || { echo "rados-bench-compare: -c CEPH_CONF (or MSGR_TEST_CEPH_RADOS) is required" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "rados-bench-compare: /usr/bin/time is needed for CPU accounting" >&2; exit 2; }
command -v rados >/dev/null || { echo "rados-bench-compare: the real rados CLI is not installed" >&2; exit 2; }
case $CASES in
all) NAMES="w4k seq4k rand4k w4m seq4m" ;;
4k) NAMES="w4k seq4k rand4k" ;;
4m) NAMES="w4m seq4m" ;;
*) echo "rados-bench-compare: -o all, 4k or 4m" >&2; exit 2 ;;
esac
if [ -n "$MSGR" ]; then
	[ -x "$MSGR" ] || { echo "rados-bench-compare: -x $MSGR is not an executable" >&2; exit 2; }
	MSGR=$(realpath "$MSGR")
fi

WORK=$(mktemp -d /tmp/rados-bench-compare.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$(dirname "$0")/.."
if [ -z "$MSGR" ]; then
	go build -o "$WORK/msgr" ./cmd/msgr
	MSGR=$WORK/msgr
fi

common=(-c "$CONF")
[ -n "$KEYRING" ] && common+=(-k "$KEYRING")
LIMIT=$((SECS + SECS4M + 120)) # a bench that hangs (a full OSD) must not hang the caller

# daemon_pids KIND: the ceph-KIND processes on this machine started with CONF.
daemon_pids() {
	local conf p
	conf=$(realpath "$CONF")
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qE "^(\S*/)?ceph-$1 (.* )?-c ($conf|$CONF) " && echo "${p#/proc/}"
	done
	return 0
}
OSDS=$(daemon_pids osd)
MONS=$(daemon_pids mon)

# daemon_ticks PIDS...: their utime+stime in clock ticks (- if none).
daemon_ticks() {
	[ $# -gt 0 ] || { echo -; return; }
	local p
	for p; do sed 's/.*) //' "/proc/$p/stat"; done | awk '{ t += $12 + $13 } END { print t }'
}
TICK=$(getconf CLK_TCK)

# ticks_per_op TICKS OPS: CPU seconds per op ("-" if either is unknown).
ticks_per_op() {
	awk -v t="$1" -v n="$2" -v k="$TICK" 'BEGIN { if (n > 0 && t != "-") printf "%.3g", t / k / n; else print "-" }'
}

# daemons_start TOOL NAME, daemons_end TOOL NAME: the OSDs' and mons' CPU ticks
# spent in between, in $WORK/TOOL.NAME.dcpu ("OSD mon").
daemons_start() {
	# shellcheck disable=SC2086 # lists of pids
	echo "$(daemon_ticks $OSDS) $(daemon_ticks $MONS)" >"$WORK/$1.$2.d0"
}
daemons_end() {
	# shellcheck disable=SC2086
	echo "$(daemon_ticks $OSDS) $(daemon_ticks $MONS)" | paste -d' ' "$WORK/$1.$2.d0" - |
		awk '{ printf "%s %s\n", ($1 == "-" ? "-" : $3 - $1), ($2 == "-" ? "-" : $4 - $2) }' >"$WORK/$1.$2.dcpu"
}

# run TOOL NAME ARGS...: one bench, its output in $WORK/TOOL.NAME.out, its CPU
# (user system) in .cpu, the load when it started in .load, its steal in .steal.
run() {
	local tool=$1 name=$2
	shift 2
	cut -d' ' -f1 /proc/loadavg >"$WORK/$tool.$name.load"
	local stat0
	stat0=$(head -n1 /proc/stat)
	daemons_start "$tool" "$name"
	pass "$tool" "$name" "$@" >"$WORK/$tool.$name.out"
	daemons_end "$tool" "$name"
	mv "$WORK/$tool.$name.pcpu" "$WORK/$tool.$name.cpu"
	steal "$stat0" >"$WORK/$tool.$name.steal"
}

# pass TOOL NAME ARGS...: one client process; its output on stdout, its CPU
# in $WORK/TOOL.NAME.pcpu.
pass() {
	local tool=$1 name=$2
	shift 2
	local cmd
	if [ "$tool" = librados ]; then cmd=(rados); else cmd=("$MSGR" rados); fi
	if ! timeout --kill-after=10 "$LIMIT" /usr/bin/time -f '%U %S' -o "$WORK/$tool.$name.pcpu" \
		"${cmd[@]}" "${common[@]}" -p "$POOL" "$@" >"$WORK/$tool.$name.pout" 2>"$WORK/$tool.$name.err"; then
		echo "rados-bench-compare: $tool $name failed:" >&2
		tail -n 20 "$WORK/$tool.$name.err" "$WORK/$tool.$name.pout" >&2
		cleanup
		exit 1
	fi
	cat "$WORK/$tool.$name.pout"
}

# steal STAT0: the share of the machine's CPU time the hypervisor gave to
# others since STAT0 (/proc/stat's cpu line; its steal column), as msgr bench's steal.
steal() {
	printf '%s\n%s\n' "$1" "$(head -n1 /proc/stat)" | awk '
		{ t = 0; for (i = 2; i <= NF; i++) t += $i; tot[NR] = t; st[NR] = $9 }
		END { d = tot[2] - tot[1]; if (d > 0) printf "%.1f\n", 100 * (st[2] - st[1]) / d; else print "-" }'
}

# seqpasses TOOL NAME: seq reads t=4 of the objects the last write left, pass
# after pass until they add up to SECS4M seconds (a pass reads each object
# once, a second or two at 4 MiB). Every pass's output goes in .out; .cpu
# holds the CPU summed over the passes.
seqpasses() {
	local tool=$1 name=$2
	cut -d' ' -f1 /proc/loadavg >"$WORK/$tool.$name.load"
	local stat0 left=$SECS4M secs
	stat0=$(head -n1 /proc/stat)
	: >"$WORK/$tool.$name.out"
	: >"$WORK/$tool.$name.cpus"
	daemons_start "$tool" "$name"
	while awk -v l="$left" 'BEGIN { exit !(l > 0) }'; do
		pass "$tool" "$name" bench "$SECS4M" seq -t 4 >>"$WORK/$tool.$name.out"
		cat "$WORK/$tool.$name.pcpu" >>"$WORK/$tool.$name.cpus"
		secs=$(field "$WORK/$tool.$name.pout" "Total time run")
		[ "$secs" = - ] && { echo "rados-bench-compare: $tool $name printed no time" >&2; exit 1; }
		left=$(awk -v l="$left" -v s="$secs" 'BEGIN { print l - s }')
	done
	daemons_end "$tool" "$name"
	awk '{ u += $1; s += $2 } END { print u, s }' "$WORK/$tool.$name.cpus" >"$WORK/$tool.$name.cpu"
	steal "$stat0" >"$WORK/$tool.$name.steal"
}

field() { # field FILE LABEL: the value after "LABEL:" (first match), or "-"
	awk -F: -v l="$2" '$1 == l { gsub(/^[ \t]+/, "", $2); print $2; found=1; exit } END { if (!found) print "-" }' "$1"
}

sumfield() { # sumfield FILE LABEL: the values after every "LABEL:" added up, or "-"
	awk -F: -v l="$2" '$1 == l { gsub(/^[ \t]+/, "", $2); t += $2; found=1 } END { if (found) print t; else print "-" }' "$1"
}

cleanup() {
	timeout 300 rados "${common[@]}" -p "$POOL" cleanup >/dev/null 2>&1 || true
	timeout 300 "$MSGR" rados "${common[@]}" -p "$POOL" cleanup >/dev/null 2>&1 || true
}

declare -A sum
# series ORDER: one round, the two clients taking turns in ORDER (odd rounds
# librados first, even rounds msgr first: the cluster's state, e.g. how
# full memstore is, then favours neither).
series() {
	local order=$1 tool
	if [ "$CASES" != 4m ]; then
		for tool in $order; do run "$tool" w4k bench "$SECS" write -b 4096 -t 16 --no-cleanup; done
		for tool in $order; do run "$tool" seq4k bench "$SECS" seq -t 16; done
		for tool in $order; do run "$tool" rand4k bench "$SECS" rand -t 16; done
		cleanup
	fi
	if [ "$CASES" = 4k ]; then return; fi
	# Each client reads back its own objects (msgr's bench metadata is its
	# own), then they go before the other client writes.
	for tool in $order; do
		run "$tool" w4m bench "$SECS4M" write -b 4194304 -t 4 --max-objects "$MAX4M" --no-cleanup
		seqpasses "$tool" seq4m
		cleanup
	done
}

if [ "$WARM" -gt 0 ]; then
	for tool in librados msgr; do
		if [ "$CASES" != 4m ]; then run "$tool" warm4k bench "$WARM" write -b 4096 -t 16; fi
		if [ "$CASES" != 4k ]; then run "$tool" warm4m bench "$WARM" write -b 4194304 -t 4 --max-objects "$MAX4M"; fi
	done
	cleanup
fi
printf '%-10s %-9s %10s %9s %12s %12s %12s %14s %14s %14s %6s %6s\n' bench client IOPS MB/s "avg lat(s)" "p50(s)" "p99(s)" "CPU s/op" "OSD s/op" "mon s/op" load steal%
for round in $(seq 1 "$ROUNDS"); do
	if [ $((round % 2)) = 1 ]; then series "librados msgr"; else series "msgr librados"; fi
	for name in $NAMES; do
		for tool in librados msgr; do
			out=$WORK/$tool.$name.out
			lat=$(field "$out" "Average Latency(s)")
			p50=$(field "$out" "Latency p50(s)")
			p99=$(field "$out" "Latency p99(s)")
			ops=$(sumfield "$out" "Total writes made")
			[ "$ops" = - ] && ops=$(sumfield "$out" "Total reads made")
			case $name in
			*4k)
				iops=$(field "$out" "Average IOPS")
				bw=$(field "$out" "Bandwidth (MB/sec)")
				;;
			*4m)
				# Total ops over total time: the same measure for both tools.
				secs=$(sumfield "$out" "Total time run")
				iops=$(awk -v n="$ops" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "-" }')
				bw=$(awk -v n="$ops" -v s="$secs" 'BEGIN { if (s > 0) printf "%.1f", 4 * n / s; else print "-" }')
				[ "$name" = seq4m ] && lat=$(awk -F: '$1 == "Average Latency(s)" { t += $2; k++ } END { if (k) printf "%.5g", t / k; else print "-" }' "$out")
				;;
			esac
			cpu=$(awk -v n="$ops" '{ if (n > 0) printf "%.3g", ($1 + $2) / n; else print "-" }' "$WORK/$tool.$name.cpu")
			read -r osd mon <"$WORK/$tool.$name.dcpu"
			osd=$(ticks_per_op "$osd" "$ops") mon=$(ticks_per_op "$mon" "$ops")
			printf '%-10s %-9s %10s %9s %12s %12s %12s %14s %14s %14s %6s %6s\n' "$name" "$tool" "$iops" "$bw" "$lat" "$p50" "$p99" "$cpu" "$osd" "$mon" "$(cat "$WORK/$tool.$name.load")" "$(cat "$WORK/$tool.$name.steal")"
			sum[$name.$tool.iops]=$iops sum[$name.$tool.lat]=$lat sum[$name.$tool.cpu]=$cpu sum[$name.$tool.osd]=$osd
			sum[$name.$tool.cluster]=$(awk -v o="$osd" -v m="$mon" 'BEGIN { if (o != "-" && m != "-") printf "%.3g", o + m; else print "-" }')
			sum[$name.$tool.all]=$(awk -v c="$cpu" -v o="$osd" -v m="$mon" 'BEGIN { if (c != "-" && o != "-" && m != "-") printf "%.3g", c + o + m; else print "-" }')
		done
	done
	# all CPU/op: client + OSDs + mons per op. When they share the machine's cores and use them
	# all, IOPS can be at most the inverse of its ratio (bound), and even a client that cost
	# nothing would get at most librados' all CPU/op over the cluster's CPU/op of msgr's ops
	# (free client).
	echo "ratios msgr/librados (round $round): IOPS (higher is better), avg latency, CPU/op of the client, of the OSDs, of all (lower is better); IOPS bound when CPU-bound, and with a free client"
	for name in $NAMES; do
		awk -v n="$name" -v li="${sum[$name.librados.iops]}" -v mi="${sum[$name.msgr.iops]}" \
			-v ll="${sum[$name.librados.lat]}" -v ml="${sum[$name.msgr.lat]}" \
			-v lc="${sum[$name.librados.cpu]}" -v mc="${sum[$name.msgr.cpu]}" \
			-v lo="${sum[$name.librados.osd]}" -v mo="${sum[$name.msgr.osd]}" \
			-v la="${sum[$name.librados.all]}" -v ma="${sum[$name.msgr.all]}" -v mk="${sum[$name.msgr.cluster]}" \
			'function r(m, l) { return (l + 0 > 0 && m != "-") ? sprintf("%.2f", m / l) : "-" }
			 BEGIN { printf "  %-8s IOPS %s  latency %s  CPU/op %s  OSD CPU/op %s  all CPU/op %s  bound %s  free client %s\n", n, r(mi, li), r(ml, ll), r(mc, lc), r(mo, lo), r(ma, la), r(la, ma), r(la, mk) }'
	done
done

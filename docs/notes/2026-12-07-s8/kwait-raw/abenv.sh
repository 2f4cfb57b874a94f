#!/usr/bin/env bash
# abenv.sh BIN OUT ROUNDS CASES VARIANTS... : per round, per MSGRX_KW variant (order reversed on
# even rounds), per case in CASES (comma list of "SIZE:CONNS:DEPTH"), one 2 s eventloop crc run
# plus its raw TCP run, one compact line each. other = CPUs other processes used during the
# invocation (machine busy from /proc/stat minus this process's task-clock).
BIN=$1 OUT=$2 R=$3 CASES=$4
shift 4
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
for r in $(seq 1 "$R"); do
	vs="$*"
	[ $((r % 2)) = 0 ] && vs=$(echo "$@" | tr ' ' '\n' | tac | tr '\n' ' ')
	for v in $vs; do
		for c in ${CASES//,/ }; do
			IFS=: read -r s n d <<<"$c"
			l=$(cut -d' ' -f1 /proc/loadavg)
			b0=$(busy); t0=$(date +%s.%N)
			o=$(MSGRX_DBG=1 MSGRX_KW=$v perf stat -x, -e task-clock $BIN bench --stack eventloop --size $s --conns $n --depth $d --mode crc --reps 1 --duration 2s --idle 0 2>&1)
			b1=$(busy); t1=$(date +%s.%N)
			tc=$(echo "$o" | grep task-clock | cut -d, -f1)
			other=$(awk -v a="$b0" -v b="$b1" -v tc="$tc" -v t0="$t0" -v t1="$t1" 'BEGIN{split(a,x," ");split(b,y," "); printf "%.2f", ((y[1]-x[1])/100 - tc/1000)/(t1-t0)}')
			el=$(echo "$o" | grep '^  eventloop' | awk '{print $7, $9, $10, $11, $13, $17, $18, $19}')
			raw=$(echo "$o" | grep '^        raw' | awk '{print $9, $13}')
			pct=$(echo "$el|$raw" | awk -F'|' '{split($1,e," ");split($2,w," "); if (w[1]>0) printf "%.0f%% cpu/raw %.2f", 100*e[2]/w[1], e[5]/w[2]}')
			dbg=$(echo "$o" | grep '^DBG' | sed 's/DBG eventloop crc: //; s/ hist \[[0-9 ]*\]//g; s/ (mig [0-9]* ev [0-9]*)//; s/threads [0-9]*//')
			echo "r$r $v $s x$n d$d load $l other $other | $pct | el msgs/s MB/s p50 p99 cpu/1k steal runq idleP: $el | raw: $raw | $dbg" | tee -a "$OUT"
		done
	done
done

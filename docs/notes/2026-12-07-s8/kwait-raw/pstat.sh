#!/usr/bin/env bash
# pstat.sh OUT ROUNDS CASES BIN...: perf stat counts per message (eventloop only, --count N), alternating binaries.
OUT=$1 R=$2 CASES=$3
shift 3
for r in $(seq 1 "$R"); do
	bs="$*"
	[ $((r % 2)) = 0 ] && bs=$(echo "$@" | tr ' ' '\n' | tac | tr '\n' ' ')
	for b in $bs; do
		for c in ${CASES//,/ }; do
			IFS=: read -r s n d cnt <<<"$c"
			l=$(cut -d' ' -f1 /proc/loadavg)
			o=$(perf stat -x, -e task-clock,context-switches,cpu-migrations,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_futex,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendmsg,syscalls:sys_enter_nanosleep $b bench --stack eventloop --size $s --conns $n --depth $d --mode crc --reps 1 --count $cnt --idle 0 --raw=false 2>&1)
			el=$(echo "$o" | grep '^  eventloop' | awk '{print $7, $9, $10, $11, $13, $17, $18, $19}')
			cnts=$(echo "$o" | awk -F, -v n=$cnt '/task-clock|context|migr|syscalls/{sub("syscalls:sys_enter_","",$3); printf "%s %.4g  ", $3, $1/n}')
			echo "r$r $(basename $b) $s x$n d$d load $l | el msgs/s MB/s p50 p99 cpu/1k steal runq idleP: $el | per msg: $cnts" | tee -a "$OUT"
		done
	done
done

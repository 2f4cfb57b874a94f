#!/usr/bin/env bash
# prec.sh TAG COUNT ENV... -- bench args : perf record, then per-message CPU split
TAG=$1; COUNT=$2; shift 2
envs=(); while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
l=$(cut -d' ' -f1 /proc/loadavg)
line=$(env "${envs[@]}" perf record -F 2000 -g -o /tmp/crc85/prof/$TAG.data ${BIN:-/tmp/crc85/msgr-exp} bench "$@" --count $COUNT --raw=false --reps 1 --idle 0 2>/dev/null | grep "^ *eventloop")
msgs=$(echo "$line" | awk '{print $6}')
perf report -i /tmp/crc85/prof/$TAG.data --children --sort sym --stdio -g none 2>/dev/null > /tmp/crc85/prof/$TAG.rep
tot=$(perf report -i /tmp/crc85/prof/$TAG.data --stdio --sort pid -g none 2>/dev/null | grep -m1 "Event count" | awk '{print $NF}')
pick() { grep -F -m1 "$1" /tmp/crc85/prof/$TAG.rep | awk '{print $1}' | tr -d '%'; }
python3 - "$TAG" "$l" "$msgs" "$tot" "$(pick 'Decoder).crcAhead')" "$(pick 'Conn).preSum')" "$(pick 'stack.(*loopSocket).Read')" "$(pick 'stack.(*loopSocket).Writev')" "$(pick 'runtime.Gosched')" "$(pick 'runtime.findRunnable')" "$(pick '[k] finish_task_switch')" "$line" <<'PY'
import sys
tag,l,msgs,tot=sys.argv[1:5]; vals=sys.argv[5:12]; line=sys.argv[12]
msgs=float(msgs); tot=float(tot)/1e9  # event count in ns
per=lambda p: (float(p) if p else 0)/100*tot/msgs*1e6
names=['crcAhead','preSum','Read','Writev','Gosched','findRunnable','taskswitch']
print(tag, 'load',l, 'total %.0f us/msg'%(tot/msgs*1e6), ' '.join('%s %.0f'%(n,per(v)) for n,v in zip(names,vals)), '|', ' '.join(line.split()[6:7]+line.split()[12:13]+line.split()[-1:]))
PY

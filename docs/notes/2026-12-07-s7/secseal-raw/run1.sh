#!/bin/bash
# run1.sh TAG BIN: 1-CPU perf run of secure 4M x1 d4; per message ms of CPU, seal, open, copies
tag=$1; b=$2
perf record -e cpu-clock -o pv.data -- taskset -c 1 $b bench --stack eventloop --size 4M --conns 1 --depth 4 --mode secure --raw=false --reps 1 --duration 3s --idle 0 > bv.txt 2>&1
m=$(grep eventloop bv.txt | awk '{print $6}')
perf report -i pv.data --no-children --sort sym --stdio 2>/dev/null > pr.txt
f() { grep "$1" pr.txt | head -1 | awk '{print $1}' | tr -d %; }
tot=$(grep "Event count" pr.txt | awk '{print $NF}')
python3 -c "
m=$m;t=$tot/1e6
print('$tag load $(cut -d' ' -f1 /proc/loadavg) msgs',m,'cpu/msg %.2f'%(t/m),'seal %.2f open %.2f copy_to %.2f copy_from %.2f'%($(f sealAVX512)*t/100/m,$(f openAVX512)*t/100/m,$(f _copy_to_iter)*t/100/m,$(f _copy_from_iter)*t/100/m))"

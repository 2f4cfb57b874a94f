#!/usr/bin/env bash
# usage: var.sh OUT ROUNDS -- variants as ENV settings; profiles each run, prints cpu/msg and kernel ms/msg
OUT=$1 R=$2; shift 2
for r in $(seq 1 $R); do
  for v in "$@"; do
    tag=$(echo "$v" | tr '= ' '__')
    env $v /tmp/secrx/msgr-var bench --stack eventloop --size 4M --conns 1 --depth 4 --mode secure --reps 1 --duration 3s --idle 0 --raw=false --cpuprofile /tmp/secrx/v-$tag > /tmp/secrx/v-out 2>&1
    line=$(grep -E "^ +eventloop" /tmp/secrx/v-out)
    msgs=$(echo "$line" | awk '{print $6}'); cpu=$(echo "$line" | awk '{print $13}'); mbs=$(echo "$line" | awk '{print $9}')
    prof=$(go tool pprof -top /tmp/secrx/msgr-var /tmp/secrx/v-$tag-eventloop-secure-4M-1.pprof 2>/dev/null)
    k() { echo "$prof" | awk -v f="$1" -v m=$msgs '$NF ~ f {v=$1; if (v ~ /ms$/) {sub(/ms$/,"",v); v=v/1000} else sub(/s$/,"",v); printf "%.3f", v*1000/m; exit}'; }
    echo "r$r $(cut -d' ' -f1 /proc/loadavg) [$v] msgs=$msgs MB/s=$mbs cpu/msg=$cpu open=$(k 'openAVX512$') seal=$(k 'sealAVX512$') sys=$(k 'Syscall6$')" | tee -a $OUT
  done
done

#!/bin/sh
# Like mon-maps.sh, but with four memstore OSD daemons running so that the
# mon keeps pg_temp and primary_temp entries and OSDs can be up, down or
# out: one mon, hosts h0..h3 each with one running OSD (0..3) and one OSD
# that never starts (4..7). Writes full.N and inc.N to OUTDIR.
#
# usage: mon-osd-maps.sh OUTDIR
set -eu
out=$(realpath "$1")
mkdir -p "$out"
dir=$(mktemp -d /tmp/monosd.XXXXXX)
port=$((40000 + $$ % 20000))
fsid=$(cat /proc/sys/kernel/random/uuid)
cat > "$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir
pid file = $dir/\$name.pid
log file = $dir/\$name.log
admin socket = $dir/\$name.asok
mon data = $dir/mon
osd data = $dir/\$name
osd objectstore = memstore
memstore device bytes = 134217728
osd crush update on start = false
mon allow pool delete = true
mon osd allow primary affinity = true
mon osd allow primary temp = true
mon max pg per osd = 2000
osd pool default pg autoscale mode = off
osd pool default size = 3
ms bind msgr1 = false
CONF
c="$dir/ceph.conf"
cleanup() {
	for p in "$dir"/*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	sleep 2
	rm -rf "$dir"
}
trap cleanup EXIT
ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$port]" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$c" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
ceph-mon -c "$c" -i a
cep() { timeout 60 ceph -c "$c" "$@"; }
cep -s >/dev/null
cep osd set-require-min-compat-client luminous --yes-i-really-mean-it
for h in 0 1 2 3; do
	cep osd crush add-bucket "h$h" host
	cep osd crush move "h$h" root=default
done
for i in $(seq 0 7); do
	cep osd create >/dev/null
	cep osd crush add "osd.$i" 1.0 "host=h$((i % 4))"
done
for i in 0 1 2 3; do
	mkdir -p "$dir/osd.$i"
	ceph-osd -c "$c" -i "$i" --mkfs --osd-uuid "$(cat /proc/sys/kernel/random/uuid)" >/dev/null 2>&1
	ceph-osd -c "$c" -i "$i"
done
n=0
until cep osd stat | grep -q "4 up"; do
	n=$((n + 1)); [ $n -lt 90 ] || { echo "OSDs did not come up" >&2; exit 1; }
	sleep 1
done
cep osd pool create rep 32 32 replicated
cep osd erasure-code-profile set ec21 k=2 m=1 crush-failure-domain=host
cep osd pool create ec 16 16 erasure ec21
cep osd crush reweight osd.2 0.25
cep osd primary-affinity osd.1 0.3
cep osd set noup
cep osd pg-temp 1.3 2 0 1
cep osd pg-temp 2.2 1 3 0
cep osd primary-temp 1.4 3
cep osd primary-temp 2.5 0
cep osd pg-upmap 1.5 1 0 3
cep osd pg-upmap-items 1.6 0 3 1 2
cep osd pg-upmap-items 2.7 3 2
cep osd down 3
cep osd pg-temp 1.9 3 1 0
cep osd out 0
cep osd pool set rep pg_num 40
last=$(cep osd getmap -o "$dir/cur" 2>&1 | sed -n 's/.*got osdmap epoch \([0-9]*\).*/\1/p')
for e in $(seq 1 "$last"); do
	cep osd getmap "$e" -o "$out/full.$e" 2>/dev/null
done
for p in "$dir"/osd.*.pid "$dir"/mon.a.pid; do
	kill "$(cat "$p")" 2>/dev/null || true
done
while [ -f "$dir/mon.a.pid" ] && kill -0 "$(cat "$dir/mon.a.pid")" 2>/dev/null; do sleep 0.5; done
for e in $(seq 2 "$last"); do
	ceph-kvstore-tool rocksdb "$dir/mon/store.db" get osdmap "$e" out "$out/inc.$e" >/dev/null
done
echo "epochs 1..$last written to $out"

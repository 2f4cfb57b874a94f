#!/bin/sh
# Generate real OSDMap vectors from a throwaway single-mon Pacific cluster
# (no OSD daemons): an erasure pool, pg_temp, primary_temp, primary
# affinity, pg_upmap(_items), reweights and out OSDs, one epoch per change.
# Writes full maps (full.N) and the mon's incrementals (inc.N) to OUTDIR.
#
# usage: mon-maps.sh OUTDIR
set -eu
out=$(realpath "$1")
mkdir -p "$out"
dir=$(mktemp -d /tmp/monmaps.XXXXXX)
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
mon allow pool delete = true
mon osd allow primary affinity = true
mon osd allow primary temp = true
mon max pg per osd = 2000
osd pool default pg autoscale mode = off
osd pool default size = 3
osd crush chooseleaf type = 1
CONF
c="$dir/ceph.conf"
cleanup() {
	if [ -f "$dir/mon.a.pid" ]; then kill "$(cat "$dir/mon.a.pid")" 2>/dev/null || true; fi
	sleep 1
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
for i in $(seq 0 11); do
	cep osd create >/dev/null
	cep osd crush add "osd.$i" 1.0 "host=h$((i / 3))"
done
cep osd in $(seq 0 11)
cep osd pool create rep 32 32 replicated
cep osd erasure-code-profile set ec21 k=2 m=1 crush-failure-domain=host
cep osd pool create ec 16 16 erasure ec21
cep osd crush reweight osd.7 0.25
cep osd primary-affinity osd.1 0.3
cep osd primary-affinity osd.6 0
cep osd pg-temp 1.3 5 2 7
cep osd pg-temp 2.2 9 1 4
cep osd primary-temp 1.4 3
cep osd pg-upmap 1.5 1 4 8
cep osd pg-upmap-items 1.6 0 9
cep osd pg-upmap-items 2.7 3 6
cep osd out 11
cep osd pg-temp 1.3
cep osd pool set rep pg_num 40
last=$(cep osd getmap -o "$dir/cur" 2>&1 | sed -n 's/.*got osdmap epoch \([0-9]*\).*/\1/p')
for e in $(seq 1 "$last"); do
	cep osd getmap "$e" -o "$out/full.$e" 2>/dev/null
done
kill "$(cat "$dir/mon.a.pid")"
while [ -f "$dir/mon.a.pid" ] && kill -0 "$(cat "$dir/mon.a.pid")" 2>/dev/null; do sleep 0.5; done
for e in $(seq 2 "$last"); do
	ceph-kvstore-tool rocksdb "$dir/mon/store.db" get osdmap "$e" out "$out/inc.$e" >/dev/null
done
echo "epochs 1..$last written to $out"

#!/usr/bin/env bash
# ceph-cluster.sh: a throwaway Ceph (Pacific) cluster on 127.0.0.1 for msgr's interop tests.
#
#   scripts/ceph-cluster.sh up DIR [options]   create a fresh cluster under DIR and start it
#   scripts/ceph-cluster.sh down DIR           stop exactly the daemons started under DIR
#   scripts/ceph-cluster.sh status DIR         show the daemons and `ceph -s`; exit 1 if any is down
#   scripts/ceph-cluster.sh install [--mgr]    only install the packages (before parallel `up`s)
#
# Options for `up`:
#   --auth none|cephx       auth_{cluster,service,client}_required (default none)
#   --mode crc|secure       every ms_*_mode (default crc; secure needs cephx)
#   --osds N                memstore OSDs (default 1; 0 gives a mon-only cluster)
#   --memstore-mb M         memstore device size per OSD in MiB (default 1024)
#   --port-base P           mon v2 on P, v1 on P+1, OSDs bind in [P+10, P+10+max(100,10N)]
#   --mon-port-v2 P --mon-port-v1 P
#                           explicit mon ports (default 3300 / 6789, OSDs in 6800-7300)
#   --osd-ports MIN-MAX     explicit OSD port range
#   --ticket-ttl SECS       auth_mon_ticket_ttl and auth_service_ticket_ttl (short = renewal tests)
#   --pool NAME             create pool NAME (size 1, 8 PGs) and prove it takes a write; repeatable
#   --timeout SECS          bound on the wait for the mon and the OSDs (default 90)
#   --mgr                   also run a ceph-mgr (mgr.x; for mgr commands and pool statistics)
#   --msgr1-only            ms_bind_msgr2 = false: every daemon binds and speaks msgr1 only, the
#                           mon at v1:127.0.0.1:P+1 alone (as a pre-Nautilus cluster)
#
# Everything lives under DIR: ceph.conf, keyring (client.admin, named in ceph.conf), mon.keyring,
# mon/, osd/, run/ (pid files, admin sockets), log/. `up` on a DIR whose daemons run is a no-op;
# on a stopped one it wipes the old cluster and makes a fresh one. `down` kills only the pids in
# DIR/run/*.pid whose command line names DIR's ceph.conf, so clusters run side by side.
# Packages (ceph-mon ceph-osd ceph-common ceph-base) are installed with apt-get when missing.
set -euo pipefail

die() { echo "ceph-cluster: $*" >&2; exit 1; }
log() { echo "ceph-cluster: $*" >&2; }

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

ensure_packages() {
	local missing=0 t tools=(ceph-mon ceph-osd ceph ceph-authtool monmaptool rados) pkgs=(ceph-mon ceph-osd ceph-common ceph-base)
	if [ "${MGR:-0}" = 1 ]; then
		tools+=(ceph-mgr)
		pkgs+=(ceph-mgr)
	fi
	for t in "${tools[@]}"; do
		command -v "$t" >/dev/null 2>&1 || missing=1
	done
	[ "$missing" = 0 ] && return 0
	log "installing ceph packages with apt-get"
	[ "$(id -u)" = 0 ] || die "ceph packages are missing and installing them needs root"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
	for t in "${tools[@]}"; do
		command -v "$t" >/dev/null 2>&1 || die "apt-get did not provide $t"
	done
}

# pid_alive PIDFILE CONF: the pid in PIDFILE runs a ceph daemon started with CONF.
pid_alive() {
	local pidfile=$1 conf=$2 pid
	[ -s "$pidfile" ] || return 1
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[ -r "/proc/$pid/cmdline" ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$conf"
}

cluster_running() {
	local dir=$1 f any=0
	for f in "$dir"/run/*.pid; do
		[ -e "$f" ] || continue
		pid_alive "$f" "$dir/ceph.conf" || return 1
		any=1
	done
	[ "$any" = 1 ]
}

ceph_cli() { ceph -c "$DIR/ceph.conf" --connect-timeout 10 "$@"; }

tail_logs() {
	local f
	for f in "$DIR"/log/*.log "$DIR"/log/*.out; do
		[ -s "$f" ] || continue
		echo "---- tail $f" >&2
		tail -n 25 "$f" >&2
	done
}

fail_up() {
	log "$*"
	tail_logs
	cmd_down >/dev/null 2>&1 || true
	exit 1
}

# wait_pidfile FILE SECS: daemons write their pid file only after they fork.
wait_pidfile() {
	local f=$1 n=$(($2 * 10))
	while [ $n -gt 0 ]; do
		[ -s "$f" ] && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

cmd_down() {
	[ -d "$DIR" ] || return 0
	local conf="$DIR/ceph.conf" f pid pids=()
	for f in "$DIR"/run/*.pid; do
		[ -e "$f" ] || continue
		if pid_alive "$f" "$conf"; then
			pid=$(cat "$f")
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	local n=100
	while [ $n -gt 0 ] && [ ${#pids[@]} -gt 0 ]; do
		local left=()
		for pid in "${pids[@]}"; do
			if [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
				left+=("$pid")
			fi
		done
		pids=("${left[@]+"${left[@]}"}")
		[ ${#pids[@]} -eq 0 ] && break
		sleep 0.1
		n=$((n - 1))
	done
	for pid in "${pids[@]+"${pids[@]}"}"; do
		log "pid $pid ignored SIGTERM for 10s; killing"
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -f "$DIR"/run/*.pid
	log "down: $DIR"
}

cmd_status() {
	[ -f "$DIR/ceph.conf" ] || die "no cluster in $DIR"
	local f rc=0 name
	if ! ls "$DIR"/run/*.pid >/dev/null 2>&1; then
		echo "no daemon running in $DIR"
		return 1
	fi
	for f in "$DIR"/run/*.pid; do
		[ -e "$f" ] || continue
		name=$(basename "$f" .pid)
		if pid_alive "$f" "$DIR/ceph.conf"; then
			echo "$name: running (pid $(cat "$f"))"
		else
			echo "$name: stopped"
			rc=1
		fi
	done
	cluster_running "$DIR" || rc=1
	if [ $rc = 0 ]; then
		ceph_cli -s || rc=1
	fi
	return $rc
}

write_conf() {
	local dir=$1
	cat >"$dir/ceph.conf" <<EOF
# Written by scripts/ceph-cluster.sh: a loopback-only test cluster.
[global]
fsid = $FSID
mon host = $MON_ADDRS
public addr = 127.0.0.1$MSGR1_CONF
cluster addr = 127.0.0.1
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = $AUTH
auth service required = $AUTH
auth client required = $AUTH
auth supported = $AUTH
ms cluster mode = $MODE
ms service mode = $MODE
ms client mode = $MODE
ms mon cluster mode = $MODE
ms mon service mode = $MODE
ms mon client mode = $MODE
keyring = $dir/keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$name.pid
mon cluster log file = $dir/log/\$cluster.log
crash dir = $dir/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = memstore
memstore device bytes = $((MEMSTORE_MB * 1024 * 1024))
osd data = $dir/osd/\$cluster-\$id
mon data = $dir/mon/\$cluster-\$id
EOF
	if [ -n "$TICKET_TTL" ]; then
		cat >>"$dir/ceph.conf" <<EOF
auth mon ticket ttl = $TICKET_TTL
auth service ticket ttl = $TICKET_TTL
EOF
	fi
	cat >>"$dir/ceph.conf" <<EOF

[mon]
mon initial members = a
keyring = \$mon_data/keyring

[mgr]
mgr data = $dir/mgr
keyring = $dir/mgr/keyring
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX

[osd]
keyring = \$osd_data/keyring
ms bind port min = $OSD_PORT_MIN
ms bind port max = $OSD_PORT_MAX
osd heartbeat grace = 8
osd heartbeat interval = 2
# Fault tests mark OSDs down on purpose; Ceph's default (5 in 10 min)
# would make an OSD shut itself down after a few test runs.
osd max markdown count = 1000
osd max object name len = 460
osd max object namespace len = 64
# MemStore's own byte count can go negative on an idle OSD (seen in CI:
# osd.1 of a fresh 3-OSD cluster, ~160 s after boot, stat_bytes_used
# 2^64-40041 with no client I/O), and the OSD then reports "failsafe
# full ... -2147483648% full" and drops every write. Fullness taken from
# the PGs' byte counts instead (logged at level 0 once a second) still
# stops a cluster the tests overfill.
fake statfs for testing = $((MEMSTORE_MB * 1024 * 1024))
EOF
}

# osd_create ID: register osd.ID with the mon, mkfs its memstore and start it.
osd_create() {
	local id=$1 uuid key data
	uuid=$(uuidgen)
	data="$DIR/osd/ceph-$id"
	mkdir -p "$data"
	key=$(ceph-authtool --gen-print-key)
	printf '{"cephx_secret": "%s"}\n' "$key" >"$data/new.json"
	ceph-authtool --create-keyring "$data/keyring" --name "osd.$id" --add-key "$key" >/dev/null
	local got
	got=$(ceph_cli osd new "$uuid" "$id" -i "$data/new.json" 2>"$DIR/log/osd.$id.new.out") ||
		{ echo "ceph osd new failed" >>"$DIR/log/osd.$id.new.out"; return 1; }
	[ "$got" = "$id" ] || { echo "ceph osd new returned '$got', want $id" >>"$DIR/log/osd.$id.new.out"; return 1; }
	ceph-osd -c "$DIR/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" >"$DIR/log/osd.$id.mkfs.out" 2>&1 || return 1
	ceph-osd -c "$DIR/ceph.conf" -i "$id" >"$DIR/log/osd.$id.out" 2>&1 || return 1
	wait_pidfile "$DIR/run/osd.$id.pid" 20
}

cmd_up() {
	ensure_packages
	if [ -f "$DIR/ceph.conf" ] && cluster_running "$DIR"; then
		log "already up: $DIR/ceph.conf"
		echo "$DIR/ceph.conf"
		return 0
	fi
	if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ]; then
		[ -f "$DIR/.ceph-cluster" ] || die "$DIR is not empty and was not made by this script; refusing to wipe it"
		cmd_down >/dev/null 2>&1
		rm -rf "${DIR:?}"/{mon,osd,mgr,run,log,crash,ceph.conf,keyring,mon.keyring,monmap}
	fi
	mkdir -p "$DIR"/{mon,osd,mgr,run,log,crash}
	touch "$DIR/.ceph-cluster"
	local t0=$SECONDS

	FSID=$(uuidgen)
	write_conf "$DIR"
	ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
	ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
		--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
	ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/keyring" >/dev/null
	monmaptool --create --fsid "$FSID" --addv a "$MON_ADDRS" \
		"$DIR/monmap" >/dev/null
	ceph-mon -c "$DIR/ceph.conf" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring" \
		>"$DIR/log/mon.a.mkfs.out" 2>&1 || fail_up "ceph-mon --mkfs failed"
	ceph-mon -c "$DIR/ceph.conf" -i a >"$DIR/log/mon.a.out" 2>&1 || fail_up "ceph-mon did not start"
	wait_pidfile "$DIR/run/mon.a.pid" 20 || fail_up "ceph-mon wrote no pid file"

	if [ "$MGR" = 1 ]; then
		ceph_cli auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
			-o "$DIR/mgr/keyring" 2>"$DIR/log/mgr.x.auth.out" || fail_up "mgr key creation failed"
		ceph-mgr -c "$DIR/ceph.conf" -i x >"$DIR/log/mgr.x.out" 2>&1 || fail_up "ceph-mgr did not start"
		wait_pidfile "$DIR/run/mgr.x.pid" 20 || fail_up "ceph-mgr wrote no pid file"
	fi

	local i pids=() failed=0
	for ((i = 0; i < OSDS; i++)); do
		osd_create "$i" &
		pids+=($!)
	done
	for i in "${pids[@]+"${pids[@]}"}"; do
		wait "$i" || failed=1
	done
	[ $failed = 0 ] || fail_up "creating the OSDs failed"

	# Bounded wait: every OSD up (the mon answering is part of it).
	local deadline=$((SECONDS + TIMEOUT)) out up=-1
	while :; do
		if out=$(ceph_cli osd stat -f json 2>/dev/null); then
			up=$(printf '%s' "$out" | sed -n 's/.*"num_up_osds":\([0-9]*\).*/\1/p')
			[ "${up:-0}" -ge "$OSDS" ] && break
		fi
		[ $SECONDS -lt $deadline ] || fail_up "timed out after ${TIMEOUT}s: ${up} of $OSDS OSDs up"
		cluster_running "$DIR" || fail_up "a daemon exited during start-up"
		sleep 0.5
	done

	while [ "$MGR" = 1 ]; do
		out=$(ceph_cli mgr stat -f json 2>/dev/null) || out=
		case "$out" in *'"available":true'* | *'"available": true'*) break ;; esac
		[ $SECONDS -lt $deadline ] || fail_up "timed out after ${TIMEOUT}s: the mgr is not available"
		cluster_running "$DIR" || fail_up "a daemon exited during start-up"
		sleep 0.5
	done

	local pool
	: >"$DIR/probe.empty" # not /dev/null: on some machines it is a regular file others write to
	for pool in "${POOLS[@]+"${POOLS[@]}"}"; do
		ceph_cli osd pool create "$pool" 8 8 >/dev/null 2>&1 || fail_up "pool create $pool failed"
		ceph_cli osd pool application enable "$pool" rados >/dev/null 2>&1 || true
		timeout "$TIMEOUT" rados -c "$DIR/ceph.conf" -p "$pool" put .ceph-cluster-probe "$DIR/probe.empty" ||
			fail_up "pool $pool did not take a write within ${TIMEOUT}s"
		rados -c "$DIR/ceph.conf" -p "$pool" rm .ceph-cluster-probe || true
	done
	log "up in $((SECONDS - t0))s: $DIR/ceph.conf (auth $AUTH, mode $MODE, $OSDS osd, mgr $MGR, mon v2 $PORT_V2 v1 $PORT_V1)"
	echo "$DIR/ceph.conf"
}

if [ "${1:-}" = install ]; then
	[ "${2:-}" = --mgr ] && MGR=1
	ensure_packages
	exit 0
fi
[ $# -ge 2 ] || usage
CMD=$1
DIR=$2
shift 2
case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
DIR=${DIR%/}

AUTH=none MODE=crc OSDS=1 MEMSTORE_MB=1024 TICKET_TTL="" TIMEOUT=90 MGR=0 MSGR1=0
PORT_V2="" PORT_V1="" PORT_BASE="" OSD_PORTS=""
POOLS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--auth) AUTH=${2:?}; shift 2 ;;
	--mode) MODE=${2:?}; shift 2 ;;
	--osds) OSDS=${2:?}; shift 2 ;;
	--memstore-mb) MEMSTORE_MB=${2:?}; shift 2 ;;
	--port-base) PORT_BASE=${2:?}; shift 2 ;;
	--mon-port-v2) PORT_V2=${2:?}; shift 2 ;;
	--mon-port-v1) PORT_V1=${2:?}; shift 2 ;;
	--osd-ports) OSD_PORTS=${2:?}; shift 2 ;;
	--ticket-ttl) TICKET_TTL=${2:?}; shift 2 ;;
	--pool) POOLS+=("${2:?}"); shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--mgr) MGR=1; shift ;;
	--msgr1-only) MSGR1=1; shift ;;
	-h | --help) usage ;;
	*) die "unknown option $1" ;;
	esac
done

isnum() { [[ "$1" =~ ^[0-9]+$ ]]; }
case "$AUTH" in none | cephx) ;; *) die "--auth must be none or cephx" ;; esac
case "$MODE" in crc | secure) ;; *) die "--mode must be crc or secure" ;; esac
[ "$MODE" = secure ] && [ "$AUTH" = none ] && die "--mode secure needs --auth cephx (auth none has no session key)"
isnum "$OSDS" || die "--osds must be a number"
isnum "$MEMSTORE_MB" && [ "$MEMSTORE_MB" -gt 0 ] || die "--memstore-mb must be a positive number"
isnum "$TIMEOUT" || die "--timeout must be a number"
[ -z "$TICKET_TTL" ] || isnum "$TICKET_TTL" || die "--ticket-ttl must be a number of seconds"
span=$((OSDS * 10 > 100 ? OSDS * 10 : 100))
if [ -n "$PORT_BASE" ]; then
	isnum "$PORT_BASE" || die "--port-base must be a number"
	[ -n "$PORT_V2$PORT_V1" ] && die "--port-base excludes --mon-port-v2/--mon-port-v1"
	PORT_V2=$PORT_BASE PORT_V1=$((PORT_BASE + 1))
	OSD_PORT_MIN=$((PORT_BASE + 10)) OSD_PORT_MAX=$((PORT_BASE + 10 + span))
else
	PORT_V2=${PORT_V2:-3300} PORT_V1=${PORT_V1:-6789}
	OSD_PORT_MIN=6800 OSD_PORT_MAX=7300
fi
if [ -n "$OSD_PORTS" ]; then
	[[ "$OSD_PORTS" =~ ^([0-9]+)-([0-9]+)$ ]] || die "--osd-ports must be MIN-MAX"
	OSD_PORT_MIN=${BASH_REMATCH[1]} OSD_PORT_MAX=${BASH_REMATCH[2]}
fi
isnum "$PORT_V2" && isnum "$PORT_V1" || die "mon ports must be numbers"
MON_ADDRS="[v2:127.0.0.1:$PORT_V2,v1:127.0.0.1:$PORT_V1]" MSGR1_CONF=""
if [ "$MSGR1" = 1 ]; then
	MON_ADDRS="[v1:127.0.0.1:$PORT_V1]"
	MSGR1_CONF=$'\nms bind msgr2 = false\nms bind msgr1 = true'
fi

case "$CMD" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) usage ;;
esac

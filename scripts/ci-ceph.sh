#!/usr/bin/env bash
# ci-ceph.sh: sourced by .ci/run (set -euo pipefail, cwd = repository root). Installs Ceph,
# starts the test clusters side by side under one temp dir, exports where they are, and stops
# them all on exit (EXIT trap).
#
# Exported (each is the path of a ceph.conf; its client.admin keyring is DIR/keyring, named by
# `keyring =` in [global]; fsid, mon host, auth and ms modes are all in the conf):
#   MSGR_TEST_CEPH_NONE    auth none, crc, 1 OSD, mon on the default ports v2 3300 / v1 6789
#   MSGR_TEST_CEPH_CEPHX   cephx, crc, 1 OSD, mon v2 20200 / v1 20201
#   MSGR_TEST_CEPH_SECURE  cephx, secure (all ms_*_mode = secure), 1 OSD, mon v2 20400 / v1 20401
#   MSGR_TEST_CEPH_RADOS   cephx, crc, 3 OSDs with 3 GiB memstore each, mon v2 20600 / v1 20601,
#                          pool `msgr` (size 1, 8 PGs) ready; tests make their other pools
#   MSGR_TEST_CEPH_MGR     cephx, crc, 1 OSD and a ceph-mgr (pool statistics, mgr commands),
#                          mon v2 21000 / v1 21001, pool `msgr`
#   MSGR_TEST_CEPH_TTL     cephx, crc, mon only (no OSD), auth_mon_ticket_ttl and
#                          auth_service_ticket_ttl = 10 s: for ticket-renewal tests, kept apart so
#                          short tickets never disturb the other clusters' tests
#   MSGR_TEST_CEPH_FAULT   cephx, crc, 3 OSDs, mon v2 21500 / v1 21501: the fault tests' own cluster
#                          (they SIGKILL, SIGSTOP and restart its daemons; no other test uses it)
#   MSGR_TEST_CEPH_MSGR1   cephx, crc, 1 OSD, ms_bind_msgr2 = false: every daemon speaks msgr1
#                          only, the mon at v1:127.0.0.1:21801 alone
#   MSGR_TEST_CEPH_DIR     the parent dir (daemon logs in */log/); removed on exit unless the
#                          shell exits non-zero (a failed start or failed tests) or MSGR_TEST_CEPH_KEEP=1
# Tests read these and skip when unset, but fail when CI=true.
# By hand: `source scripts/ci-ceph.sh` in a bash shell gives the same clusters, stopped when that
# shell exits; or use scripts/ceph-cluster.sh directly.

_msgr_ceph_script="$(pwd)/scripts/ceph-cluster.sh"
MSGR_TEST_CEPH_DIR=$(mktemp -d /tmp/msgr-ceph.XXXXXX)
export MSGR_TEST_CEPH_DIR

_msgr_ceph_down() {
	local rc=$? d
	for d in "$MSGR_TEST_CEPH_DIR"/*/; do
		[ -f "$d/ceph.conf" ] && { "$_msgr_ceph_script" down "$d" >/dev/null 2>&1 & }
	done
	wait || true
	# Logs are worth keeping only when something failed, or when asked to.
	if [ "${MSGR_TEST_CEPH_KEEP:-}" != 1 ] && [ "${_msgr_ceph_ok:-0}" = 1 ] && [ "$rc" = 0 ]; then
		rm -rf "$MSGR_TEST_CEPH_DIR"
	else
		echo "ci-ceph: daemon logs kept in $MSGR_TEST_CEPH_DIR/*/log" >&2
	fi
}
trap _msgr_ceph_down EXIT

"$_msgr_ceph_script" install --mgr

_msgr_ceph_start() {
	local start=$SECONDS
	local -A args=(
		[none]="--auth none --mode crc --osds 1 --mon-port-v2 3300 --mon-port-v1 6789 --osd-ports 6800-6899"
		[cephx]="--auth cephx --mode crc --osds 1 --port-base 20200"
		[secure]="--auth cephx --mode secure --osds 1 --port-base 20400"
		[rados]="--auth cephx --mode crc --osds 3 --memstore-mb 3072 --port-base 20600 --pool msgr"
		[ttl]="--auth cephx --mode crc --osds 0 --port-base 20800 --ticket-ttl 10"
		[mgr]="--auth cephx --mode crc --osds 1 --port-base 21000 --mgr --pool msgr"
		[fault]="--auth cephx --mode crc --osds 3 --port-base 21500"
		[msgr1]="--auth cephx --mode crc --osds 1 --port-base 21800 --msgr1-only"
	)
	local -A pids=()
	local name failed=0
	for name in "${!args[@]}"; do
		# shellcheck disable=SC2086
		"$_msgr_ceph_script" up "$MSGR_TEST_CEPH_DIR/$name" ${args[$name]} --timeout 120 \
			>"$MSGR_TEST_CEPH_DIR/$name.up.log" 2>&1 &
		pids[$name]=$!
	done
	for name in "${!pids[@]}"; do
		if ! wait "${pids[$name]}"; then
			echo "ci-ceph: cluster $name failed to start:" >&2
			cat "$MSGR_TEST_CEPH_DIR/$name.up.log" >&2
			failed=1
		fi
	done
	[ $failed = 0 ] || return 1
	echo "ci-ceph: ${#args[@]} clusters up in $((SECONDS - start))s under $MSGR_TEST_CEPH_DIR"
}
_msgr_ceph_ok=0
_msgr_ceph_start
_msgr_ceph_ok=1

export MSGR_TEST_CEPH_NONE="$MSGR_TEST_CEPH_DIR/none/ceph.conf"
export MSGR_TEST_CEPH_CEPHX="$MSGR_TEST_CEPH_DIR/cephx/ceph.conf"
export MSGR_TEST_CEPH_SECURE="$MSGR_TEST_CEPH_DIR/secure/ceph.conf"
export MSGR_TEST_CEPH_RADOS="$MSGR_TEST_CEPH_DIR/rados/ceph.conf"
export MSGR_TEST_CEPH_TTL="$MSGR_TEST_CEPH_DIR/ttl/ceph.conf"
export MSGR_TEST_CEPH_MGR="$MSGR_TEST_CEPH_DIR/mgr/ceph.conf"
export MSGR_TEST_CEPH_FAULT="$MSGR_TEST_CEPH_DIR/fault/ceph.conf"
export MSGR_TEST_CEPH_MSGR1="$MSGR_TEST_CEPH_DIR/msgr1/ceph.conf"

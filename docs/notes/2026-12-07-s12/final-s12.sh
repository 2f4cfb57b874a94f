#!/usr/bin/env bash
# Final side by sides of session 12: OLD=/tmp/msgr-base (7095d01, session start), NEW=$1 (final main build).
set -u
NEW=$1 OLD=/tmp/msgr-base D=/work/notes/s12/final AB=/work/notes/s12/ab-bench.sh
mkdir -p $D
cd /work/main
echo "start $(date +%T) $(cat /proc/loadavg)"
$AB $OLD $NEW $D/hook-bench.txt 'hook=--size 4K,4M --conns 1,16 --reps 3 --idle 0'
echo "hook done $(date +%T)"
$AB $OLD $NEW $D/default-bench.txt 'default=--reps 1 --duration 2s'
echo "default done $(date +%T)"
$AB $OLD $NEW $D/big-bench.txt \
  'depth 1=--stack eventloop --size 64K,4M --conns 1,4 --depth 1 --mode crc,secure --reps 1 --duration 2s --idle 0' \
  'depth 4=--stack eventloop --size 64K,4M --conns 1,4 --depth 4 --mode crc,secure --reps 1 --duration 2s --idle 0'
echo "big done $(date +%T)"
# rados: fresh 1-OSD auth none cluster
scripts/ceph-cluster.sh up /tmp/rbc12 --port-base 23800 --memstore-mb 6144 --pool msgr > $D/rbc-up.log 2>&1
scripts/rados-bench-compare.sh -c /tmp/rbc12/ceph.conf -p msgr -s 5 -m 5 -r 3 -w 3 -x $NEW > $D/rbc-final.txt 2>&1
scripts/ceph-cluster.sh down /tmp/rbc12 >> $D/rbc-up.log 2>&1
echo "rbc done $(date +%T)"
# rados: fresh 1-OSD cephx + secure cluster, 4 KiB cases
scripts/ceph-cluster.sh up /tmp/rbc12s --auth cephx --mode secure --port-base 24000 --memstore-mb 2048 --pool msgr > $D/rbc-secure-up.log 2>&1
scripts/rados-bench-compare.sh -c /tmp/rbc12s/ceph.conf -p msgr -s 5 -r 3 -w 3 -o 4k -x $NEW > $D/rbc-secure.txt 2>&1
scripts/ceph-cluster.sh down /tmp/rbc12s >> $D/rbc-secure-up.log 2>&1
echo "rbc secure done $(date +%T)"
# 8000 connections, each stack in its own process
: > $D/c8000.txt
for s in eventloop gonet; do for b in $OLD $NEW; do
  echo "### $s $b $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $D/c8000.txt
  $b bench --stack $s --size 4K --conns 8000 --reps 1 --duration 3s --raw=false --idle 0 >> $D/c8000.txt 2>&1
done; done
echo "c8000 done $(date +%T)"
# 60 s of 4 MiB at depth 16 (issue 13: RSS bounded by the throttles), new only
echo "### rss60 $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" > $D/rss60.txt
$NEW bench --stack eventloop --raw=false --size 4M --conns 1 --depth 16 --reps 1 --duration 60s --idle 0 >> $D/rss60.txt 2>&1
echo "all done $(date +%T)"

package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// cephVersion is what "ceph version" answers: this mon speaks as Pacific.
const cephVersion = "ceph version 16.2.15 (msgr mini cluster) pacific (stable)"

// cmdArgs are a command's JSON arguments.
type cmdArgs map[string]any

func (a cmdArgs) str(k string) string {
	switch v := a[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (a cmdArgs) int(k string) (int64, bool) {
	switch v := a[k].(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (a cmdArgs) bool(k string) bool {
	switch v := a[k].(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "--"+strings.ReplaceAll(k, "_", "-")
	}
	return false
}

// cmdResult is a command's answer: rc (0 or -errno), rs (the status line
// the CLI prints on stderr) and the output.
type cmdResult struct {
	rc  int32
	rs  string
	out []byte
}

func cmdErr(errno int32, format string, args ...any) cmdResult {
	return cmdResult{rc: -errno, rs: fmt.Sprintf(format, args...)}
}

// errnos the commands return.
const (
	eNOENT  = 2
	ePERM   = 1
	eEXIST  = 17
	eINVAL  = 22
	eACCES  = 13
	eNOTSUP = 95
	eNXIO   = 6
)

func (mon *Mon) handleCommand(c *msgr.Conn, m *messages.MMonCommand) {
	res := mon.runCommand(c, m.Cmd)
	mon.log.Debug("command", "peer", c.PeerName(), "cmd", m.Cmd, "rc", res.rc, "rs", res.rs)
	mon.send(c, &messages.MMonCommandAck{Paxos: m.Paxos, Tid: m.Tid, Result: res.rc, Status: res.rs, Cmd: m.Cmd, Data: res.out})
}

func (mon *Mon) runCommand(c *msgr.Conn, cmd []string) cmdResult {
	if len(cmd) == 0 {
		return cmdErr(eINVAL, "no command")
	}
	args := cmdArgs{}
	d := json.NewDecoder(strings.NewReader(strings.Join(cmd, "")))
	d.UseNumber()
	if err := d.Decode(&args); err != nil {
		return cmdErr(eINVAL, "failed to parse command: %v", err)
	}
	prefix := args.str("prefix")
	if !mon.allowed(c, prefix) {
		return cmdErr(eACCES, "access denied")
	}
	format := args.str("format")
	js := strings.HasPrefix(format, "json")
	mon.mu.Lock()
	defer mon.mu.Unlock()
	switch prefix {
	case "get_command_descriptions":
		return cmdResult{out: descriptions}
	case "fsid":
		if js {
			return jsonOut(map[string]string{"fsid": mon.fsid.String()})
		}
		return cmdResult{out: []byte(mon.fsid.String() + "\n")}
	case "version":
		if js {
			return jsonOut(map[string]string{"version": cephVersion})
		}
		return cmdResult{out: []byte(cephVersion + "\n")}
	case "health":
		if js {
			return jsonOut(mon.healthLocked())
		}
		return cmdResult{out: []byte("HEALTH_WARN no active mgr\n")}
	case "status":
		return mon.statusLocked(js)
	case "df":
		return mon.dfLocked(js)
	case "mon dump":
		return mon.monDumpLocked(js)
	case "mon stat":
		return cmdResult{out: []byte(fmt.Sprintf("e%d: 1 mons at {a=%s}, election epoch 1, leader 0 a, quorum 0 a\n", mon.monmap.Epoch, mon.monmap.Mons[0].PublicAddrs))}
	case "osd stat":
		return mon.osdStatLocked(js)
	case "osd dump":
		return mon.osdDumpLocked(args, js)
	case "osd getmap":
		return mon.osdGetMapLocked(args)
	case "osd ls":
		var ids []int32
		var b strings.Builder
		for o := int32(0); o < mon.osdmap.MaxOSD; o++ {
			if mon.osdmap.Exists(o) {
				ids = append(ids, o)
				fmt.Fprintf(&b, "%d\n", o)
			}
		}
		if js {
			return jsonOut(ids)
		}
		return cmdResult{out: []byte(b.String())}
	case "osd tree":
		return mon.osdTreeLocked(args, js)
	case "osd map":
		return mon.osdMapObjectLocked(args, js)
	case "osd lspools":
		return mon.lsPoolsLocked(true, js)
	case "osd pool ls":
		if args.str("detail") != "" {
			return mon.osdDumpPoolsLocked(js)
		}
		return mon.lsPoolsLocked(false, js)
	case "osd pool create":
		return mon.poolCreateLocked(args)
	case "osd pool rm", "osd pool delete":
		return mon.poolRmLocked(args)
	case "osd pool get":
		return mon.poolGetLocked(args, js)
	case "osd pool set":
		return mon.poolSetLocked(args)
	case "osd pool application enable":
		return mon.poolAppEnableLocked(args)
	}
	return cmdErr(eINVAL, "command not known to this mon: %q", prefix)
}

// allowed checks the caps of cephx principals: reads need "allow r" or
// more, anything else "allow *" or rw (a simplified MonCap). A nil c is
// the process itself.
func (mon *Mon) allowed(c *msgr.Conn, prefix string) bool {
	if c == nil {
		return true
	}
	h, ok := c.AuthServerHandler().(*authHandler)
	if !ok || mon.authp.cx == nil {
		return true
	}
	if _, ok := h.cur.(*auth.NoneServer); ok {
		return true
	}
	name := c.AuthInfo().Entity
	e, ok := mon.authp.keyring.Entry(name)
	if !ok {
		return false
	}
	caps := e.Caps["mon"]
	if strings.Contains(caps, "allow *") || strings.Contains(caps, "rw") {
		return true
	}
	readOnly := prefix == "get_command_descriptions" || prefix == "status" || prefix == "fsid" ||
		prefix == "health" || prefix == "version" || strings.HasSuffix(prefix, "dump") ||
		strings.HasSuffix(prefix, " ls") || strings.HasSuffix(prefix, " get") || strings.HasSuffix(prefix, " stat")
	return readOnly && strings.Contains(caps, "allow r")
}

func jsonOut(v any) cmdResult {
	b, err := json.Marshal(v)
	if err != nil {
		return cmdErr(eINVAL, "%v", err)
	}
	return cmdResult{out: b}
}

// stamp formats a utime as Ceph's dumps do.
func stamp(u encoding.UTime) string {
	return u.Time().UTC().Format("2006-01-02T15:04:05.000000-0700")
}

func (mon *Mon) healthLocked() map[string]any {
	return map[string]any{"status": "HEALTH_WARN", "checks": map[string]any{
		"MGR_DOWN": map[string]any{"severity": "HEALTH_WARN", "summary": map[string]any{"message": "no active mgr", "count": 1}, "muted": false},
	}, "mutes": []any{}}
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh", int(d.Hours()))
}

func bytesIEC(n uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d %s", n, units[0])
	}
	return fmt.Sprintf("%.0f %s", f, units[i])
}

func (mon *Mon) totals() (objects, bytes uint64) {
	if mon.stats == nil {
		return 0, 0
	}
	for _, s := range mon.stats() {
		objects += s.objects
		bytes += s.bytes
	}
	return objects, bytes
}

func (mon *Mon) statusLocked(js bool) cmdResult {
	m := mon.osdmap
	nosd, up, in := 0, 0, 0
	for o := int32(0); o < m.MaxOSD; o++ {
		if m.Exists(o) {
			nosd++
		}
		if m.IsUp(o) {
			up++
		}
		if m.IsIn(o) {
			in++
		}
	}
	pgs := 0
	for _, p := range m.Pools {
		pgs += int(p.PGNum)
	}
	objects, used := mon.totals()
	since := age(time.Since(mon.started))
	if js {
		return jsonOut(map[string]any{
			"fsid": mon.fsid.String(), "health": mon.healthLocked(), "election_epoch": 3,
			"quorum": []int{0}, "quorum_names": []string{"a"}, "quorum_age": int(time.Since(mon.started).Seconds()),
			"monmap": map[string]any{"epoch": mon.monmap.Epoch, "min_mon_release_name": "pacific", "num_mons": 1},
			"osdmap": map[string]any{"epoch": m.Epoch, "num_osds": nosd, "num_up_osds": up, "osd_up_since": m.LastUpChange.Sec,
				"num_in_osds": in, "osd_in_since": m.LastInChange.Sec, "num_remapped_pgs": 0},
			"pgmap": map[string]any{"pgs_by_state": []any{map[string]any{"state_name": "active+clean", "count": pgs}}, "num_pgs": pgs,
				"num_pools": len(m.Pools), "num_objects": objects, "data_bytes": used, "bytes_used": used, "bytes_avail": 0, "bytes_total": 0},
			"fsmap":      map[string]any{"epoch": 1, "by_rank": []any{}, "up:standby": 0},
			"mgrmap":     map[string]any{"available": false, "num_standbys": 0, "modules": []string{}, "services": map[string]any{}},
			"servicemap": map[string]any{"epoch": 1, "modified": stamp(m.Created), "services": map[string]any{}},
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  cluster:\n    id:     %s\n    health: HEALTH_WARN\n            no active mgr\n \n", mon.fsid)
	fmt.Fprintf(&b, "  services:\n    mon: 1 daemons, quorum a (age %s)\n    mgr: no daemons active\n", since)
	fmt.Fprintf(&b, "    osd: %d osds: %d up (since %s), %d in (since %s)\n \n", nosd, up, since, in, since)
	fmt.Fprintf(&b, "  data:\n    pools:   %d pools, %d pgs\n    objects: %d objects, %s\n", len(m.Pools), pgs, objects, bytesIEC(used))
	fmt.Fprintf(&b, "    usage:   %s used, 0 B / 0 B avail\n    pgs:     ", bytesIEC(used))
	if pgs > 0 {
		fmt.Fprintf(&b, "%d active+clean", pgs)
	}
	b.WriteString("\n \n")
	return cmdResult{out: []byte(b.String())}
}

func (mon *Mon) dfLocked(js bool) cmdResult {
	var st map[int64]poolStats
	if mon.stats != nil {
		st = mon.stats()
	}
	ids := mon.poolIDsLocked()
	_, used := mon.totals()
	if js {
		var pools []any
		for _, id := range ids {
			p := mon.osdmap.Pools[id]
			s := st[id]
			pools = append(pools, map[string]any{"name": p.Name, "id": id, "stats": map[string]any{
				"stored": s.bytes, "objects": s.objects, "kb_used": (s.bytes + 1023) / 1024, "bytes_used": s.bytes, "percent_used": 0, "max_avail": 0}})
		}
		return jsonOut(map[string]any{"stats": map[string]any{"total_bytes": 0, "total_avail_bytes": 0, "total_used_bytes": used,
			"total_used_raw_bytes": used, "total_used_raw_ratio": 0, "num_osds": mon.osdmap.MaxOSD, "num_per_pool_osds": mon.osdmap.MaxOSD,
			"num_per_pool_omap_osds": mon.osdmap.MaxOSD}, "stats_by_class": map[string]any{}, "pools": pools})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- RAW STORAGE ---\nCLASS  SIZE  AVAIL  USED  RAW USED  %%RAW USED\nTOTAL   0 B    0 B  %s  %s  0\n \n", bytesIEC(used), bytesIEC(used))
	b.WriteString("--- POOLS ---\nPOOL  ID  PGS  STORED  OBJECTS  USED  %USED  MAX AVAIL\n")
	for _, id := range ids {
		p := mon.osdmap.Pools[id]
		s := st[id]
		fmt.Fprintf(&b, "%s  %d  %d  %s  %d  %s  0  0 B\n", p.Name, id, p.PGNum, bytesIEC(s.bytes), s.objects, bytesIEC(s.bytes))
	}
	return cmdResult{out: []byte(b.String())}
}

func (mon *Mon) monDumpLocked(js bool) cmdResult {
	mm := mon.monmap
	rs := fmt.Sprintf("dumped monmap epoch %d", mm.Epoch)
	if js {
		var mons []any
		for i, mi := range mm.Mons {
			var addrs []any
			for _, a := range mi.PublicAddrs {
				addrs = append(addrs, map[string]any{"type": addrTypeName(a), "addr": a.Addr.String(), "nonce": a.Nonce})
			}
			mons = append(mons, map[string]any{"rank": i, "name": mi.Name, "public_addrs": map[string]any{"addrvec": addrs},
				"addr": mi.PublicAddrs.String(), "public_addr": mi.PublicAddrs.String(), "priority": mi.Priority, "weight": mi.Weight, "crush_location": "{}"})
		}
		res := jsonOut(map[string]any{"epoch": mm.Epoch, "fsid": mm.FSID.String(), "modified": stamp(mm.LastChanged), "created": stamp(mm.Created),
			"min_mon_release": mm.MinMonRelease, "min_mon_release_name": "pacific", "election_strategy": mm.Strategy,
			"disallowed_leaders: ": "", "stretch_mode": false, "tiebreaker_mon": "",
			"features": map[string]any{"persistent": monFeatureNames, "optional": []string{}}, "mons": mons, "quorum": []int{0}})
		res.rs = rs
		return res
	}
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d\nfsid %s\nlast_changed %s\ncreated %s\nmin_mon_release %d (pacific)\nelection_strategy: %d\n",
		mm.Epoch, mm.FSID, stamp(mm.LastChanged), stamp(mm.Created), mm.MinMonRelease, mm.Strategy)
	for i, mi := range mm.Mons {
		fmt.Fprintf(&b, "%d: %s mon.%s\n", i, mi.PublicAddrs, mi.Name)
	}
	return cmdResult{rs: rs, out: []byte(b.String())}
}

var monFeatureNames = []string{"kraken", "luminous", "mimic", "osdmap-prune", "nautilus", "octopus", "pacific", "elector-pinging"}

func addrTypeName(a encoding.EntityAddr) string {
	switch a.Type {
	case encoding.AddrTypeMsgr2:
		return "v2"
	case encoding.AddrTypeLegacy:
		return "v1"
	}
	return "any"
}

func (mon *Mon) osdStatLocked(js bool) cmdResult {
	m := mon.osdmap
	n, up, in := 0, 0, 0
	for o := int32(0); o < m.MaxOSD; o++ {
		if m.Exists(o) {
			n++
		}
		if m.IsUp(o) {
			up++
		}
		if m.IsIn(o) {
			in++
		}
	}
	if js {
		return jsonOut(map[string]any{"epoch": m.Epoch, "num_osds": n, "num_up_osds": up, "osd_up_since": m.LastUpChange.Sec,
			"num_in_osds": in, "osd_in_since": m.LastInChange.Sec, "num_remapped_pgs": 0})
	}
	since := age(time.Since(mon.started))
	return cmdResult{out: []byte(fmt.Sprintf("%d osds: %d up (since %s), %d in (since %s); epoch: e%d\n", n, up, since, in, since, m.Epoch))}
}

func (mon *Mon) mapAtLocked(args cmdArgs) (*osdmap.OSDMap, []byte, cmdResult, bool) {
	e, ok := args.int("epoch")
	if !ok || e == 0 {
		return mon.osdmap, mon.full[mon.osdmap.Epoch], cmdResult{}, true
	}
	bl, ok := mon.full[uint32(e)]
	if !ok {
		return nil, nil, cmdErr(eNOENT, "there is no map for epoch %d", e), false
	}
	m, err := osdmap.Decode(bl)
	if err != nil {
		return nil, nil, cmdErr(eINVAL, "%v", err), false
	}
	return m, bl, cmdResult{}, true
}

func (mon *Mon) osdGetMapLocked(args cmdArgs) cmdResult {
	m, bl, res, ok := mon.mapAtLocked(args)
	if !ok {
		return res
	}
	return cmdResult{rs: fmt.Sprintf("got osdmap epoch %d", m.Epoch), out: bl}
}

func (mon *Mon) poolIDsLocked() []int64 {
	ids := make([]int64, 0, len(mon.osdmap.Pools))
	for id := range mon.osdmap.Pools {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (mon *Mon) lsPoolsLocked(withIDs, js bool) cmdResult {
	var b strings.Builder
	var names []string
	var list []any
	for _, id := range mon.poolIDsLocked() {
		p := mon.osdmap.Pools[id]
		names = append(names, p.Name)
		list = append(list, map[string]any{"poolnum": id, "poolname": p.Name})
		if withIDs {
			fmt.Fprintf(&b, "%d %s\n", id, p.Name)
		} else {
			fmt.Fprintf(&b, "%s\n", p.Name)
		}
	}
	if js {
		if withIDs {
			if list == nil {
				list = []any{}
			}
			return jsonOut(list)
		}
		if names == nil {
			names = []string{}
		}
		return jsonOut(names)
	}
	return cmdResult{out: []byte(b.String())}
}

// flagNames are the OSDMap flags a fresh cluster has, in Ceph's order.
func flagNames(f uint32) []string {
	var s []string
	for _, x := range []struct {
		bit  uint32
		name string
	}{{0x8000, "sortbitwise"}, {0x100000, "recovery_deletes"}, {0x200000, "purged_snapdirs"}, {0x400000, "pglog_hardlimit"}} {
		if f&x.bit != 0 {
			s = append(s, x.name)
		}
	}
	return s
}

func poolJSON(p *osdmap.Pool) map[string]any {
	app := map[string]any{}
	for k, v := range p.Application {
		app[k] = v
	}
	return map[string]any{"pool": p.ID, "pool_name": p.Name, "create_time": stamp(p.CreateTime), "flags": p.Flags,
		"flags_names": "hashpspool", "type": p.Type, "size": p.Size, "min_size": p.MinSize, "crush_rule": p.CrushRule,
		"object_hash": p.ObjectHash, "pg_autoscale_mode": autoscaleName(p.PGAutoscaleMode), "pg_num": p.PGNum, "pg_placement_num": p.PGPNum,
		"pg_placement_num_target": p.PGPNumTarget, "pg_num_target": p.PGNumTarget, "pg_num_pending": p.PGNumPending,
		"last_change": strconv.FormatUint(uint64(p.LastChange), 10), "auid": p.Auid, "snap_mode": "selfmanaged",
		"snap_seq": p.SnapSeq, "snap_epoch": p.SnapEpoch, "pool_snaps": []any{}, "removed_snaps": "[]",
		"quota_max_bytes": p.QuotaMaxBytes, "quota_max_objects": p.QuotaMaxObjects, "tiers": []any{}, "tier_of": p.TierOf,
		"read_tier": p.ReadTier, "write_tier": p.WriteTier, "cache_mode": "none", "stripe_width": p.StripeWidth,
		"erasure_code_profile": p.ErasureCodeProfile, "expected_num_objects": p.ExpectedNumObjects, "fast_read": p.FastRead,
		"options": map[string]any{}, "application_metadata": app}
}

func autoscaleName(m uint8) string {
	switch m {
	case autoscaleOff:
		return "off"
	case autoscaleWarn:
		return "warn"
	case autoscaleOn:
		return "on"
	}
	return "unknown"
}

func poolLine(p *osdmap.Pool) string {
	s := fmt.Sprintf("pool %d '%s' replicated size %d min_size %d crush_rule %d object_hash rjenkins pg_num %d pgp_num %d autoscale_mode %s last_change %d flags hashpspool stripe_width %d",
		p.ID, p.Name, p.Size, p.MinSize, p.CrushRule, p.PGNum, p.PGPNum, autoscaleName(p.PGAutoscaleMode), p.LastChange, p.StripeWidth)
	if len(p.Application) > 0 {
		var apps []string
		for a := range p.Application {
			apps = append(apps, a)
		}
		slices.Sort(apps)
		s += " application " + strings.Join(apps, ",")
	}
	return s + "\n"
}

func (mon *Mon) osdDumpPoolsLocked(js bool) cmdResult {
	var b strings.Builder
	var pools []any
	for _, id := range mon.poolIDsLocked() {
		p := mon.osdmap.Pools[id]
		pools = append(pools, poolJSON(p))
		b.WriteString(poolLine(p) + "\n")
	}
	if js {
		if pools == nil {
			pools = []any{}
		}
		return jsonOut(pools)
	}
	return cmdResult{out: []byte(b.String())}
}

func (mon *Mon) osdDumpLocked(args cmdArgs, js bool) cmdResult {
	m, _, res, ok := mon.mapAtLocked(args)
	if !ok {
		return res
	}
	rs := fmt.Sprintf("dumped osdmap epoch %d", m.Epoch)
	ids := make([]int64, 0, len(m.Pools))
	for id := range m.Pools {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if js {
		pools := []any{}
		for _, id := range ids {
			pools = append(pools, poolJSON(m.Pools[id]))
		}
		osds := []any{}
		for o := int32(0); o < m.MaxOSD; o++ {
			if !m.Exists(o) {
				continue
			}
			up, in := 0, 0
			if m.IsUp(o) {
				up = 1
			}
			if m.IsIn(o) {
				in = 1
			}
			oi := m.OSDInfo[o]
			osds = append(osds, map[string]any{"osd": o, "uuid": m.OSDUUID[o].String(), "up": up, "in": in,
				"weight": float64(m.OSDWeight[o]) / 0x10000, "primary_affinity": 1, "last_clean_begin": oi.LastCleanBegin,
				"last_clean_end": oi.LastCleanEnd, "up_from": oi.UpFrom, "up_thru": oi.UpThru, "down_at": oi.DownAt,
				"lost_at": oi.LostAt, "public_addr": m.OSDAddrs[o].String(), "cluster_addr": m.ClusterAddrs[o].String(),
				"state": []string{"exists", "up"}})
		}
		res := jsonOut(map[string]any{"epoch": m.Epoch, "fsid": m.FSID.String(), "created": stamp(m.Created), "modified": stamp(m.Modified),
			"last_up_change": stamp(m.LastUpChange), "last_in_change": stamp(m.LastInChange),
			"flags": strings.Join(flagNames(m.Flags), ","), "flags_num": m.Flags, "flags_set": flagNames(m.Flags),
			"crush_version": m.CrushVersion, "full_ratio": m.FullRatio, "backfillfull_ratio": m.BackfillfullRatio,
			"nearfull_ratio": m.NearfullRatio, "cluster_snapshot": m.ClusterSnapshot, "pool_max": m.PoolMax, "max_osd": m.MaxOSD,
			"require_min_compat_client": "luminous", "min_compat_client": "jewel", "require_osd_release": "pacific",
			"pools": pools, "osds": osds, "osd_xinfo": []any{}, "pg_upmap": []any{}, "pg_upmap_items": []any{},
			"pg_temp": []any{}, "primary_temp": []any{}, "blocklist": map[string]any{}, "erasure_code_profiles": m.ErasureCodeProfiles,
			"removed_snaps_queue": []any{}, "new_removed_snaps": []any{}, "new_purged_snaps": []any{},
			"crush_node_flags": map[string]any{}, "device_class_flags": map[string]any{},
			"stretch_mode": map[string]any{"stretch_mode_enabled": false, "stretch_bucket_count": 0, "degraded_stretch_mode": 0,
				"recovering_stretch_mode": 0, "stretch_mode_bucket": 0}})
		res.rs = rs
		return res
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "epoch %d\nfsid %s\ncreated %s\nmodified %s\nflags %s\ncrush_version %d\nfull_ratio %g\nbackfillfull_ratio %g\nnearfull_ratio %g\n",
		m.Epoch, m.FSID, stamp(m.Created), stamp(m.Modified), strings.Join(flagNames(m.Flags), ","), m.CrushVersion,
		m.FullRatio, m.BackfillfullRatio, m.NearfullRatio)
	b.WriteString("require_min_compat_client luminous\nmin_compat_client jewel\nrequire_osd_release pacific\nstretch_mode_enabled false\n\n")
	for _, id := range ids {
		b.WriteString(poolLine(m.Pools[id]))
	}
	fmt.Fprintf(&b, "\nmax_osd %d\n", m.MaxOSD)
	for o := int32(0); o < m.MaxOSD; o++ {
		if !m.Exists(o) {
			continue
		}
		oi := m.OSDInfo[o]
		fmt.Fprintf(&b, "osd.%d up   in  weight 1 up_from %d up_thru %d down_at %d last_clean_interval [%d,%d) %s %s exists,up %s\n",
			o, oi.UpFrom, oi.UpThru, oi.DownAt, oi.LastCleanBegin, oi.LastCleanEnd, m.OSDAddrs[o], m.ClusterAddrs[o], m.OSDUUID[o])
	}
	return cmdResult{rs: rs, out: b.Bytes()}
}

func (mon *Mon) osdMapObjectLocked(args cmdArgs, js bool) cmdResult {
	m := mon.osdmap
	p := m.PoolByName(args.str("pool"))
	if p == nil {
		return cmdErr(eNOENT, "pool %s does not exist", args.str("pool"))
	}
	obj, ns := args.str("object"), args.str("nspace")
	pl, err := m.MapObject(obj, osdmap.Locator{Pool: p.ID, Namespace: ns})
	if err != nil {
		return cmdErr(eINVAL, "%v", err)
	}
	if js {
		return jsonOut(map[string]any{"epoch": m.Epoch, "pool": p.Name, "pool_id": p.ID, "objname": obj, "raw_pgid": pl.RawPG.String(),
			"pgid": pl.PG.String(), "up": pl.Up, "up_primary": pl.UpPrimary, "acting": pl.Acting, "acting_primary": pl.ActingPrimary})
	}
	return cmdResult{out: []byte(fmt.Sprintf("osdmap e%d pool '%s' (%d) object '%s' -> pg %s (%s) -> up (%s, p%d) acting (%s, p%d)\n",
		m.Epoch, p.Name, p.ID, obj, pl.RawPG, pl.PG, osdList(pl.Up), pl.UpPrimary, osdList(pl.Acting), pl.ActingPrimary))}
}

func osdList(v []int32) string {
	s := make([]string, len(v))
	for i, o := range v {
		s[i] = strconv.Itoa(int(o))
	}
	return "[" + strings.Join(s, ",") + "]"
}

// poolCreateLocked is "osd pool create": replicated pools of size 1 only
// (the OSDs do not replicate), pg_num from the argument or
// osd_pool_default_pg_num.
func (mon *Mon) poolCreateLocked(args cmdArgs) cmdResult {
	name := args.str("pool")
	if name == "" {
		return cmdErr(eINVAL, "missing pool name")
	}
	if mon.osdmap.PoolByName(name) != nil {
		return cmdResult{rs: fmt.Sprintf("pool '%s' already exists", name)}
	}
	if t := args.str("pool_type"); t != "" && t != "replicated" {
		return cmdErr(eNOTSUP, "pool type %s is not supported by this cluster (replicated only)", t)
	}
	if sz, ok := args.int("size"); ok && sz != 1 {
		return cmdErr(eINVAL, "pool size %d: this cluster does not replicate; size must be 1", sz)
	}
	pgNum := int64(mon.cfg.defaultPGNum)
	if n, ok := args.int("pg_num"); ok && n > 0 {
		pgNum = n
	}
	if pgNum > 65536 {
		return cmdErr(eINVAL, "pg_num %d is too large", pgNum)
	}
	nm := mon.nextMapLocked()
	nm.PoolMax++
	p := newPool(int64(nm.PoolMax), name, uint32(pgNum), nm.Epoch, time.Now())
	nm.Pools[p.ID] = p
	if err := mon.commitLocked(nm); err != nil {
		return cmdErr(eINVAL, "%v", err)
	}
	return cmdResult{rs: fmt.Sprintf("pool '%s' created", name)}
}

func (mon *Mon) poolRmLocked(args cmdArgs) cmdResult {
	name, name2 := args.str("pool"), args.str("pool2")
	p := mon.osdmap.PoolByName(name)
	if p == nil {
		return cmdResult{rs: fmt.Sprintf("pool '%s' does not exist", name)}
	}
	if name2 != name || !args.bool("yes_i_really_really_mean_it") && !args.bool("yes_i_really_really_mean_it_not_faking") {
		return cmdErr(ePERM, "WARNING: this will *PERMANENTLY DESTROY* all data stored in pool %s.  If you are *ABSOLUTELY CERTAIN* that is what you want, pass the pool name *twice*, followed by --yes-i-really-really-mean-it.", name)
	}
	if !mon.cfg.allowPoolDelete {
		return cmdErr(ePERM, "pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true before you can destroy a pool")
	}
	nm := mon.nextMapLocked()
	delete(nm.Pools, p.ID)
	if err := mon.commitLocked(nm); err != nil {
		return cmdErr(eINVAL, "%v", err)
	}
	return cmdResult{rs: fmt.Sprintf("pool '%s' removed", name)}
}

func (mon *Mon) poolGetLocked(args cmdArgs, js bool) cmdResult {
	name, v := args.str("pool"), args.str("var")
	p := mon.osdmap.PoolByName(name)
	if p == nil {
		return cmdErr(eNOENT, "unrecognized pool '%s'", name)
	}
	var val any
	switch v {
	case "size":
		val = p.Size
	case "min_size":
		val = p.MinSize
	case "pg_num":
		val = p.PGNum
	case "pgp_num":
		val = p.PGPNum
	case "crush_rule":
		val = "replicated_rule"
	default:
		return cmdErr(eNOTSUP, "get %s is not supported by this cluster", v)
	}
	if js {
		return jsonOut(map[string]any{"pool": p.Name, "pool_id": p.ID, v: val})
	}
	return cmdResult{out: []byte(fmt.Sprintf("%s: %v\n", v, val))}
}

func (mon *Mon) poolSetLocked(args cmdArgs) cmdResult {
	name, v, val := args.str("pool"), args.str("var"), args.str("val")
	p := mon.osdmap.PoolByName(name)
	if p == nil {
		return cmdErr(eNOENT, "unrecognized pool '%s'", name)
	}
	n, err := strconv.ParseInt(val, 10, 64)
	switch v {
	case "size", "min_size":
		if err != nil || n != 1 {
			return cmdErr(eINVAL, "pool %s %s: this cluster does not replicate; it must be 1", name, v)
		}
	case "pg_num", "pgp_num":
		if err != nil || uint32(n) != p.PGNum {
			return cmdErr(eNOTSUP, "changing %s is not supported by this cluster (no PG splitting)", v)
		}
	case "pg_autoscale_mode":
		mode, ok := map[string]uint8{"off": autoscaleOff, "warn": autoscaleWarn, "on": autoscaleOn}[val]
		if !ok {
			return cmdErr(eINVAL, "specify one of 'on', 'off', or 'warn'")
		}
		if mode != p.PGAutoscaleMode {
			nm := mon.nextMapLocked()
			np := nm.Pools[p.ID]
			np.PGAutoscaleMode, np.LastChange = mode, nm.Epoch
			if err := mon.commitLocked(nm); err != nil {
				return cmdErr(eINVAL, "%v", err)
			}
		}
	default:
		return cmdErr(eNOTSUP, "set %s is not supported by this cluster", v)
	}
	return cmdResult{rs: fmt.Sprintf("set pool %d %s to %s", p.ID, v, val)}
}

func (mon *Mon) poolAppEnableLocked(args cmdArgs) cmdResult {
	name, app := args.str("pool"), args.str("app")
	p := mon.osdmap.PoolByName(name)
	if p == nil {
		return cmdErr(eNOENT, "unrecognized pool '%s'", name)
	}
	if _, ok := p.Application[app]; !ok {
		nm := mon.nextMapLocked()
		np := nm.Pools[p.ID]
		apps := map[string]map[string]string{app: {}}
		for k, v := range np.Application {
			apps[k] = v
		}
		np.Application = apps
		np.LastChange = nm.Epoch
		if err := mon.commitLocked(nm); err != nil {
			return cmdErr(eINVAL, "%v", err)
		}
	}
	return cmdResult{rs: fmt.Sprintf("enabled application '%s' on pool '%s'", app, name)}
}

// osdTreeLocked is "osd tree": the CRUSH hierarchy from each root down,
// with the OSDs' state (OSDMap::print_tree).
func (mon *Mon) osdTreeLocked(args cmdArgs, js bool) cmdResult {
	m, _, res, ok := mon.mapAtLocked(args)
	if !ok {
		return res
	}
	cm := m.Crush
	type row struct {
		id     int32
		depth  int
		weight float64
	}
	var rows []row
	var walk func(id int32, depth int, w uint32)
	walk = func(id int32, depth int, w uint32) {
		rows = append(rows, row{id, depth, float64(w) / 0x10000})
		if b := cm.Bucket(id); b != nil {
			for i, it := range b.Items {
				walk(it, depth+1, b.ItemWeights[i])
			}
		}
	}
	for _, b := range cm.Buckets {
		if b == nil {
			continue
		}
		isChild := false
		for _, o := range cm.Buckets {
			if o != nil && slices.Contains(o.Items, b.ID) {
				isChild = true
			}
		}
		if !isChild {
			walk(b.ID, 0, b.Weight)
		}
	}
	if js {
		nodes := []any{}
		for _, r := range rows {
			if b := cm.Bucket(r.id); b != nil {
				children := slices.Clone(b.Items)
				slices.Reverse(children)
				nodes = append(nodes, map[string]any{"id": r.id, "name": cm.Names[r.id], "type": cm.TypeNames[int32(b.Type)],
					"type_id": b.Type, "children": children})
				continue
			}
			st := "down"
			if m.IsUp(r.id) {
				st = "up"
			}
			nodes = append(nodes, map[string]any{"id": r.id, "name": cm.Names[r.id], "type": "osd", "type_id": 0,
				"crush_weight": r.weight, "depth": r.depth, "pool_weights": map[string]any{}, "exists": 1, "status": st,
				"reweight": float64(m.OSDWeight[r.id]) / 0x10000, "primary_affinity": 1})
		}
		return jsonOut(map[string]any{"nodes": nodes, "stray": []any{}})
	}
	var b strings.Builder
	b.WriteString("ID  CLASS  WEIGHT   TYPE NAME           STATUS  REWEIGHT  PRI-AFF\n")
	for _, r := range rows {
		indent := strings.Repeat("    ", r.depth)
		if bk := cm.Bucket(r.id); bk != nil {
			fmt.Fprintf(&b, "%2d         %.5f  %s%s %s\n", r.id, r.weight, indent, cm.TypeNames[int32(bk.Type)], cm.Names[r.id])
			continue
		}
		st := "down"
		if m.IsUp(r.id) {
			st = "up"
		}
		fmt.Fprintf(&b, "%2d         %.5f  %s%-15s %6s  %.5f  1.00000\n", r.id, r.weight, indent, cm.Names[r.id], st,
			float64(m.OSDWeight[r.id])/0x10000)
	}
	return cmdResult{out: []byte(b.String())}
}

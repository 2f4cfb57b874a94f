package cluster

import (
	"fmt"
	"time"

	"github.com/gomsgr/msgr/crush"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/monmap"
	"github.com/gomsgr/msgr/osdmap"
)

// OSDMap flags a fresh Pacific cluster has (CEPH_OSDMAP_*): sortbitwise,
// recovery_deletes, purged_snapdirs, pglog_hardlimit.
const freshOSDMapFlags = 0x8000 | 0x100000 | 0x200000 | 0x400000

// Ceph releases (ceph_release_t).
const (
	releaseLuminous = 12
	releasePacific  = 16
)

// monFeaturesPacific are the persistent mon features of a Pacific quorum
// (kraken .. pacific).
const monFeaturesPacific = 0x7f

const poolFlagHashPSPool = 1

// pg_autoscale_mode_t
const (
	autoscaleOff  = 1
	autoscaleWarn = 2
	autoscaleOn   = 3
)

func utimeOf(t time.Time) encoding.UTime {
	return encoding.UTime{Sec: uint32(t.Unix()), Nsec: uint32(t.Nanosecond())}
}

// newMonMap is a one-mon map (rank 0, "a") at addrs.
func newMonMap(fsid encoding.UUID, addrs encoding.EntityAddrVec, now time.Time) *monmap.MonMap {
	u := utimeOf(now)
	return &monmap.MonMap{
		FSID: fsid, Epoch: 1, LastChanged: u, Created: u,
		PersistentFeatures: monFeaturesPacific,
		Mons:               []monmap.MonInfo{{Name: "a", PublicAddrs: addrs}},
		Ranks:              []string{"a"},
		MinMonRelease:      releasePacific,
		Strategy:           monmap.StrategyClassic,
	}
}

// crushTypes are the bucket types of Ceph's default CRUSH map.
var crushTypes = map[int32]string{0: "osd", 1: "host", 2: "chassis", 3: "rack", 4: "row", 5: "pdu",
	6: "pod", 7: "room", 8: "datacenter", 9: "zone", 10: "region", 11: "root"}

// newCrush is what vstart.sh builds on one machine: root "default" holding
// one host holding the OSDs (straw2, weight 1 each), and rule 0
// "replicated_rule" choosing OSDs (chooseleaf type osd), jewel tunables.
func newCrush(nOSD int, host string) *crush.Map {
	hostB := &crush.Bucket{ID: -2, Type: 1, Alg: crush.AlgStraw2}
	for i := 0; i < nOSD; i++ {
		hostB.Items = append(hostB.Items, int32(i))
		hostB.ItemWeights = append(hostB.ItemWeights, osdmap.WeightIn)
		hostB.Weight += osdmap.WeightIn
	}
	root := &crush.Bucket{ID: -1, Type: 11, Alg: crush.AlgStraw2, Weight: hostB.Weight,
		Items: []int32{-2}, ItemWeights: []uint32{hostB.Weight}}
	names := map[int32]string{-1: "default", -2: host}
	for i := 0; i < nOSD; i++ {
		names[int32(i)] = fmt.Sprintf("osd.%d", i)
	}
	return &crush.Map{
		Buckets:    []*crush.Bucket{root, hostB},
		Rules:      []*crush.Rule{{Ruleset: 0, Type: 1, MinSize: 1, MaxSize: 10, Steps: []crush.Step{{Op: crush.OpTake, Arg1: -1}, {Op: crush.OpChooseLeafFirstN, Arg1: 0, Arg2: 0}, {Op: crush.OpEmit}}}},
		MaxDevices: int32(nOSD),
		Tunables: crush.Tunables{ChooseTotalTries: 50, ChooseLeafDescendOnce: 1, ChooseLeafVaryR: 1,
			StrawCalcVersion: 1, AllowedBucketAlgs: 54, ChooseLeafStable: 1},
		TypeNames: crushTypes,
		Names:     names,
		RuleNames: map[int32]string{0: "replicated_rule"},
	}
}

// newOSDMap is epoch 1: every OSD exists, is up at its addresses and in.
func newOSDMap(fsid encoding.UUID, osds []encoding.EntityAddrVec, uuids []encoding.UUID, now time.Time) *osdmap.OSDMap {
	u := utimeOf(now)
	n := int32(len(osds))
	m := &osdmap.OSDMap{
		FSID: fsid, Epoch: 1, Created: u, Modified: u,
		Pools: map[int64]*osdmap.Pool{}, Flags: freshOSDMapFlags, MaxOSD: n,
		Crush:               newCrush(len(osds), "localhost"),
		CrushVersion:        1,
		ErasureCodeProfiles: map[string]map[string]string{"default": {"k": "2", "m": "2", "plugin": "jerasure", "technique": "reed_sol_van"}},
		LastUpChange:        u, LastInChange: u,
		NearfullRatio: 0.85, FullRatio: 0.95, BackfillfullRatio: 0.90,
		RequireMinCompatClient: releaseLuminous, RequireOSDRelease: releasePacific,
	}
	for i := range osds {
		m.OSDState = append(m.OSDState, osdmap.StateExists|osdmap.StateUp)
		m.OSDWeight = append(m.OSDWeight, osdmap.WeightIn)
		m.OSDAddrs = append(m.OSDAddrs, osds[i])
		m.ClusterAddrs = append(m.ClusterAddrs, osds[i])
		m.HBBackAddrs = append(m.HBBackAddrs, osds[i])
		m.HBFrontAddrs = append(m.HBFrontAddrs, osds[i])
		m.OSDInfo = append(m.OSDInfo, osdmap.OSDInfo{UpFrom: 1})
		m.OSDUUID = append(m.OSDUUID, uuids[i])
	}
	return m
}

// newPool is a replicated pool of size 1 as "osd pool create" makes it.
func newPool(id int64, name string, pgNum uint32, epoch uint32, now time.Time) *osdmap.Pool {
	return &osdmap.Pool{
		ID: id, Name: name, Type: osdmap.PoolTypeReplicated, Size: 1, MinSize: 1,
		ObjectHash: osdmap.HashRjenkins, PGNum: pgNum, PGPNum: pgNum, LastChange: epoch,
		Flags: poolFlagHashPSPool, TierOf: -1, ReadTier: -1, WriteTier: -1,
		Application: map[string]map[string]string{}, CreateTime: utimeOf(now),
		PGNumTarget: pgNum, PGPNumTarget: pgNum, PGNumPending: pgNum, PGAutoscaleMode: autoscaleOff,
	}
}

package osdmap

import (
	"bytes"
	"maps"
	"slices"

	"github.com/gomsgr/msgr/encoding"
)

// Diff returns the incremental that turns prev into next, as a mon's
// pending_inc would hold it: the pools, names, flags, OSD states, weights
// and addresses, temps, CRUSH map and ratios that changed. next's CRC
// (set when it was encoded or decoded) becomes FullCRC. Fields Diff does
// not compare (upmaps, erasure-code profiles, blocklists) must be equal.
func Diff(prev, next *OSDMap) *Incremental {
	inc := NewIncremental()
	inc.FSID, inc.Epoch, inc.Modified, inc.FullCRC = next.FSID, next.Epoch, next.Modified, next.CRC
	if next.PoolMax != prev.PoolMax {
		inc.NewPoolMax = int64(next.PoolMax)
	}
	if next.Flags != prev.Flags {
		inc.NewFlags = int32(next.Flags)
	}
	if next.MaxOSD != prev.MaxOSD {
		inc.NewMaxOSD = next.MaxOSD
	}
	inc.NewPools, inc.NewPoolNames = map[int64]*Pool{}, map[int64]string{}
	for id, p := range next.Pools {
		old := prev.Pools[id]
		if old == nil || !bytes.Equal(old.Append(nil, 0), p.Append(nil, 0)) {
			inc.NewPools[id] = p
		}
		if old == nil || old.Name != p.Name {
			inc.NewPoolNames[id] = p.Name
		}
	}
	for id := range prev.Pools {
		if next.Pools[id] == nil {
			inc.OldPools = append(inc.OldPools, id)
		}
	}
	slices.Sort(inc.OldPools)
	for o := int32(0); o < next.MaxOSD; o++ {
		var ps, pw uint32
		if o < prev.MaxOSD {
			ps, pw = prev.OSDState[o], prev.OSDWeight[o]
		}
		if x := ps ^ next.OSDState[o]; x != 0 {
			if inc.NewState == nil {
				inc.NewState = map[int32]uint32{}
			}
			inc.NewState[o] = x
		}
		if next.OSDWeight[o] != pw {
			if inc.NewWeight == nil {
				inc.NewWeight = map[int32]uint32{}
			}
			inc.NewWeight[o] = next.OSDWeight[o]
		}
		if next.IsUp(o) && (o >= prev.MaxOSD || !prev.IsUp(o) || !slices.Equal(prev.OSDAddrs[o], next.OSDAddrs[o])) {
			if inc.NewUpClient == nil {
				inc.NewUpClient = map[int32]encoding.EntityAddrVec{}
			}
			inc.NewUpClient[o] = next.OSDAddrs[o]
		}
	}
	inc.NewPGTemp = map[PG][]int32{}
	for pg, v := range next.PGTemp {
		if !slices.Equal(prev.PGTemp[pg], v) {
			inc.NewPGTemp[pg] = v
		}
	}
	for pg := range prev.PGTemp {
		if _, ok := next.PGTemp[pg]; !ok {
			inc.NewPGTemp[pg] = nil // an empty vector removes it
		}
	}
	inc.NewPrimaryTemp = map[PG]int32{}
	for pg, v := range next.PrimaryTemp {
		if old, ok := prev.PrimaryTemp[pg]; !ok || old != v {
			inc.NewPrimaryTemp[pg] = v
		}
	}
	for pg := range prev.PrimaryTemp {
		if _, ok := next.PrimaryTemp[pg]; !ok {
			inc.NewPrimaryTemp[pg] = -1
		}
	}
	if cb := next.Crush.Append(nil); !bytes.Equal(prev.Crush.Append(nil), cb) {
		inc.Crush = cb
	}
	if next.LastUpChange != prev.LastUpChange {
		inc.NewLastUpChange = next.LastUpChange
	}
	if next.LastInChange != prev.LastInChange {
		inc.NewLastInChange = next.LastInChange
	}
	if next.NearfullRatio != prev.NearfullRatio {
		inc.NewNearfullRatio = next.NearfullRatio
	}
	if next.FullRatio != prev.FullRatio {
		inc.NewFullRatio = next.FullRatio
	}
	if next.BackfillfullRatio != prev.BackfillfullRatio {
		inc.NewBackfillfullRatio = next.BackfillfullRatio
	}
	if next.RequireMinCompatClient != prev.RequireMinCompatClient {
		inc.NewRequireMinCompat = next.RequireMinCompatClient
	}
	if next.RequireOSDRelease != prev.RequireOSDRelease {
		inc.NewRequireOSDRelease = int8(next.RequireOSDRelease)
	}
	for name, prof := range next.ErasureCodeProfiles {
		if old, ok := prev.ErasureCodeProfiles[name]; !ok || !maps.Equal(old, prof) {
			if inc.NewECProfiles == nil {
				inc.NewECProfiles = map[string]map[string]string{}
			}
			inc.NewECProfiles[name] = prof
		}
	}
	for name := range prev.ErasureCodeProfiles {
		if _, ok := next.ErasureCodeProfiles[name]; !ok {
			inc.OldECProfiles = append(inc.OldECProfiles, name)
		}
	}
	slices.Sort(inc.OldECProfiles)
	return inc
}

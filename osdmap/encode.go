package osdmap

import (
	"math"

	"github.com/gomsgr/msgr/encoding"
)

// Struct versions Pacific's mon writes for Pacific peers.
const (
	wrapperVersion    = 8
	clientDataVersion = 9  // v10 (pg_upmap_primaries) is Reef's
	osdDataVersion    = 9  // v10+ only with stretch mode or range blocklists
	poolVersion       = 29 // pg_pool_t
)

// Append appends m encoded as Pacific's OSDMap::encode writes it for a peer
// with every feature (addresses as msgr2 address vectors), crc included.
// A decoded map is written back byte for byte: the struct versions and the
// fields this package does not model are kept from decoding.
func (m *OSDMap) Append(b []byte) []byte {
	const features = encoding.FeaturesAll
	start := len(b)
	b, wrap := encoding.StructStart(b, wrapperVersion, 7)
	b = m.appendClient(b, features)
	b = m.appendOSDOnly(b, features)
	crcOff := len(b)
	b = encoding.AppendU32(b, 0)
	b = encoding.StructEnd(b, wrap)
	m.CRC = encoding.CRC32C(0xffffffff, b[start:crcOff])
	b[crcOff], b[crcOff+1], b[crcOff+2], b[crcOff+3] = byte(m.CRC), byte(m.CRC>>8), byte(m.CRC>>16), byte(m.CRC>>24)
	return b
}

func orDefault(v, def uint8) uint8 {
	if v == 0 {
		return def
	}
	return v
}

func appendPG(b []byte, pg PG) []byte {
	b = append(b, 1)
	b = encoding.AppendU64(b, uint64(pg.Pool))
	b = encoding.AppendU32(b, pg.Seed)
	return encoding.AppendI32(b, -1)
}

// pgLess is pg_t's order (pool, then seed), the order of Ceph's maps.
func pgLess(a, b PG) bool {
	return a.Pool < b.Pool || a.Pool == b.Pool && a.Seed < b.Seed
}

func sortedPGs[V any](m map[PG]V) []PG {
	pgs := make([]PG, 0, len(m))
	for pg := range m {
		pgs = append(pgs, pg)
	}
	for i := 1; i < len(pgs); i++ { // insertion sort: these maps are small
		for j := i; j > 0 && pgLess(pgs[j], pgs[j-1]); j-- {
			pgs[j], pgs[j-1] = pgs[j-1], pgs[j]
		}
	}
	return pgs
}

func appendPGMap[V any](b []byte, m map[PG]V, enc func([]byte, V) []byte) []byte {
	pgs := sortedPGs(m)
	b = encoding.AppendU32(b, uint32(len(pgs)))
	for _, pg := range pgs {
		b = appendPG(b, pg)
		b = enc(b, m[pg])
	}
	return b
}

func appendI32s(b []byte, v []int32) []byte { return encoding.AppendSlice(b, v, encoding.AppendI32) }

func appendPairs(b []byte, v [][2]int32) []byte {
	b = encoding.AppendU32(b, uint32(len(v)))
	for _, p := range v {
		b = encoding.AppendI32(b, p[0])
		b = encoding.AppendI32(b, p[1])
	}
	return b
}

func appendAddrVecs(b []byte, v []encoding.EntityAddrVec, n int32, features uint64) []byte {
	b = encoding.AppendU32(b, uint32(n))
	for i := 0; i < int(n); i++ {
		var a encoding.EntityAddrVec
		if i < len(v) {
			a = v[i]
		}
		b = encoding.AppendEntityAddrVec(b, a, features)
	}
	return b
}

func appendStringMap(b []byte, m map[string]string) []byte {
	return encoding.AppendMap(b, m, encoding.AppendString, encoding.AppendString)
}

func appendStringMapMap(b []byte, m map[string]map[string]string) []byte {
	return encoding.AppendMap(b, m, encoding.AppendString, appendStringMap)
}

// emptyOr returns raw, or the encoding of an empty container (a zero
// count) when raw was never decoded.
func emptyOr(raw []byte) []byte {
	if raw == nil {
		return []byte{0, 0, 0, 0}
	}
	return raw
}

func (m *OSDMap) appendClient(b []byte, features uint64) []byte {
	v := orDefault(m.kept.clientV, clientDataVersion)
	b, s := encoding.StructStart(b, v, 1)
	b = encoding.AppendUUID(b, m.FSID)
	b = encoding.AppendU32(b, m.Epoch)
	b = encoding.AppendUTime(b, m.Created)
	b = encoding.AppendUTime(b, m.Modified)
	b = encoding.AppendMap(b, m.Pools, encoding.AppendI64, func(b []byte, p *Pool) []byte { return p.Append(b, features) })
	names := make(map[int64]string, len(m.Pools))
	for id, p := range m.Pools {
		names[id] = p.Name
	}
	b = encoding.AppendMap(b, names, encoding.AppendI64, encoding.AppendString)
	b = encoding.AppendI32(b, m.PoolMax)
	b = encoding.AppendU32(b, m.Flags)
	b = encoding.AppendI32(b, m.MaxOSD)
	if v >= 5 {
		b = encoding.AppendSlice(b, m.OSDState, encoding.AppendU32)
	} else {
		b = encoding.AppendU32(b, uint32(len(m.OSDState)))
		for _, st := range m.OSDState {
			b = append(b, uint8(st))
		}
	}
	b = encoding.AppendSlice(b, m.OSDWeight, encoding.AppendU32)
	b = appendAddrVecs(b, m.OSDAddrs, m.MaxOSD, features)
	b = appendPGMap(b, m.PGTemp, appendI32s)
	b = appendPGMap(b, m.PrimaryTemp, encoding.AppendI32)
	if v >= 2 {
		b = encoding.AppendSlice(b, m.PrimaryAffinity, encoding.AppendU32)
	}
	b, cl := encoding.LenStart(b)
	b = m.Crush.Append(b)
	b = encoding.LenEnd(b, cl)
	if v >= 3 {
		b = appendStringMapMap(b, m.ErasureCodeProfiles)
	}
	if v >= 4 {
		b = appendPGMap(b, m.PGUpmap, appendI32s)
		b = appendPGMap(b, m.PGUpmapItems, appendPairs)
	}
	if v >= 6 {
		b = encoding.AppendI32(b, m.CrushVersion)
	}
	if v >= 7 {
		b = append(b, emptyOr(m.kept.newRemovedSnaps)...)
		b = append(b, emptyOr(m.kept.newPurgedSnaps)...)
	}
	if v >= 9 {
		b = encoding.AppendUTime(b, m.LastUpChange)
		b = encoding.AppendUTime(b, m.LastInChange)
	}
	if v >= 10 {
		b = appendPGMap(b, m.PGUpmapPrimaries, encoding.AppendI32)
	}
	b = append(b, m.kept.clientTail...)
	return encoding.StructEnd(b, s)
}

// newXInfo is a fresh osd_xinfo_t (v4) for an OSD with features: never
// down, not laggy.
func newXInfo(features uint64) []byte {
	b, s := encoding.StructStart(nil, 4, 1)
	b = encoding.AppendUTime(b, encoding.UTime{}) // down_stamp
	b = encoding.AppendU32(b, 0)                  // laggy_probability
	b = encoding.AppendU32(b, 0)                  // laggy_interval
	b = encoding.AppendU64(b, features)
	b = encoding.AppendU32(b, 0)                  // old_weight
	b = encoding.AppendUTime(b, encoding.UTime{}) // last_purged_snaps_scrub
	b = encoding.AppendU32(b, 0)                  // dead_epoch
	return encoding.StructEnd(b, s)
}

func (m *OSDMap) appendOSDOnly(b []byte, features uint64) []byte {
	v := orDefault(m.kept.osdV, osdDataVersion)
	b, s := encoding.StructStart(b, v, 1)
	b = appendAddrVecs(b, m.HBBackAddrs, m.MaxOSD, features)
	b = encoding.AppendU32(b, uint32(m.MaxOSD))
	for i := 0; i < int(m.MaxOSD); i++ {
		var oi OSDInfo
		if i < len(m.OSDInfo) {
			oi = m.OSDInfo[i]
		}
		b = append(b, 1)
		for _, x := range []uint32{oi.LastCleanBegin, oi.LastCleanEnd, oi.UpFrom, oi.UpThru, oi.DownAt, oi.LostAt} {
			b = encoding.AppendU32(b, x)
		}
	}
	b = append(b, emptyOr(m.kept.blocklist)...)
	b = appendAddrVecs(b, m.ClusterAddrs, m.MaxOSD, features)
	b = encoding.AppendU32(b, m.kept.clusterSnapshotEpoch)
	b = encoding.AppendString(b, m.ClusterSnapshot)
	b = encoding.AppendU32(b, uint32(m.MaxOSD))
	for i := 0; i < int(m.MaxOSD); i++ {
		var u encoding.UUID
		if i < len(m.OSDUUID) {
			u = m.OSDUUID[i]
		}
		b = encoding.AppendUUID(b, u)
	}
	b = encoding.AppendU32(b, uint32(m.MaxOSD))
	for i := 0; i < int(m.MaxOSD); i++ {
		if i < len(m.kept.xinfo) {
			b = append(b, m.kept.xinfo[i]...)
		} else {
			b = append(b, newXInfo(features)...)
		}
	}
	b = appendAddrVecs(b, m.HBFrontAddrs, m.MaxOSD, features)
	if v >= 2 {
		b = encoding.AppendU32(b, math.Float32bits(m.NearfullRatio))
		b = encoding.AppendU32(b, math.Float32bits(m.FullRatio))
	}
	if v >= 3 {
		b = encoding.AppendU32(b, math.Float32bits(m.BackfillfullRatio))
	}
	if v >= 5 {
		b = append(b, m.RequireMinCompatClient, m.RequireOSDRelease)
	}
	if m.kept.osdTail != nil {
		b = append(b, m.kept.osdTail...)
	} else {
		// removed_snaps_queue, crush_node_flags, device_class_flags:
		// empty maps.
		b = append(b, make([]byte, 12)...)
	}
	return encoding.StructEnd(b, s)
}

// Append appends p as pg_pool_t::encode writes it for a Pacific peer (v29),
// or in the version it was decoded with.
func (p *Pool) Append(b []byte, features uint64) []byte {
	k := p.kept
	if k.v == 0 {
		// A pool made here: pg_pool_t's constructor defaults.
		k.cacheTargetDirtyHigh, k.useGMTHitset = 600000, 1
	}
	v := orDefault(k.v, poolVersion)
	b, s := encoding.StructStart(b, v, 5)
	b = append(b, p.Type, p.Size, p.CrushRule, p.ObjectHash)
	b = encoding.AppendU32(b, p.PGNum)
	b = encoding.AppendU32(b, p.PGPNum)
	b = encoding.AppendU32(b, 0) // lpg_num
	b = encoding.AppendU32(b, 0) // lpgp_num
	b = encoding.AppendU32(b, p.LastChange)
	b = encoding.AppendU64(b, p.SnapSeq)
	b = encoding.AppendU32(b, p.SnapEpoch)
	b = append(b, emptyOr(k.snaps)...)
	b = append(b, emptyOr(k.removedSnaps)...)
	b = encoding.AppendU64(b, p.Auid)
	b = encoding.AppendU64(b, p.Flags)
	b = encoding.AppendU32(b, 0) // crash_replay_interval
	if v >= 7 {
		b = append(b, p.MinSize)
	}
	if v >= 8 {
		b = encoding.AppendU64(b, p.QuotaMaxBytes)
		b = encoding.AppendU64(b, p.QuotaMaxObjects)
	}
	if v >= 9 {
		b = encoding.AppendSlice(b, p.Tiers, encoding.AppendI64)
		b = encoding.AppendI64(b, p.TierOf)
		b = append(b, p.CacheMode)
		b = encoding.AppendI64(b, p.ReadTier)
		b = encoding.AppendI64(b, p.WriteTier)
	}
	if v >= 10 {
		b = append(b, emptyOr(k.properties)...)
	}
	if v >= 11 {
		if k.hitSetParams != nil {
			b = append(b, k.hitSetParams...)
		} else {
			b = append(b, 1, 1, 1, 0, 0, 0, 0) // HitSet::Params v1: TYPE_NONE
		}
		b = encoding.AppendU32(b, k.hitSetPeriod)
		b = encoding.AppendU32(b, k.hitSetCount)
	}
	if v >= 12 {
		b = encoding.AppendU32(b, p.StripeWidth)
	}
	if v >= 13 {
		if k.cacheTargets != nil {
			b = append(b, k.cacheTargets...)
		} else {
			// target_max_bytes, target_max_objects: none; the
			// dirty and full ratios' defaults (0.4, 0.8) in micro.
			b = append(b, make([]byte, 16)...)
			b = encoding.AppendU32(b, 400000)
			b = encoding.AppendU32(b, 800000)
			b = append(b, make([]byte, 8)...)
		}
	}
	if v >= 14 {
		b = encoding.AppendString(b, p.ErasureCodeProfile)
	}
	if v >= 15 {
		b = encoding.AppendU32(b, k.lastForceOpResendPreluminous)
	}
	if v >= 16 {
		b = encoding.AppendU32(b, k.minReadRecency)
	}
	if v >= 17 {
		b = encoding.AppendU64(b, p.ExpectedNumObjects)
	}
	if v >= 19 {
		b = encoding.AppendU32(b, k.cacheTargetDirtyHigh)
	}
	if v >= 20 {
		b = encoding.AppendU32(b, k.minWriteRecency)
	}
	if v >= 21 {
		b = append(b, k.useGMTHitset)
	}
	if v >= 22 {
		b = encoding.AppendBool(b, p.FastRead)
	}
	if v >= 23 {
		if k.hitSetGrade != nil {
			b = append(b, k.hitSetGrade...)
		} else {
			b = append(b, make([]byte, 8)...)
		}
	}
	if v >= 24 {
		if k.opts != nil {
			b = append(b, k.opts...)
		} else {
			b = append(b, 2, 1, 4, 0, 0, 0, 0, 0, 0, 0) // pool_opts_t v2: no options
		}
	}
	if v >= 25 {
		b = encoding.AppendU32(b, k.lastForceOpResendPrenautilus)
	}
	if v >= 26 {
		b = appendStringMapMap(b, p.Application)
	}
	if v >= 27 {
		b = encoding.AppendUTime(b, p.CreateTime)
	}
	if v >= 28 {
		b = encoding.AppendU32(b, p.PGNumTarget)
		b = encoding.AppendU32(b, p.PGPNumTarget)
		b = encoding.AppendU32(b, p.PGNumPending)
		b = encoding.AppendU32(b, 0) // old merge last_epoch_started
		b = encoding.AppendU32(b, 0) // old merge last_epoch_clean
		b = encoding.AppendU32(b, p.LastForceOpResend)
		b = append(b, p.PGAutoscaleMode)
	}
	if v >= 29 {
		if k.lastPGMergeMeta != nil {
			b = append(b, k.lastPGMergeMeta...)
		} else {
			b = appendPGMergeMeta(b)
		}
	}
	b = append(b, k.tail...)
	return encoding.StructEnd(b, s)
}

// appendPGMergeMeta appends an empty pg_merge_meta_t (v1).
func appendPGMergeMeta(b []byte) []byte {
	b, s := encoding.StructStart(b, 1, 1)
	b = appendPG(b, PG{})
	b = append(b, make([]byte, 4+4+4+12+12)...) // epochs, source and target eversion_t
	return encoding.StructEnd(b, s)
}

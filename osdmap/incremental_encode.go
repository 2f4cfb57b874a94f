package osdmap

import (
	"math"
	"slices"

	"github.com/gomsgr/msgr/encoding"
)

// Struct versions of OSDMap::Incremental Pacific's mon writes.
const (
	incClientVersion = 8
	incOSDVersion    = 9
)

// pacificIncFeatures is the features field a Pacific mon writes in its
// incrementals: the quorum's features masked to those the OSDMap
// encoding depends on (OSDMap::SIGNIFICANT_FEATURES), as captured.
const pacificIncFeatures = 0x0f00088010212a04

// Append appends inc encoded as Pacific's OSDMap::Incremental::encode
// writes it for a peer with every feature, with its own crc (inc_crc)
// and FullCRC, the crc of the map it produces. A decoded incremental is
// written back byte for byte.
func (inc *Incremental) Append(b []byte) []byte {
	const features = encoding.FeaturesAll
	start := len(b)
	b, wrap := encoding.StructStart(b, wrapperVersion, 7)
	b = inc.appendClient(b, features)
	b = inc.appendOSDOnly(b, features)
	crcOff := len(b)
	b = encoding.AppendU32(b, 0)
	tailOff := len(b)
	b = encoding.AppendU32(b, inc.FullCRC)
	b = encoding.StructEnd(b, wrap)
	crc := encoding.CRC32C(0xffffffff, b[start:crcOff])
	crc = encoding.CRC32C(crc, b[tailOff:])
	b[crcOff], b[crcOff+1], b[crcOff+2], b[crcOff+3] = byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24)
	return b
}

func appendAddrVecMap(b []byte, m map[int32]encoding.EntityAddrVec, features uint64) []byte {
	return encoding.AppendMap(b, m, encoding.AppendI32, func(b []byte, v encoding.EntityAddrVec) []byte {
		return encoding.AppendEntityAddrVec(b, v, features)
	})
}

func appendI32U32Map(b []byte, m map[int32]uint32) []byte {
	return encoding.AppendMap(b, m, encoding.AppendI32, encoding.AppendU32)
}

func appendPGSet(b []byte, pgs []PG) []byte {
	set := make(map[PG]struct{}, len(pgs))
	for _, pg := range pgs {
		set[pg] = struct{}{}
	}
	return appendPGMap(b, set, func(b []byte, _ struct{}) []byte { return b })
}

func (inc *Incremental) appendClient(b []byte, features uint64) []byte {
	v := orDefault(inc.kept.clientV, incClientVersion)
	b, s := encoding.StructStart(b, v, 1)
	b = encoding.AppendUUID(b, inc.FSID)
	b = encoding.AppendU32(b, inc.Epoch)
	b = encoding.AppendUTime(b, inc.Modified)
	b = encoding.AppendI64(b, inc.NewPoolMax)
	b = encoding.AppendI32(b, inc.NewFlags)
	b = encoding.AppendBytes(b, inc.FullMap)
	b = encoding.AppendBytes(b, inc.Crush)
	b = encoding.AppendI32(b, inc.NewMaxOSD)
	b = encoding.AppendMap(b, inc.NewPools, encoding.AppendI64, func(b []byte, p *Pool) []byte { return p.Append(b, features) })
	b = encoding.AppendMap(b, inc.NewPoolNames, encoding.AppendI64, encoding.AppendString)
	old := slices.Clone(inc.OldPools)
	slices.Sort(old)
	b = encoding.AppendSlice(b, slices.Compact(old), encoding.AppendI64)
	b = appendAddrVecMap(b, inc.NewUpClient, features)
	if v >= 5 {
		b = appendI32U32Map(b, inc.NewState)
	} else {
		b = encoding.AppendMap(b, inc.NewState, encoding.AppendI32, func(b []byte, x uint32) []byte { return append(b, uint8(x)) })
	}
	b = appendI32U32Map(b, inc.NewWeight)
	b = appendPGMap(b, inc.NewPGTemp, appendI32s)
	b = appendPGMap(b, inc.NewPrimaryTemp, encoding.AppendI32)
	if v >= 2 {
		b = appendI32U32Map(b, inc.NewPrimaryAffinity)
	}
	if v >= 3 {
		b = appendStringMapMap(b, inc.NewECProfiles)
		b = encoding.AppendStringSlice(b, inc.OldECProfiles)
	}
	if v >= 4 {
		b = appendPGMap(b, inc.NewPGUpmap, appendI32s)
		b = appendPGSet(b, inc.OldPGUpmap)
		b = appendPGMap(b, inc.NewPGUpmapItems, appendPairs)
		b = appendPGSet(b, inc.OldPGUpmapItems)
	}
	if v >= 6 {
		b = append(b, emptyOr(inc.kept.newRemovedSnaps)...)
		b = append(b, emptyOr(inc.kept.newPurgedSnaps)...)
	}
	if v >= 8 {
		b = encoding.AppendUTime(b, inc.NewLastUpChange)
		b = encoding.AppendUTime(b, inc.NewLastInChange)
	}
	if v >= 9 {
		b = appendPGMap(b, inc.NewPGUpmapPrimaries, encoding.AppendI32)
		b = appendPGSet(b, inc.OldPGUpmapPrimaries)
	}
	b = append(b, inc.kept.clientTail...)
	return encoding.StructEnd(b, s)
}

func (inc *Incremental) appendOSDOnly(b []byte, features uint64) []byte {
	v := orDefault(inc.kept.osdV, incOSDVersion)
	b, s := encoding.StructStart(b, v, 1)
	b = appendAddrVecMap(b, inc.NewHBBackUp, features)
	b = appendI32U32Map(b, inc.NewUpThru)
	b = encoding.AppendMap(b, inc.NewLastCleanInterval, encoding.AppendI32, func(b []byte, iv [2]uint32) []byte {
		return encoding.AppendU32(encoding.AppendU32(b, iv[0]), iv[1])
	})
	b = appendI32U32Map(b, inc.NewLost)
	b = append(b, emptyOr(inc.kept.newBlocklist)...)
	b = append(b, emptyOr(inc.kept.oldBlocklist)...)
	b = appendAddrVecMap(b, inc.NewUpCluster, features)
	b = encoding.AppendString(b, inc.ClusterSnapshot)
	b = encoding.AppendMap(b, inc.NewUUID, encoding.AppendI32, encoding.AppendUUID)
	b = append(b, emptyOr(inc.kept.newXInfo)...)
	b = appendAddrVecMap(b, inc.NewHBFrontUp, features)
	if v >= 2 {
		f := inc.kept.encodeFeatures
		if inc.kept.osdV == 0 {
			f = pacificIncFeatures
		}
		b = encoding.AppendU64(b, f)
	}
	if v >= 3 {
		b = encoding.AppendU32(b, math.Float32bits(inc.NewNearfullRatio))
		b = encoding.AppendU32(b, math.Float32bits(inc.NewFullRatio))
	}
	if v >= 4 {
		b = encoding.AppendU32(b, math.Float32bits(inc.NewBackfillfullRatio))
	}
	if v >= 6 {
		b = append(b, inc.NewRequireMinCompat, uint8(inc.NewRequireOSDRelease))
	}
	if inc.kept.osdV != 0 {
		b = append(b, inc.kept.osdTail...)
	} else {
		// new_crush_node_flags, new_device_class_flags: none.
		b = append(b, make([]byte, 8)...)
	}
	return encoding.StructEnd(b, s)
}

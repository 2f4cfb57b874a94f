package messages

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MOSDMap carries OSDMaps, full and incremental, each still encoded
// (src/messages/MOSDMap.h, v4 compat 3). The osdmap package decodes them.
type MOSDMap struct {
	FSID            encoding.UUID
	IncrementalMaps map[uint32][]byte        // epoch → OSDMap::Incremental
	Maps            map[uint32][]byte        // epoch → OSDMap
	OldestMap       uint32                   // v2: the oldest map the sender has
	NewestMap       uint32                   // v2: the newest
	GapRemovedSnaps map[int64][]SnapInterval // v4: pool → removed snaps in a gap
}

// SnapInterval is one [Start, Start+Len) run of an interval_set<snapid_t>.
type SnapInterval struct {
	Start, Len uint64
}

// Type implements message.Message.
func (*MOSDMap) Type() uint16 { return TypeOSDMap }

// Version implements message.Message.
func (*MOSDMap) Version() (uint16, uint16) { return 4, 3 }

// First returns the lowest epoch carried (full or incremental), or 0.
func (m *MOSDMap) First() uint32 {
	var e uint32
	for _, mp := range []map[uint32][]byte{m.Maps, m.IncrementalMaps} {
		for k := range mp {
			if e == 0 || k < e {
				e = k
			}
		}
	}
	return e
}

// Last returns the highest epoch carried, or 0.
func (m *MOSDMap) Last() uint32 {
	var e uint32
	for _, mp := range []map[uint32][]byte{m.Maps, m.IncrementalMaps} {
		for k := range mp {
			if k > e {
				e = k
			}
		}
	}
	return e
}

// Encode implements message.Message. The maps are sent as they are: a
// sender must have encoded them for the peer's features.
func (m *MOSDMap) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	b := encoding.AppendUUID(p.Front, m.FSID)
	b = appendEpochMap(b, m.IncrementalMaps)
	b = appendEpochMap(b, m.Maps)
	b = encoding.AppendU32(b, m.OldestMap)
	b = encoding.AppendU32(b, m.NewestMap)
	pools := make([]int64, 0, len(m.GapRemovedSnaps))
	for k := range m.GapRemovedSnaps {
		pools = append(pools, k)
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i] < pools[j] })
	b = encoding.AppendU32(b, uint32(len(pools)))
	for _, pool := range pools {
		b = encoding.AppendI64(b, pool)
		set := m.GapRemovedSnaps[pool]
		b = encoding.AppendU32(b, uint32(len(set)))
		for _, iv := range set {
			b = encoding.AppendU64(b, iv.Start)
			b = encoding.AppendU64(b, iv.Len)
		}
	}
	p.Front = b
	return nil
}

// Decode implements message.Message (v1 to v4).
func (m *MOSDMap) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.FSID = d.UUID()
	m.IncrementalMaps = decodeEpochMap(d)
	m.Maps = decodeEpochMap(d)
	m.OldestMap, m.NewestMap, m.GapRemovedSnaps = 0, 0, nil
	if h.Version >= 2 {
		m.OldestMap = d.U32()
		m.NewestMap = d.U32()
	}
	if h.Version >= 4 {
		n := d.Len(8 + 4)
		if n > 0 {
			m.GapRemovedSnaps = make(map[int64][]SnapInterval, n)
		}
		for i := 0; i < n && d.Err() == nil; i++ {
			pool := d.I64()
			k := d.Len(16)
			set := make([]SnapInterval, 0, k)
			for j := 0; j < k && d.Err() == nil; j++ {
				set = append(set, SnapInterval{Start: d.U64(), Len: d.U64()})
			}
			m.GapRemovedSnaps[pool] = set
		}
	}
	return finish("MOSDMap", d)
}

func (m *MOSDMap) String() string {
	return fmt.Sprintf("osd_map(%d..%d src has %d..%d)", m.First(), m.Last(), m.OldestMap, m.NewestMap)
}

func appendEpochMap(b []byte, mp map[uint32][]byte) []byte {
	keys := make([]uint32, 0, len(mp))
	for k := range mp {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	b = encoding.AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		b = encoding.AppendU32(b, k)
		b = encoding.AppendBytes(b, mp[k])
	}
	return b
}

func decodeEpochMap(d *encoding.Decoder) map[uint32][]byte {
	n := d.Len(8)
	if n > maxMapEntries {
		d.Failf("%d maps", n)
		return nil
	}
	mp := make(map[uint32][]byte, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		e := d.U32()
		mp[e] = bytes.Clone(d.Blob())
	}
	return mp
}

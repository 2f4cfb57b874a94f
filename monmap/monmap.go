// Package monmap decodes and encodes Ceph's MonMap (src/mon/MonMap.cc) as
// Pacific sends it in MMonMap: the cluster's fsid, epoch, and for each
// monitor its name, public addresses, priority, weight and CRUSH location.
package monmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/gomsgr/msgr/encoding"
)

// Encoding versions (MonMap::encode in Pacific: ENCODE_START(9, 6)).
const (
	Version       = 9
	CompatVersion = 6
	infoVersion   = 5
)

// ErrFeatures is returned by Append for peers whose features need one of
// the pre-Nautilus encodings, which this package does not write.
var ErrFeatures = errors.New("monmap: peer lacks MONENC/SERVER_NAUTILUS; legacy encodings are not written")

// Election strategies (ElectionLogic::election_strategy).
const (
	StrategyClassic      uint8 = 1
	StrategyDisallow     uint8 = 2
	StrategyConnectivity uint8 = 3
)

// MaxMons bounds the monitor count accepted from the wire.
const MaxMons = 4096

// MonInfo is mon_info_t.
type MonInfo struct {
	Name        string
	PublicAddrs encoding.EntityAddrVec
	Priority    uint16
	Weight      uint16
	CrushLoc    map[string]string // stretch mode location; usually empty
}

// MonMap is Ceph's MonMap. Mons is in name order (Ceph's std::map); Ranks
// gives the rank order.
type MonMap struct {
	FSID                  encoding.UUID
	Epoch                 uint32
	LastChanged           encoding.UTime
	Created               encoding.UTime
	PersistentFeatures    uint64 // mon_feature_t
	OptionalFeatures      uint64
	Mons                  []MonInfo
	Ranks                 []string
	MinMonRelease         uint8 // ceph_release_t: 16 = pacific
	RemovedRanks          []int32
	Strategy              uint8
	DisallowedLeaders     []string
	StretchModeEnabled    bool
	TiebreakerMon         string
	StretchMarkedDownMons []string

	// StructVersion is the version found by Decode (9 from Pacific).
	StructVersion uint8
}

// Mon returns the monitor called name.
func (m *MonMap) Mon(name string) (MonInfo, bool) {
	for _, mi := range m.Mons {
		if mi.Name == name {
			return mi, true
		}
	}
	return MonInfo{}, false
}

// Rank returns name's rank, or -1.
func (m *MonMap) Rank(name string) int {
	for i, n := range m.Ranks {
		if n == name {
			return i
		}
	}
	return -1
}

// AddrsByRank returns the public addresses of the monitor of rank r.
func (m *MonMap) AddrsByRank(r int) (encoding.EntityAddrVec, bool) {
	if r < 0 || r >= len(m.Ranks) {
		return nil, false
	}
	mi, ok := m.Mon(m.Ranks[r])
	return mi.PublicAddrs, ok
}

// Decode decodes a MonMap in any encoding Ceph has used (v1 to v9).
func Decode(b []byte) (*MonMap, error) {
	d := encoding.NewDecoder(b)
	m := DecodeFrom(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("monmap: %w", err)
	}
	return m, nil
}

// DecodeFrom decodes a MonMap from d (errors are left in d).
func DecodeFrom(d *encoding.Decoder) *MonMap {
	m := &MonMap{}
	// DECODE_START_LEGACY_COMPAT_LEN_16(9, 3, 3): v1 and v2 were a bare u16
	// version, v3 and later a versioned struct.
	v := d.U8()
	if d.Err() != nil {
		return m
	}
	m.StructVersion = v
	if v < 3 {
		d.Skip(1)
		m.decodeBody(d, v)
		return m
	}
	compat := d.U8()
	n := d.U32()
	if d.Err() != nil {
		return m
	}
	if compat > Version {
		d.Fail(&encoding.CompatError{Struct: "MonMap", CompatV: compat, Supported: Version})
		return m
	}
	if int64(n) > int64(d.Remaining()) {
		d.Fail(fmt.Errorf("%w: MonMap: struct length %d, %d bytes left", encoding.ErrTruncated, n, d.Remaining()))
		return m
	}
	body := d.Bytes(int(n))
	bd := encoding.NewDecoder(body)
	m.decodeBody(bd, v)
	if err := bd.Err(); err != nil {
		d.Fail(err)
	}
	return m
}

func (m *MonMap) decodeBody(d *encoding.Decoder, v uint8) {
	m.FSID = d.UUID()
	m.Epoch = d.U32()
	var legacy map[string]encoding.EntityAddr
	switch {
	case v == 1:
		n := d.Len(1 + 8 + 1)
		legacy = make(map[string]encoding.EntityAddr, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			d.EntityName() // entity_inst_t's name: mon.<rank>
			a := d.EntityAddr()
			// MonMap::decode names them "0", "1", ... by position.
			legacy[string(rune('0'+i))] = a
		}
	case v < 6:
		n := d.Len(4 + 1)
		legacy = make(map[string]encoding.EntityAddr, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			name := d.String()
			legacy[name] = d.EntityAddr()
		}
	}
	m.LastChanged = d.UTime()
	m.Created = d.UTime()
	if v >= 4 {
		m.PersistentFeatures = decodeMonFeature(d)
		m.OptionalFeatures = decodeMonFeature(d)
	}
	if v < 5 {
		for name, a := range legacy {
			m.Mons = append(m.Mons, MonInfo{Name: name, PublicAddrs: encoding.EntityAddrVec{a}})
		}
		sort.Slice(m.Mons, func(i, j int) bool { return m.Mons[i].Name < m.Mons[j].Name })
	} else {
		n := d.Len(4 + 6)
		if n > MaxMons {
			d.Failf("MonMap: %d monitors", n)
			return
		}
		for i := 0; i < n && d.Err() == nil; i++ {
			key := d.String()
			mi := decodeMonInfo(d)
			if d.Err() == nil && mi.Name != key {
				// Ceph keys the map by the mon's name; keep the key.
				mi.Name = key
			}
			m.Mons = append(m.Mons, mi)
		}
	}
	if v < 6 {
		m.Ranks = legacyRanks(m.Mons)
	} else {
		m.Ranks = d.StringSlice()
	}
	if v >= 7 {
		m.MinMonRelease = d.U8()
	}
	if v >= 8 {
		n := d.Len(4)
		for i := 0; i < n && d.Err() == nil; i++ {
			m.RemovedRanks = append(m.RemovedRanks, d.I32())
		}
		m.Strategy = d.U8()
		m.DisallowedLeaders = d.StringSlice()
	}
	if v >= 9 {
		m.StretchModeEnabled = d.Bool()
		m.TiebreakerMon = d.String()
		m.StretchMarkedDownMons = d.StringSlice()
	}
}

func decodeMonFeature(d *encoding.Decoder) uint64 {
	s := d.StructStart("mon_feature_t", 1)
	f := d.U64()
	d.StructEnd(s)
	return f
}

func decodeMonInfo(d *encoding.Decoder) MonInfo {
	var mi MonInfo
	s := d.StructStart("mon_info_t", infoVersion)
	mi.Name = d.String()
	mi.PublicAddrs = d.EntityAddrVec()
	if s.V >= 2 {
		mi.Priority = d.U16()
	}
	if s.V >= 4 {
		mi.Weight = d.U16()
	}
	if s.V >= 5 {
		n := d.Len(8)
		if n > 0 {
			mi.CrushLoc = make(map[string]string, n)
		}
		for i := 0; i < n && d.Err() == nil; i++ {
			k := d.String()
			mi.CrushLoc[k] = d.String()
		}
	}
	d.StructEnd(s)
	return mi
}

// legacyRanks is MonMap::calc_legacy_ranks: ranks ordered by each mon's
// legacy (or first) address, compared as Ceph compares entity_addr_t
// (memcmp of the struct), then by name.
func legacyRanks(mons []MonInfo) []string {
	type kv struct {
		key  []byte
		name string
	}
	s := make([]kv, len(mons))
	for i, mi := range mons {
		a := mi.PublicAddrs.Legacy()
		if a.IsBlank() && a.Type == 0 && len(mi.PublicAddrs) > 0 {
			a = mi.PublicAddrs[0]
		}
		s[i] = kv{addrKey(a), mi.Name}
	}
	sort.SliceStable(s, func(i, j int) bool {
		if c := bytes.Compare(s[i].key, s[j].key); c != 0 {
			return c < 0
		}
		return s[i].name < s[j].name
	})
	ranks := make([]string, len(s))
	for i := range s {
		ranks[i] = s[i].name
	}
	return ranks
}

// addrKey lays out entity_addr_t's memory (type, nonce, sockaddr) for
// comparison.
func addrKey(a encoding.EntityAddr) []byte {
	k := binary.LittleEndian.AppendUint32(nil, uint32(a.Type))
	k = binary.LittleEndian.AppendUint32(k, a.Nonce)
	if !a.Addr.IsValid() {
		return append(k, make([]byte, 28)...)
	}
	ip := a.Addr.Addr()
	if ip.Is4() {
		k = binary.LittleEndian.AppendUint16(k, 2)
		k = binary.BigEndian.AppendUint16(k, a.Addr.Port())
		b4 := ip.As4()
		return append(k, b4[:]...)
	}
	k = binary.LittleEndian.AppendUint16(k, 10)
	k = binary.BigEndian.AppendUint16(k, a.Addr.Port())
	k = binary.BigEndian.AppendUint32(k, a.FlowInfo)
	b16 := ip.As16()
	return append(k, b16[:]...)
}

// Append appends m encoded as Pacific encodes it for a peer with features
// (v9; mon_info_t v5). Peers without MONENC and SERVER_NAUTILUS get
// ErrFeatures.
func (m *MonMap) Append(b []byte, features uint64) ([]byte, error) {
	if !encoding.HasFeatures(features, encoding.FeatureMonEnc|encoding.FeatureServerNautilus) {
		return b, ErrFeatures
	}
	b, start := encoding.StructStart(b, Version, CompatVersion)
	b = encoding.AppendUUID(b, m.FSID)
	b = encoding.AppendU32(b, m.Epoch)
	b = encoding.AppendUTime(b, m.LastChanged)
	b = encoding.AppendUTime(b, m.Created)
	b = appendMonFeature(b, m.PersistentFeatures)
	b = appendMonFeature(b, m.OptionalFeatures)
	mons := append([]MonInfo(nil), m.Mons...)
	sort.SliceStable(mons, func(i, j int) bool { return mons[i].Name < mons[j].Name })
	b = encoding.AppendU32(b, uint32(len(mons)))
	for _, mi := range mons {
		b = encoding.AppendString(b, mi.Name)
		b = appendMonInfo(b, mi, features)
	}
	b = encoding.AppendStringSlice(b, m.Ranks)
	b = encoding.AppendU8(b, m.MinMonRelease)
	b = encoding.AppendU32(b, uint32(len(m.RemovedRanks)))
	for _, r := range sortedInt32s(m.RemovedRanks) {
		b = encoding.AppendI32(b, r)
	}
	b = encoding.AppendU8(b, m.Strategy)
	b = encoding.AppendStringSlice(b, sortedStrings(m.DisallowedLeaders))
	b = encoding.AppendBool(b, m.StretchModeEnabled)
	b = encoding.AppendString(b, m.TiebreakerMon)
	b = encoding.AppendStringSlice(b, sortedStrings(m.StretchMarkedDownMons))
	return encoding.StructEnd(b, start), nil
}

func appendMonFeature(b []byte, f uint64) []byte {
	b, start := encoding.StructStart(b, 1, 1)
	b = encoding.AppendU64(b, f)
	return encoding.StructEnd(b, start)
}

func appendMonInfo(b []byte, mi MonInfo, features uint64) []byte {
	compat := uint8(1)
	if len(mi.CrushLoc) > 0 {
		compat = 5 // crush_loc arrived in v5; older decoders must not drop it
	}
	b, start := encoding.StructStart(b, infoVersion, compat)
	b = encoding.AppendString(b, mi.Name)
	b = encoding.AppendEntityAddrVec(b, mi.PublicAddrs, features)
	b = encoding.AppendU16(b, mi.Priority)
	b = encoding.AppendU16(b, mi.Weight)
	keys := make([]string, 0, len(mi.CrushLoc))
	for k := range mi.CrushLoc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = encoding.AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		b = encoding.AppendString(b, k)
		b = encoding.AppendString(b, mi.CrushLoc[k])
	}
	return encoding.StructEnd(b, start)
}

// std::set encodings are sorted.
func sortedStrings(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func sortedInt32s(s []int32) []int32 {
	c := append([]int32(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c
}

// String formats m as Ceph's print_summary does: "e1: 1 mons at {a=[...]}".
func (m *MonMap) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "e%d: %d mons at {", m.Epoch, len(m.Mons))
	for i, mi := range m.Mons {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%s", mi.Name, mi.PublicAddrs)
	}
	b.WriteByte('}')
	return b.String()
}

// Package osdmap decodes Ceph OSDMaps (full and incremental, as Pacific
// encodes them) and computes object placement exactly as Ceph does:
// object -> PG -> CRUSH -> up set -> acting set and primary.
package osdmap

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/gomsgr/msgr/crush"
	"github.com/gomsgr/msgr/encoding"
)

// OSD state bits (CEPH_OSD_*).
const (
	StateExists  = 1 << 0
	StateUp      = 1 << 1
	StateAutoout = 1 << 2
	StateNew     = 1 << 3
)

// Weights and affinities are 16.16 fixed point.
const (
	WeightIn  = 0x10000
	WeightOut = 0

	DefaultPrimaryAffinity = 0x10000
	MaxPrimaryAffinity     = 0x10000
)

// ErrBadCRC reports a map whose embedded crc32c does not match its bytes.
var ErrBadCRC = errors.New("osdmap: bad crc")

// PG identifies a placement group (pg_t).
type PG struct {
	Pool int64
	Seed uint32
}

// String formats pg as Ceph does: pool, '.', seed in hex ("1.1f").
func (pg PG) String() string {
	return strconv.FormatInt(pg.Pool, 10) + "." + strconv.FormatUint(uint64(pg.Seed), 16)
}

// ParsePG parses the String form.
func ParsePG(s string) (PG, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			pool, err1 := strconv.ParseInt(s[:i], 10, 64)
			seed, err2 := strconv.ParseUint(s[i+1:], 16, 32)
			if err1 != nil || err2 != nil || pool < 0 {
				break
			}
			return PG{Pool: pool, Seed: uint32(seed)}, nil
		}
	}
	return PG{}, fmt.Errorf("osdmap: bad pg id %q", s)
}

// OSDInfo is osd_info_t.
type OSDInfo struct {
	LastCleanBegin, LastCleanEnd uint32
	UpFrom, UpThru, DownAt       uint32
	LostAt                       uint32
}

// OSDMap is a decoded OSDMap. Treat it as read-only once built (Apply
// mutates it); concurrent placement calls on an unchanging map are safe.
type OSDMap struct {
	FSID        encoding.UUID
	Epoch       uint32
	Created     encoding.UTime
	Modified    encoding.UTime
	Pools       map[int64]*Pool
	PoolMax     int32
	Flags       uint32
	MaxOSD      int32
	OSDState    []uint32
	OSDWeight   []uint32
	OSDAddrs    []encoding.EntityAddrVec // public (client-facing) addresses
	PGTemp      map[PG][]int32
	PrimaryTemp map[PG]int32
	// PrimaryAffinity is nil when every OSD has the default affinity.
	PrimaryAffinity     []uint32
	Crush               *crush.Map
	ErasureCodeProfiles map[string]map[string]string
	PGUpmap             map[PG][]int32
	PGUpmapItems        map[PG][][2]int32
	PGUpmapPrimaries    map[PG]int32
	CrushVersion        int32
	LastUpChange        encoding.UTime
	LastInChange        encoding.UTime

	// OSD-only section.
	HBBackAddrs            []encoding.EntityAddrVec
	HBFrontAddrs           []encoding.EntityAddrVec
	ClusterAddrs           []encoding.EntityAddrVec
	OSDInfo                []OSDInfo
	OSDUUID                []encoding.UUID
	ClusterSnapshot        string
	NearfullRatio          float32
	FullRatio              float32
	BackfillfullRatio      float32
	RequireMinCompatClient uint8
	RequireOSDRelease      uint8

	// CRC is the map's crc32c as encoded (verified on decode when present).
	CRC uint32

	kept mapKept
}

// mapKept holds what an OSDMap carries that this package does not model,
// as decoded, so that Append re-encodes a decoded map byte for byte.
type mapKept struct {
	clientV, osdV                   uint8  // struct versions decoded (0: Pacific's)
	newRemovedSnaps, newPurgedSnaps []byte // map<int64, interval_set<snapid_t>>
	clientTail                      []byte // client fields newer than this decoder
	blocklist                       []byte // map<entity_addr_t, utime_t>
	clusterSnapshotEpoch            uint32
	xinfo                           [][]byte // osd_xinfo_t per OSD
	osdTail                         []byte   // removed_snaps_queue and later
}

func decodePG(d *encoding.Decoder) PG {
	d.U8() // version
	pool := d.U64()
	seed := d.U32()
	d.I32() // preferred (always -1)
	return PG{Pool: int64(pool), Seed: seed}
}

const pgSize = 17

func decodeI32Vec(d *encoding.Decoder) []int32 {
	n := d.Len(4)
	v := make([]int32, n)
	for i := range v {
		v[i] = d.I32()
	}
	return v
}

func decodeU32Vec(d *encoding.Decoder) []uint32 {
	n := d.Len(4)
	v := make([]uint32, n)
	for i := range v {
		v[i] = d.U32()
	}
	return v
}

func decodePGVecMap(d *encoding.Decoder) map[PG][]int32 {
	n := d.Len(pgSize + 4)
	m := make(map[PG][]int32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		pg := decodePG(d)
		m[pg] = decodeI32Vec(d)
	}
	return m
}

func decodePGI32Map(d *encoding.Decoder) map[PG]int32 {
	n := d.Len(pgSize + 4)
	m := make(map[PG]int32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		pg := decodePG(d)
		m[pg] = d.I32()
	}
	return m
}

func decodePGPairsMap(d *encoding.Decoder) map[PG][][2]int32 {
	n := d.Len(pgSize + 4)
	m := make(map[PG][][2]int32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		pg := decodePG(d)
		k := d.Len(8)
		v := make([][2]int32, k)
		for j := range v {
			v[j] = [2]int32{d.I32(), d.I32()}
		}
		m[pg] = v
	}
	return m
}

func decodePGSet(d *encoding.Decoder) []PG {
	n := d.Len(pgSize)
	v := make([]PG, n)
	for i := range v {
		v[i] = decodePG(d)
	}
	return v
}

func decodeAddrVecs(d *encoding.Decoder) []encoding.EntityAddrVec {
	n := d.Len(1)
	v := make([]encoding.EntityAddrVec, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		// Empty vectors decode as nil so that decoded and applied maps
		// compare equal.
		if a := d.EntityAddrVec(); len(a) > 0 {
			v[i] = a
		}
	}
	return v
}

// skipSnapsMap skips a map<int64, interval_set<snapid_t>>.
func skipSnapsMap(d *encoding.Decoder) {
	n := d.Len(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.I64()
		skipIntervalSet(d)
	}
}

func decodePools(d *encoding.Decoder) (map[int64]*Pool, error) {
	n := d.Len(8 + 6)
	pools := make(map[int64]*Pool, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.I64()
		p, err := decodePool(d, id)
		if err != nil {
			return nil, err
		}
		pools[id] = p
	}
	return pools, d.Err()
}

func decodePoolNames(d *encoding.Decoder) map[int64]string {
	n := d.Len(12)
	m := make(map[int64]string, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.I64()
		m[id] = d.String()
	}
	return m
}

// Decode parses a full OSDMap (OSDMap::encode with the Luminous+ layout).
func Decode(b []byte) (*OSDMap, error) {
	m := &OSDMap{}
	if err := m.decode(b); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *OSDMap) decode(b []byte) error {
	d := encoding.NewDecoder(b)
	wrap := d.StructStart("OSDMap", 8)
	if err := d.Err(); err != nil {
		return fmt.Errorf("osdmap: %w", err)
	}
	if wrap.V < 7 {
		return fmt.Errorf("osdmap: %w: classic encoding v%d is not supported", encoding.ErrMalformed, wrap.V)
	}
	if err := m.decodeClient(d); err != nil {
		return fmt.Errorf("osdmap: %w", err)
	}
	if err := m.decodeOSDOnly(d); err != nil {
		return fmt.Errorf("osdmap: %w", err)
	}
	if wrap.V >= 8 {
		crcOff := d.Offset()
		m.CRC = d.U32()
		tailOff := d.Offset()
		d.StructEnd(wrap)
		if err := d.Err(); err != nil {
			return fmt.Errorf("osdmap: %w", err)
		}
		// The crc covers everything before it and anything after it
		// inside the wrapper.
		actual := encoding.CRC32C(0xffffffff, b[:crcOff])
		actual = encoding.CRC32C(actual, b[tailOff:d.Offset()])
		if actual != m.CRC {
			return fmt.Errorf("%w: actual %#x, expected %#x", ErrBadCRC, actual, m.CRC)
		}
	} else {
		d.StructEnd(wrap)
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("osdmap: %w", err)
	}
	return m.check()
}

func (m *OSDMap) decodeClient(d *encoding.Decoder) error {
	s := d.StructStart("OSDMap client data", 10)
	m.kept.clientV = s.V
	m.FSID = d.UUID()
	m.Epoch = d.U32()
	m.Created = d.UTime()
	m.Modified = d.UTime()
	pools, err := decodePools(d)
	if err != nil {
		return err
	}
	m.Pools = pools
	for id, name := range decodePoolNames(d) {
		if p := m.Pools[id]; p != nil {
			p.Name = name
		}
	}
	m.PoolMax = d.I32()
	m.Flags = d.U32()
	m.MaxOSD = d.I32()
	if s.V >= 5 {
		m.OSDState = decodeU32Vec(d)
	} else {
		n := d.Len(1)
		m.OSDState = make([]uint32, n)
		for i := range m.OSDState {
			m.OSDState[i] = uint32(d.U8())
		}
	}
	m.OSDWeight = decodeU32Vec(d)
	m.OSDAddrs = decodeAddrVecs(d)
	m.PGTemp = decodePGVecMap(d)
	m.PrimaryTemp = decodePGI32Map(d)
	if s.V >= 2 {
		m.PrimaryAffinity = decodeU32Vec(d)
		if len(m.PrimaryAffinity) == 0 {
			m.PrimaryAffinity = nil
		}
	}
	cbl := d.Blob()
	if err := d.Err(); err != nil {
		return err
	}
	cm, err := crush.Decode(cbl)
	if err != nil {
		return err
	}
	m.Crush = cm
	if s.V >= 3 {
		m.ErasureCodeProfiles = decodeStringMapMap(d)
	}
	if s.V >= 4 {
		m.PGUpmap = decodePGVecMap(d)
		m.PGUpmapItems = decodePGPairsMap(d)
	}
	if s.V >= 6 {
		m.CrushVersion = d.I32()
	}
	if s.V >= 7 {
		off := d.Offset()
		skipSnapsMap(d)
		m.kept.newRemovedSnaps = d.Since(off)
		off = d.Offset()
		skipSnapsMap(d)
		m.kept.newPurgedSnaps = d.Since(off)
	}
	if s.V >= 9 {
		m.LastUpChange = d.UTime()
		m.LastInChange = d.UTime()
	}
	if s.V >= 10 {
		m.PGUpmapPrimaries = decodePGI32Map(d)
	}
	off := d.Offset()
	d.Skip(d.Remaining())
	m.kept.clientTail = d.Since(off)
	d.StructEnd(s)
	return d.Err()
}

func (m *OSDMap) decodeOSDOnly(d *encoding.Decoder) error {
	s := d.StructStart("OSDMap osd-only data", 12)
	m.kept.osdV = s.V
	m.HBBackAddrs = decodeAddrVecs(d)
	n := d.Len(25)
	m.OSDInfo = make([]OSDInfo, n)
	for i := range m.OSDInfo {
		d.U8() // struct_v
		m.OSDInfo[i] = OSDInfo{LastCleanBegin: d.U32(), LastCleanEnd: d.U32(), UpFrom: d.U32(),
			UpThru: d.U32(), DownAt: d.U32(), LostAt: d.U32()}
	}
	// blocklist: map<entity_addr_t, utime_t>
	off := d.Offset()
	nb := d.Len(8 + 8)
	for i := 0; i < nb && d.Err() == nil; i++ {
		d.EntityAddr()
		d.UTime()
	}
	m.kept.blocklist = d.Since(off)
	m.ClusterAddrs = decodeAddrVecs(d)
	m.kept.clusterSnapshotEpoch = d.U32()
	m.ClusterSnapshot = d.String()
	nu := d.Len(16)
	m.OSDUUID = make([]encoding.UUID, nu)
	for i := range m.OSDUUID {
		m.OSDUUID[i] = d.UUID()
	}
	nx := d.Len(6)
	m.kept.xinfo = make([][]byte, 0, nx)
	for i := 0; i < nx && d.Err() == nil; i++ {
		off := d.Offset()
		skipStruct(d, "osd_xinfo_t")
		m.kept.xinfo = append(m.kept.xinfo, d.Since(off))
	}
	m.HBFrontAddrs = decodeAddrVecs(d)
	if s.V >= 2 {
		m.NearfullRatio = f32(d)
		m.FullRatio = f32(d)
	}
	if s.V >= 3 {
		m.BackfillfullRatio = f32(d)
	}
	if s.V >= 5 {
		m.RequireMinCompatClient = d.U8()
		m.RequireOSDRelease = d.U8()
	}
	off = d.Offset()
	d.Skip(d.Remaining())
	m.kept.osdTail = d.Since(off)
	d.StructEnd(s)
	return d.Err()
}

// check validates cross-field invariants that placement relies on.
func (m *OSDMap) check() error {
	if m.MaxOSD < 0 {
		return fmt.Errorf("osdmap: %w: max_osd %d", encoding.ErrMalformed, m.MaxOSD)
	}
	n := int(m.MaxOSD)
	if len(m.OSDState) != n || len(m.OSDWeight) != n || len(m.OSDAddrs) != n {
		return fmt.Errorf("osdmap: %w: max_osd %d but %d states, %d weights, %d addrs",
			encoding.ErrMalformed, n, len(m.OSDState), len(m.OSDWeight), len(m.OSDAddrs))
	}
	if m.PrimaryAffinity != nil && len(m.PrimaryAffinity) != n {
		return fmt.Errorf("osdmap: %w: %d primary affinities for max_osd %d", encoding.ErrMalformed, len(m.PrimaryAffinity), n)
	}
	return nil
}

func f32(d *encoding.Decoder) float32 { return math.Float32frombits(d.U32()) }

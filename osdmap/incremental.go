package osdmap

import (
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/crush"
	"github.com/gomsgr/msgr/encoding"
)

// ErrIncrementalMismatch reports an incremental that does not follow the
// map it is applied to (wrong fsid or epoch).
var ErrIncrementalMismatch = errors.New("osdmap: incremental does not apply to this map")

// Incremental is OSDMap::Incremental: the changes from epoch-1 to Epoch.
type Incremental struct {
	FSID       encoding.UUID
	Epoch      uint32
	Modified   encoding.UTime
	NewPoolMax int64
	NewFlags   int32
	FullMap    []byte // a whole map replacing the current one, if set
	Crush      []byte // a new encoded CRUSH map, if set
	NewMaxOSD  int32

	NewPools            map[int64]*Pool
	NewPoolNames        map[int64]string
	OldPools            []int64
	NewUpClient         map[int32]encoding.EntityAddrVec
	NewState            map[int32]uint32 // bits to xor into the state
	NewWeight           map[int32]uint32
	NewPGTemp           map[PG][]int32
	NewPrimaryTemp      map[PG]int32
	NewPrimaryAffinity  map[int32]uint32
	NewECProfiles       map[string]map[string]string
	OldECProfiles       []string
	NewPGUpmap          map[PG][]int32
	OldPGUpmap          []PG
	NewPGUpmapItems     map[PG][][2]int32
	OldPGUpmapItems     []PG
	NewLastUpChange     encoding.UTime
	NewLastInChange     encoding.UTime
	NewPGUpmapPrimaries map[PG]int32
	OldPGUpmapPrimaries []PG

	// OSD-only section.
	NewHBBackUp          map[int32]encoding.EntityAddrVec
	NewUpThru            map[int32]uint32
	NewLastCleanInterval map[int32][2]uint32
	NewLost              map[int32]uint32
	NewUpCluster         map[int32]encoding.EntityAddrVec
	NewUUID              map[int32]encoding.UUID
	NewHBFrontUp         map[int32]encoding.EntityAddrVec
	ClusterSnapshot      string
	NewNearfullRatio     float32
	NewFullRatio         float32
	NewBackfillfullRatio float32
	NewRequireMinCompat  uint8
	NewRequireOSDRelease int8

	// FullCRC is the crc of the full map this incremental makes.
	FullCRC uint32

	kept incKept
}

// incKept holds what an Incremental carries that this package does not
// model, as decoded, so that Append re-encodes a decoded one byte for byte.
type incKept struct {
	clientV, osdV                   uint8  // struct versions (0: Pacific's)
	newRemovedSnaps, newPurgedSnaps []byte // map<int64, interval_set<snapid_t>>
	clientTail                      []byte
	newBlocklist, oldBlocklist      []byte
	newXInfo                        []byte // map<int32, osd_xinfo_t>
	encodeFeatures                  uint64
	osdTail                         []byte // new_crush_node_flags and later
}

func decodeAddrVecMap(d *encoding.Decoder) map[int32]encoding.EntityAddrVec {
	n := d.Len(5)
	m := make(map[int32]encoding.EntityAddrVec, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.I32()
		if v := d.EntityAddrVec(); len(v) > 0 {
			m[k] = v
		} else {
			m[k] = nil
		}
	}
	return m
}

func decodeI32U32Map(d *encoding.Decoder) map[int32]uint32 {
	n := d.Len(8)
	m := make(map[int32]uint32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.I32()
		m[k] = d.U32()
	}
	return m
}

// NewIncremental is an incremental that changes nothing: the "no
// change" values Ceph's Incremental constructor sets.
func NewIncremental() *Incremental {
	return &Incremental{NewPoolMax: -1, NewFlags: -1, NewMaxOSD: -1, NewNearfullRatio: -1, NewFullRatio: -1,
		NewBackfillfullRatio: -1, NewRequireMinCompat: 0xff, NewRequireOSDRelease: -1}
}

// DecodeIncremental parses an encoded OSDMap::Incremental.
func DecodeIncremental(b []byte) (*Incremental, error) {
	d := encoding.NewDecoder(b)
	wrap := d.StructStart("OSDMap::Incremental", 8)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("osdmap incremental: %w", err)
	}
	if wrap.V < 7 {
		return nil, fmt.Errorf("osdmap incremental: %w: classic encoding v%d is not supported", encoding.ErrMalformed, wrap.V)
	}
	inc := NewIncremental()
	if err := inc.decodeClient(d); err != nil {
		return nil, fmt.Errorf("osdmap incremental: %w", err)
	}
	if err := inc.decodeOSDOnly(d); err != nil {
		return nil, fmt.Errorf("osdmap incremental: %w", err)
	}
	if wrap.V >= 8 {
		crcOff := d.Offset()
		incCRC := d.U32()
		tailOff := d.Offset()
		inc.FullCRC = d.U32()
		d.StructEnd(wrap)
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("osdmap incremental: %w", err)
		}
		actual := encoding.CRC32C(0xffffffff, b[:crcOff])
		actual = encoding.CRC32C(actual, b[tailOff:d.Offset()])
		if actual != incCRC {
			return nil, fmt.Errorf("%w: incremental actual %#x, expected %#x", ErrBadCRC, actual, incCRC)
		}
	} else {
		d.StructEnd(wrap)
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("osdmap incremental: %w", err)
	}
	return inc, nil
}

func (inc *Incremental) decodeClient(d *encoding.Decoder) error {
	s := d.StructStart("Incremental client data", 9)
	inc.kept.clientV = s.V
	inc.FSID = d.UUID()
	inc.Epoch = d.U32()
	inc.Modified = d.UTime()
	inc.NewPoolMax = d.I64()
	inc.NewFlags = d.I32()
	if fm := d.Blob(); len(fm) > 0 {
		inc.FullMap = append([]byte(nil), fm...)
	}
	if cm := d.Blob(); len(cm) > 0 {
		inc.Crush = append([]byte(nil), cm...)
	}
	inc.NewMaxOSD = d.I32()
	pools, err := decodePools(d)
	if err != nil {
		return err
	}
	inc.NewPools = pools
	inc.NewPoolNames = decodePoolNames(d)
	n := d.Len(8)
	for i := 0; i < n && d.Err() == nil; i++ {
		inc.OldPools = append(inc.OldPools, d.I64())
	}
	inc.NewUpClient = decodeAddrVecMap(d)
	if s.V >= 5 {
		inc.NewState = decodeI32U32Map(d)
	} else {
		n := d.Len(5)
		inc.NewState = make(map[int32]uint32, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			k := d.I32()
			inc.NewState[k] = uint32(d.U8())
		}
	}
	inc.NewWeight = decodeI32U32Map(d)
	inc.NewPGTemp = decodePGVecMap(d)
	inc.NewPrimaryTemp = decodePGI32Map(d)
	if s.V >= 2 {
		inc.NewPrimaryAffinity = decodeI32U32Map(d)
	}
	if s.V >= 3 {
		inc.NewECProfiles = decodeStringMapMap(d)
		inc.OldECProfiles = d.StringSlice()
	}
	if s.V >= 4 {
		inc.NewPGUpmap = decodePGVecMap(d)
		inc.OldPGUpmap = decodePGSet(d)
		inc.NewPGUpmapItems = decodePGPairsMap(d)
		inc.OldPGUpmapItems = decodePGSet(d)
	}
	if s.V >= 6 {
		off := d.Offset()
		skipSnapsMap(d)
		inc.kept.newRemovedSnaps = d.Since(off)
		off = d.Offset()
		skipSnapsMap(d)
		inc.kept.newPurgedSnaps = d.Since(off)
	}
	if s.V >= 8 {
		inc.NewLastUpChange = d.UTime()
		inc.NewLastInChange = d.UTime()
	}
	if s.V >= 9 {
		inc.NewPGUpmapPrimaries = decodePGI32Map(d)
		inc.OldPGUpmapPrimaries = decodePGSet(d)
	}
	off := d.Offset()
	d.Skip(d.Remaining())
	inc.kept.clientTail = d.Since(off)
	d.StructEnd(s)
	return d.Err()
}

func (inc *Incremental) decodeOSDOnly(d *encoding.Decoder) error {
	s := d.StructStart("Incremental osd-only data", 12)
	inc.kept.osdV = s.V
	inc.NewHBBackUp = decodeAddrVecMap(d)
	inc.NewUpThru = decodeI32U32Map(d)
	n := d.Len(12)
	inc.NewLastCleanInterval = make(map[int32][2]uint32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.I32()
		inc.NewLastCleanInterval[k] = [2]uint32{d.U32(), d.U32()}
	}
	inc.NewLost = decodeI32U32Map(d)
	off := d.Offset()
	nb := d.Len(8 + 8)
	for i := 0; i < nb && d.Err() == nil; i++ { // new_blocklist
		d.EntityAddr()
		d.UTime()
	}
	inc.kept.newBlocklist = d.Since(off)
	off = d.Offset()
	nb = d.Len(8)
	for i := 0; i < nb && d.Err() == nil; i++ { // old_blocklist
		d.EntityAddr()
	}
	inc.kept.oldBlocklist = d.Since(off)
	inc.NewUpCluster = decodeAddrVecMap(d)
	inc.ClusterSnapshot = d.String()
	nu := d.Len(20)
	inc.NewUUID = make(map[int32]encoding.UUID, nu)
	for i := 0; i < nu && d.Err() == nil; i++ {
		k := d.I32()
		inc.NewUUID[k] = d.UUID()
	}
	off = d.Offset()
	nx := d.Len(10)
	for i := 0; i < nx && d.Err() == nil; i++ { // new_xinfo
		d.I32()
		skipStruct(d, "osd_xinfo_t")
	}
	inc.kept.newXInfo = d.Since(off)
	inc.NewHBFrontUp = decodeAddrVecMap(d)
	if s.V >= 2 {
		inc.kept.encodeFeatures = d.U64()
	}
	if s.V >= 3 {
		inc.NewNearfullRatio = f32(d)
		inc.NewFullRatio = f32(d)
	}
	if s.V >= 4 {
		inc.NewBackfillfullRatio = f32(d)
	}
	if s.V >= 6 {
		inc.NewRequireMinCompat = d.U8()
		inc.NewRequireOSDRelease = int8(d.U8())
	}
	off = d.Offset()
	d.Skip(d.Remaining())
	inc.kept.osdTail = d.Since(off)
	d.StructEnd(s)
	return d.Err()
}

// MaxOSDLimit bounds the max_osd an incremental may set, so that a hostile
// one cannot make Apply allocate without bound (Ceph's mon_max_osd defaults
// to 10000).
const MaxOSDLimit = 1 << 20

// setMaxOSD is OSDMap::set_max_osd: grow or shrink every per-OSD vector.
func (m *OSDMap) setMaxOSD(n int32) {
	grow := func(v []uint32, def uint32) []uint32 {
		if len(v) < int(n) {
			old := len(v)
			v = append(v, make([]uint32, int(n)-old)...)
			for i := old; i < int(n); i++ {
				v[i] = def
			}
		}
		return v[:n]
	}
	m.OSDState = grow(m.OSDState, 0)
	m.OSDWeight = grow(m.OSDWeight, WeightOut)
	if m.PrimaryAffinity != nil {
		m.PrimaryAffinity = grow(m.PrimaryAffinity, DefaultPrimaryAffinity)
	}
	growA := func(v []encoding.EntityAddrVec) []encoding.EntityAddrVec {
		if len(v) < int(n) {
			v = append(v, make([]encoding.EntityAddrVec, int(n)-len(v))...)
		}
		return v[:n]
	}
	m.OSDAddrs = growA(m.OSDAddrs)
	m.ClusterAddrs = growA(m.ClusterAddrs)
	m.HBBackAddrs = growA(m.HBBackAddrs)
	m.HBFrontAddrs = growA(m.HBFrontAddrs)
	if len(m.OSDInfo) < int(n) {
		m.OSDInfo = append(m.OSDInfo, make([]OSDInfo, int(n)-len(m.OSDInfo))...)
	}
	m.OSDInfo = m.OSDInfo[:n]
	if len(m.OSDUUID) < int(n) {
		m.OSDUUID = append(m.OSDUUID, make([]encoding.UUID, int(n)-len(m.OSDUUID))...)
	}
	m.OSDUUID = m.OSDUUID[:n]
	m.MaxOSD = n
}

func (m *OSDMap) validOSD(o int32) error {
	if o < 0 || o >= m.MaxOSD {
		return fmt.Errorf("%w: osd.%d outside max_osd %d", encoding.ErrMalformed, o, m.MaxOSD)
	}
	return nil
}

func (m *OSDMap) setPrimaryAffinity(o int32, a uint32) {
	if m.PrimaryAffinity == nil {
		m.PrimaryAffinity = make([]uint32, m.MaxOSD)
		for i := range m.PrimaryAffinity {
			m.PrimaryAffinity[i] = DefaultPrimaryAffinity
		}
	}
	m.PrimaryAffinity[o] = a
}

// Apply applies inc to m (OSDMap::apply_incremental). On error m may be
// partly updated; callers should discard it and refetch a full map.
func (m *OSDMap) Apply(inc *Incremental) error {
	if inc.Epoch == 1 {
		m.FSID = inc.FSID
	} else if inc.FSID != m.FSID {
		return fmt.Errorf("%w: fsid %s, map has %s", ErrIncrementalMismatch, inc.FSID, m.FSID)
	}
	if inc.Epoch != m.Epoch+1 {
		return fmt.Errorf("%w: epoch %d onto %d", ErrIncrementalMismatch, inc.Epoch, m.Epoch)
	}
	if len(inc.FullMap) > 0 {
		nm, err := Decode(inc.FullMap)
		if err != nil {
			return err
		}
		*m = *nm
		return nil
	}
	// Validate every OSD id first so that a bad incremental leaves m as is.
	newMax := m.MaxOSD
	if inc.NewMaxOSD >= 0 {
		if inc.NewMaxOSD > MaxOSDLimit {
			return fmt.Errorf("%w: max_osd %d above %d", encoding.ErrTooLarge, inc.NewMaxOSD, MaxOSDLimit)
		}
		newMax = inc.NewMaxOSD
	}
	var newCrush *crush.Map
	if len(inc.Crush) > 0 {
		c, err := crush.Decode(inc.Crush)
		if err != nil {
			return err
		}
		newCrush = c
	}
	for _, ids := range [][]int32{keys(inc.NewWeight), keys(inc.NewPrimaryAffinity), keys(inc.NewState),
		keys(inc.NewUpClient), keys(inc.NewUpCluster), keys(inc.NewHBBackUp), keys(inc.NewHBFrontUp),
		keys(inc.NewUpThru), keys(inc.NewLastCleanInterval), keys(inc.NewLost), keys(inc.NewUUID)} {
		for _, o := range ids {
			if o < 0 || o >= newMax {
				return fmt.Errorf("%w: osd.%d outside max_osd %d", encoding.ErrMalformed, o, newMax)
			}
		}
	}

	m.Epoch++
	m.Modified = inc.Modified
	if inc.NewFlags >= 0 {
		m.Flags = uint32(inc.NewFlags)
	}
	if inc.NewMaxOSD >= 0 {
		m.setMaxOSD(inc.NewMaxOSD)
	}
	if inc.NewPoolMax != -1 {
		m.PoolMax = int32(inc.NewPoolMax)
	}
	if m.Pools == nil {
		m.Pools = map[int64]*Pool{}
	}
	for id, p := range inc.NewPools {
		np := *p
		if old := m.Pools[id]; old != nil {
			np.Name = old.Name
		}
		np.LastChange = m.Epoch
		np.calcMasks()
		m.Pools[id] = &np
	}
	for id, name := range inc.NewPoolNames {
		if p := m.Pools[id]; p != nil {
			p.Name = name
		}
	}
	for _, id := range inc.OldPools {
		delete(m.Pools, id)
	}
	for o, w := range inc.NewWeight {
		m.OSDWeight[o] = w
		if w != 0 {
			m.OSDState[o] |= StateExists
			m.OSDState[o] &^= StateAutoout | StateNew
		}
	}
	for o, a := range inc.NewPrimaryAffinity {
		m.setPrimaryAffinity(o, a)
	}
	if m.ErasureCodeProfiles == nil {
		m.ErasureCodeProfiles = map[string]map[string]string{}
	}
	for _, name := range inc.OldECProfiles {
		delete(m.ErasureCodeProfiles, name)
	}
	for name, prof := range inc.NewECProfiles {
		m.ErasureCodeProfiles[name] = prof
	}
	for o, s := range inc.NewState {
		if s == 0 {
			s = StateUp
		}
		if m.OSDState[o]&StateUp != 0 && s&StateUp != 0 {
			m.OSDInfo[o].DownAt = m.Epoch
		}
		if m.OSDState[o]&StateExists != 0 && s&StateExists != 0 {
			// The OSD was destroyed: forget everything about it.
			m.OSDUUID[o] = encoding.UUID{}
			m.OSDInfo[o] = OSDInfo{}
			if m.PrimaryAffinity != nil {
				m.PrimaryAffinity[o] = DefaultPrimaryAffinity
			}
			m.OSDAddrs[o], m.ClusterAddrs[o], m.HBFrontAddrs[o], m.HBBackAddrs[o] = nil, nil, nil, nil
			m.OSDState[o] = 0
		} else {
			m.OSDState[o] ^= s
		}
	}
	for o, a := range inc.NewUpClient {
		m.OSDState[o] |= StateExists | StateUp
		m.OSDAddrs[o] = a
		m.HBBackAddrs[o] = inc.NewHBBackUp[o]
		m.HBFrontAddrs[o] = inc.NewHBFrontUp[o]
		m.OSDInfo[o].UpFrom = m.Epoch
	}
	for o, a := range inc.NewUpCluster {
		m.ClusterAddrs[o] = a
	}
	for o, e := range inc.NewUpThru {
		m.OSDInfo[o].UpThru = e
	}
	for o, iv := range inc.NewLastCleanInterval {
		m.OSDInfo[o].LastCleanBegin, m.OSDInfo[o].LastCleanEnd = iv[0], iv[1]
	}
	for o, e := range inc.NewLost {
		m.OSDInfo[o].LostAt = e
	}
	for o, u := range inc.NewUUID {
		m.OSDUUID[o] = u
	}
	if m.PGTemp == nil {
		m.PGTemp = map[PG][]int32{}
	}
	for pg, v := range inc.NewPGTemp {
		if len(v) == 0 {
			delete(m.PGTemp, pg)
		} else {
			m.PGTemp[pg] = v
		}
	}
	if m.PrimaryTemp == nil {
		m.PrimaryTemp = map[PG]int32{}
	}
	for pg, o := range inc.NewPrimaryTemp {
		if o == -1 {
			delete(m.PrimaryTemp, pg)
		} else {
			m.PrimaryTemp[pg] = o
		}
	}
	if m.PGUpmap == nil {
		m.PGUpmap = map[PG][]int32{}
	}
	for pg, v := range inc.NewPGUpmap {
		m.PGUpmap[pg] = v
	}
	for _, pg := range inc.OldPGUpmap {
		delete(m.PGUpmap, pg)
	}
	if m.PGUpmapItems == nil {
		m.PGUpmapItems = map[PG][][2]int32{}
	}
	for pg, v := range inc.NewPGUpmapItems {
		m.PGUpmapItems[pg] = v
	}
	for _, pg := range inc.OldPGUpmapItems {
		delete(m.PGUpmapItems, pg)
	}
	if len(inc.NewPGUpmapPrimaries) > 0 && m.PGUpmapPrimaries == nil {
		m.PGUpmapPrimaries = map[PG]int32{}
	}
	for pg, o := range inc.NewPGUpmapPrimaries {
		m.PGUpmapPrimaries[pg] = o
	}
	for _, pg := range inc.OldPGUpmapPrimaries {
		delete(m.PGUpmapPrimaries, pg)
	}
	m.ClusterSnapshot = inc.ClusterSnapshot
	if inc.NewNearfullRatio >= 0 {
		m.NearfullRatio = inc.NewNearfullRatio
	}
	if inc.NewBackfillfullRatio >= 0 {
		m.BackfillfullRatio = inc.NewBackfillfullRatio
	}
	if inc.NewFullRatio >= 0 {
		m.FullRatio = inc.NewFullRatio
	}
	// Pacific encodes "no change" as 0xff; 0 (unknown) is no change too.
	if inc.NewRequireMinCompat > 0 && inc.NewRequireMinCompat != 0xff {
		m.RequireMinCompatClient = inc.NewRequireMinCompat
	}
	if inc.NewRequireOSDRelease >= 0 {
		m.RequireOSDRelease = uint8(inc.NewRequireOSDRelease)
	}
	if !inc.NewLastUpChange.IsZero() {
		m.LastUpChange = inc.NewLastUpChange
	}
	if !inc.NewLastInChange.IsZero() {
		m.LastInChange = inc.NewLastInChange
	}
	if newCrush != nil {
		m.Crush = newCrush
		if m.RequireOSDRelease >= releaseLuminous {
			m.CrushVersion++
		}
	}
	return nil
}

const releaseLuminous = 12

func keys[V any](m map[int32]V) []int32 {
	k := make([]int32, 0, len(m))
	for o := range m {
		k = append(k, o)
	}
	return k
}

package osdmap

import (
	"fmt"
	"math/bits"

	"github.com/gomsgr/msgr/encoding"
)

// Pool types (pg_pool_t::TYPE_*).
const (
	PoolTypeReplicated = 1
	PoolTypeErasure    = 3
)

// Pool flags used by placement.
const (
	PoolFlagHashPSPool = 1 << 0 // hash pg seed and pool together
)

// Object name hash functions (CEPH_STR_HASH_*).
const (
	HashLinux    = 1
	HashRjenkins = 2
)

// Pool is the placement-relevant part of pg_pool_t, plus the fields that
// "ceph osd dump" shows for it.
type Pool struct {
	ID                 int64
	Name               string
	Type               uint8
	Size               uint8
	MinSize            uint8
	CrushRule          uint8
	ObjectHash         uint8
	PGNum              uint32
	PGPNum             uint32
	LastChange         uint32
	SnapSeq            uint64
	SnapEpoch          uint32
	Snaps              map[uint64]PoolSnap // pool snapshots by id
	Auid               uint64
	Flags              uint64
	QuotaMaxBytes      uint64
	QuotaMaxObjects    uint64
	Tiers              []int64
	TierOf             int64
	CacheMode          uint8
	ReadTier           int64
	WriteTier          int64
	StripeWidth        uint32
	ErasureCodeProfile string
	ExpectedNumObjects uint64
	FastRead           bool
	Application        map[string]map[string]string
	CreateTime         encoding.UTime
	PGNumTarget        uint32
	PGPNumTarget       uint32
	PGNumPending       uint32
	LastForceOpResend  uint32
	PGAutoscaleMode    uint8

	pgNumMask  uint32
	pgpNumMask uint32
	kept       poolKept
}

// PoolSnap is a pool snapshot (pool_snap_info_t).
type PoolSnap struct {
	ID    uint64
	Stamp encoding.UTime
	Name  string
}

// calcMask is pg_pool_t::calc_pg_masks for one count.
func calcMask(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 1<<uint(bits.Len32(n-1)) - 1
}

func (p *Pool) calcMasks() {
	p.pgNumMask = calcMask(p.PGNum)
	p.pgpNumMask = calcMask(p.PGPNum)
}

// CanShiftOSDs reports whether OSDs may move between positions (replicated
// pools); erasure pools keep positions and use crush.ItemNone for holes.
func (p *Pool) CanShiftOSDs() bool { return p.Type == PoolTypeReplicated }

// StableMod is ceph_stable_mod: x mod b that moves few values when b grows.
func StableMod(x, b, bmask uint32) uint32 {
	if x&bmask < b {
		return x & bmask
	}
	return x & (bmask >> 1)
}

func skipStringMap(d *encoding.Decoder) {
	n := d.Len(8)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.Blob()
		d.Blob()
	}
}

func decodeStringMap(d *encoding.Decoder) map[string]string {
	n := d.Len(8)
	m := make(map[string]string, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.String()
		m[k] = d.String()
	}
	return m
}

func decodeStringMapMap(d *encoding.Decoder) map[string]map[string]string {
	n := d.Len(8)
	m := make(map[string]map[string]string, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.String()
		m[k] = decodeStringMap(d)
	}
	return m
}

// skipIntervalSet skips an interval_set<u64> (a map<u64,u64>).
func skipIntervalSet(d *encoding.Decoder) {
	n := d.Len(16)
	d.Skip(16 * n)
}

// skipStruct skips one versioned struct by its length.
func skipStruct(d *encoding.Decoder, name string) {
	s := d.StructStart(name, 255)
	d.StructEnd(s)
}

// poolKept holds the pg_pool_t fields placement does not use, as decoded,
// so that Append writes a decoded pool back byte for byte. Containers and
// nested structs are kept encoded (their encodings are canonical).
type poolKept struct {
	v                            uint8  // struct_v decoded (0: a new pool, encoded as v29)
	snaps, removedSnaps          []byte // map<snapid_t,pool_snap_info_t>, interval_set
	properties                   []byte // map<string,string>
	hitSetParams                 []byte // HitSet::Params
	hitSetPeriod, hitSetCount    uint32
	cacheTargets                 []byte // target_max_bytes .. cache_min_evict_age
	lastForceOpResendPreluminous uint32
	minReadRecency               uint32
	cacheTargetDirtyHigh         uint32
	minWriteRecency              uint32
	useGMTHitset                 uint8
	hitSetGrade                  []byte // hit_set_grade_decay_rate, hit_set_search_last_n
	opts                         []byte // pool_opts_t
	lastForceOpResendPrenautilus uint32
	lastPGMergeMeta              []byte // pg_merge_meta_t
	tail                         []byte // fields newer than v29
}

// decodePool reads a pg_pool_t (pg_pool_t::decode, struct_v 5..29+).
func decodePool(d *encoding.Decoder, id int64) (*Pool, error) {
	s := d.StructStart("pg_pool_t", 29)
	if err := d.Err(); err != nil {
		return nil, err
	}
	if s.V < 5 {
		d.Fail(fmt.Errorf("%w: pg_pool_t v%d predates length-prefixed encoding", encoding.ErrMalformed, s.V))
		return nil, d.Err()
	}
	p := &Pool{ID: id, TierOf: -1, ReadTier: -1, WriteTier: -1}
	k := &p.kept
	k.v = s.V
	p.Type = d.U8()
	p.Size = d.U8()
	p.CrushRule = d.U8()
	p.ObjectHash = d.U8()
	p.PGNum = d.U32()
	p.PGPNum = d.U32()
	d.U32() // lpg_num (always 0)
	d.U32() // lpgp_num
	p.LastChange = d.U32()
	p.SnapSeq = d.U64()
	p.SnapEpoch = d.U32()
	// snaps: map<snapid_t, pool_snap_info_t>
	off := d.Offset()
	n := d.Len(14)
	for i := 0; i < n && d.Err() == nil; i++ {
		d.U64()
		st := d.StructStart("pool_snap_info_t", 2)
		ps := PoolSnap{ID: d.U64(), Stamp: d.UTime(), Name: d.String()}
		d.StructEnd(st)
		if d.Err() == nil {
			if p.Snaps == nil {
				p.Snaps = make(map[uint64]PoolSnap)
			}
			p.Snaps[ps.ID] = ps
		}
	}
	k.snaps = d.Since(off)
	off = d.Offset()
	skipIntervalSet(d) // removed_snaps
	k.removedSnaps = d.Since(off)
	p.Auid = d.U64()
	p.Flags = d.U64()
	d.U32() // crash_replay_interval (always 0)
	if s.V >= 7 {
		p.MinSize = d.U8()
	} else {
		p.MinSize = p.Size - p.Size/2
	}
	if s.V >= 8 {
		p.QuotaMaxBytes = d.U64()
		p.QuotaMaxObjects = d.U64()
	}
	if s.V >= 9 {
		nt := d.Len(8)
		for i := 0; i < nt && d.Err() == nil; i++ {
			p.Tiers = append(p.Tiers, d.I64())
		}
		p.TierOf = d.I64()
		p.CacheMode = d.U8()
		p.ReadTier = d.I64()
		p.WriteTier = d.I64()
	}
	if s.V >= 10 {
		off = d.Offset()
		skipStringMap(d) // properties
		k.properties = d.Since(off)
	}
	if s.V >= 11 {
		off = d.Offset()
		skipStruct(d, "HitSet::Params")
		k.hitSetParams = d.Since(off)
		k.hitSetPeriod = d.U32()
		k.hitSetCount = d.U32()
	}
	if s.V >= 12 {
		p.StripeWidth = d.U32()
	}
	if s.V >= 13 {
		off = d.Offset()
		d.Skip(8 + 8 + 4 + 4 + 4 + 4) // target_max_*, cache_* ratios and ages
		k.cacheTargets = d.Since(off)
	}
	if s.V >= 14 {
		p.ErasureCodeProfile = d.String()
	}
	if s.V >= 15 {
		k.lastForceOpResendPreluminous = d.U32()
	}
	if s.V >= 16 {
		k.minReadRecency = d.U32()
	}
	if s.V >= 17 {
		p.ExpectedNumObjects = d.U64()
	}
	if s.V >= 19 {
		k.cacheTargetDirtyHigh = d.U32()
	}
	if s.V >= 20 {
		k.minWriteRecency = d.U32()
	}
	if s.V >= 21 {
		k.useGMTHitset = d.U8()
	}
	if s.V >= 22 {
		p.FastRead = d.Bool()
	}
	if s.V >= 23 {
		off = d.Offset()
		d.U32() // hit_set_grade_decay_rate
		d.U32() // hit_set_search_last_n
		k.hitSetGrade = d.Since(off)
	}
	if s.V >= 24 {
		off = d.Offset()
		skipStruct(d, "pool_opts_t")
		k.opts = d.Since(off)
	}
	if s.V >= 25 {
		k.lastForceOpResendPrenautilus = d.U32()
	}
	if s.V >= 26 {
		p.Application = decodeStringMapMap(d)
	}
	if s.V >= 27 {
		p.CreateTime = d.UTime()
	}
	p.PGNumTarget, p.PGPNumTarget, p.PGNumPending = p.PGNum, p.PGPNum, p.PGNum
	if s.V >= 28 {
		p.PGNumTarget = d.U32()
		p.PGPNumTarget = d.U32()
		p.PGNumPending = d.U32()
		d.U32() // old merge last_epoch_started (written as 0)
		d.U32() // old merge last_epoch_clean
		p.LastForceOpResend = d.U32()
		p.PGAutoscaleMode = d.U8()
	}
	if s.V >= 29 {
		off = d.Offset()
		skipStruct(d, "pg_merge_meta_t")
		k.lastPGMergeMeta = d.Since(off)
	}
	off = d.Offset()
	d.Skip(d.Remaining())
	k.tail = d.Since(off)
	d.StructEnd(s)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("pool %d: %w", id, err)
	}
	p.calcMasks()
	return p, nil
}

// RawPGToPG folds a raw placement seed onto the pool's pg_num.
func (p *Pool) RawPGToPG(pg PG) PG {
	return PG{Pool: pg.Pool, Seed: StableMod(pg.Seed, p.PGNum, p.pgNumMask)}
}

// HashKey hashes an object name (or locator key) within a namespace
// (pg_pool_t::hash_key).
func (p *Pool) HashKey(key, ns string) uint32 {
	if ns == "" {
		return StrHash(p.ObjectHash, key)
	}
	var stack [256]byte
	buf := stack[:0]
	buf = append(buf, ns...)
	buf = append(buf, 0x1f)
	buf = append(buf, key...)
	return strHashBytes(p.ObjectHash, buf)
}

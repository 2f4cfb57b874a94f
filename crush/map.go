// Package crush decodes Ceph CRUSH maps (CrushWrapper encoding) and maps
// inputs to devices exactly as Ceph's mapper.c does, in integer arithmetic.
package crush

import (
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
)

// Magic starts every encoded CRUSH map.
const Magic = 0x00010000

// Bucket algorithms.
const (
	AlgUniform = 1
	AlgList    = 2
	AlgTree    = 3
	AlgStraw   = 4
	AlgStraw2  = 5
)

// Rule step opcodes.
const (
	OpNoop                   = 0
	OpTake                   = 1
	OpChooseFirstN           = 2
	OpChooseIndep            = 3
	OpEmit                   = 4
	OpChooseLeafFirstN       = 6
	OpChooseLeafIndep        = 7
	OpSetChooseTries         = 8
	OpSetChooseLeafTries     = 9
	OpSetChooseLocalTries    = 10
	OpSetChooseLocalFallback = 11
	OpSetChooseLeafVaryR     = 12
	OpSetChooseLeafStable    = 13
)

// Special items in mapping results.
const (
	ItemNone  = 0x7fffffff // no device could be chosen for this position
	itemUndef = 0x7ffffffe
)

// DefaultChooseArgs is the choose_args key used when a pool has none.
const DefaultChooseArgs = -1

// ErrBadMagic reports input that is not a CRUSH map.
var ErrBadMagic = errors.New("crush: bad magic")

// Bucket is one interior node of the hierarchy. Which weight slices are set
// depends on Alg.
type Bucket struct {
	ID     int32
	Type   uint16
	Alg    uint8
	Hash   uint8
	Weight uint32 // 16.16 fixed point
	Items  []int32

	ItemWeight  uint32   // uniform: every item's weight
	ItemWeights []uint32 // list, straw, straw2
	SumWeights  []uint32 // list
	NodeWeights []uint32 // tree
	Straws      []uint32 // straw
}

// Step is one rule step.
type Step struct {
	Op   uint32
	Arg1 int32
	Arg2 int32
}

// Rule is a placement rule.
type Rule struct {
	Ruleset uint8
	Type    uint8
	MinSize uint8
	MaxSize uint8
	Steps   []Step
}

// Tunables are the map-wide mapper settings.
type Tunables struct {
	ChooseLocalTries         uint32
	ChooseLocalFallbackTries uint32
	ChooseTotalTries         uint32
	ChooseLeafDescendOnce    uint32
	ChooseLeafVaryR          uint8
	StrawCalcVersion         uint8
	AllowedBucketAlgs        uint32
	ChooseLeafStable         uint8
}

// LegacyTunables are the values a map without tunables decodes to.
var LegacyTunables = Tunables{
	ChooseLocalTries:         2,
	ChooseLocalFallbackTries: 5,
	ChooseTotalTries:         19,
	AllowedBucketAlgs:        1<<AlgUniform | 1<<AlgList | 1<<AlgStraw,
}

// ChooseArgs holds the ChooseArg of each bucket that has one, keyed by
// bucket index (-1-id).
type ChooseArgs map[int]ChooseArg

// ChooseArg overrides one bucket's weights (per position) and/or item ids
// for straw2 selection.
type ChooseArg struct {
	WeightSet [][]uint32 // [position][item]
	IDs       []int32
}

// Map is a decoded CRUSH map. Buckets is indexed by -1-id; nil entries are
// holes. It is read-only once decoded and safe for concurrent mapping.
type Map struct {
	Buckets    []*Bucket
	Rules      []*Rule
	MaxDevices int32
	Tunables

	TypeNames map[int32]string
	Names     map[int32]string
	RuleNames map[int32]string

	ClassMap     map[int32]int32           // item -> class id
	ClassNames   map[int32]string          // class id -> name
	ClassBuckets map[int32]map[int32]int32 // bucket -> class -> shadow bucket

	// ChooseArgs maps a choose_args index (a pool id, or
	// DefaultChooseArgs) to per-bucket arguments keyed by bucket index
	// (-1-id). A map, not a slice, keeps a hostile encoding from costing
	// buckets x entries of memory.
	ChooseArgs map[int64]ChooseArgs

	MSRDescents       uint32
	MSRCollisionTries uint32
}

// Bucket returns the bucket with the given (negative) id, or nil.
func (m *Map) Bucket(id int32) *Bucket {
	i := -1 - int64(id)
	if i < 0 || i >= int64(len(m.Buckets)) {
		return nil
	}
	return m.Buckets[i]
}

// Decode parses an encoded CRUSH map (CrushWrapper::encode).
func Decode(b []byte) (*Map, error) {
	d := encoding.NewDecoder(b)
	m, err := decode(d)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// count reads a u32 element count and checks that n elements of at least
// min bytes each can still be present.
func count(d *encoding.Decoder, min int) int { return d.Len(min) }

func decode(d *encoding.Decoder) (*Map, error) {
	if magic := d.U32(); d.Err() == nil && magic != Magic {
		return nil, fmt.Errorf("%w: %#x", ErrBadMagic, magic)
	}
	maxBuckets := d.I32()
	maxRules := d.U32()
	maxDevices := d.I32()
	if err := d.Err(); err != nil {
		return nil, err
	}
	if maxBuckets < 0 || int64(maxBuckets)*4 > int64(d.Remaining()) {
		return nil, fmt.Errorf("%w: crush: max_buckets %d", encoding.ErrTooLarge, maxBuckets)
	}
	if int64(maxRules)*4 > int64(d.Remaining()) {
		return nil, fmt.Errorf("%w: crush: max_rules %d", encoding.ErrTooLarge, maxRules)
	}
	m := &Map{MaxDevices: maxDevices, Tunables: LegacyTunables}
	m.Buckets = make([]*Bucket, maxBuckets)
	for i := range m.Buckets {
		b, err := decodeBucket(d)
		if err != nil {
			return nil, fmt.Errorf("crush: bucket %d: %w", -1-i, err)
		}
		if b != nil && int64(-1-b.ID) != int64(i) {
			return nil, fmt.Errorf("%w: crush: bucket at index %d has id %d", encoding.ErrMalformed, i, b.ID)
		}
		m.Buckets[i] = b
	}
	m.Rules = make([]*Rule, maxRules)
	for i := range m.Rules {
		if d.U32() == 0 {
			continue
		}
		n := count(d, 12)
		r := &Rule{Ruleset: d.U8(), Type: d.U8(), MinSize: d.U8(), MaxSize: d.U8()}
		if d.Err() == nil && int(r.Ruleset) != i {
			return nil, fmt.Errorf("%w: crush: rule %d has ruleset %d", encoding.ErrMalformed, i, r.Ruleset)
		}
		r.Steps = make([]Step, n)
		for j := range r.Steps {
			r.Steps[j] = Step{Op: d.U32(), Arg1: d.I32(), Arg2: d.I32()}
		}
		if err := d.Err(); err != nil {
			return nil, fmt.Errorf("crush: rule %d: %w", i, err)
		}
		m.Rules[i] = r
	}
	m.TypeNames = decodeNameMap(d)
	m.Names = decodeNameMap(d)
	m.RuleNames = decodeNameMap(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("crush: names: %w", err)
	}
	// Tunables were appended over time; each group is present only if
	// bytes remain.
	if d.Remaining() > 0 {
		m.ChooseLocalTries = d.U32()
		m.ChooseLocalFallbackTries = d.U32()
		m.ChooseTotalTries = d.U32()
	}
	if d.Remaining() > 0 {
		m.ChooseLeafDescendOnce = d.U32()
	}
	if d.Remaining() > 0 {
		m.ChooseLeafVaryR = d.U8()
	}
	if d.Remaining() > 0 {
		m.StrawCalcVersion = d.U8()
	}
	if d.Remaining() > 0 {
		m.AllowedBucketAlgs = d.U32()
	}
	if d.Remaining() > 0 {
		m.ChooseLeafStable = d.U8()
	}
	if d.Remaining() > 0 {
		m.ClassMap = decodeI32Map(d)
		m.ClassNames = decodeI32StringMap(d)
		n := count(d, 8)
		m.ClassBuckets = make(map[int32]map[int32]int32, n)
		for i := 0; i < n && d.Err() == nil; i++ {
			k := d.I32()
			m.ClassBuckets[k] = decodeI32Map(d)
		}
	}
	if d.Remaining() > 0 {
		if err := m.decodeChooseArgs(d); err != nil {
			return nil, err
		}
	}
	if d.Remaining() > 0 {
		m.MSRDescents = d.U32()
		m.MSRCollisionTries = d.U32()
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("crush: %w", err)
	}
	return m, nil
}

func decodeBucket(d *encoding.Decoder) (*Bucket, error) {
	alg := d.U32()
	if err := d.Err(); err != nil || alg == 0 {
		return nil, err
	}
	if alg > AlgStraw2 {
		return nil, fmt.Errorf("%w: unsupported bucket algorithm %d", encoding.ErrMalformed, alg)
	}
	b := &Bucket{ID: d.I32(), Type: d.U16(), Alg: d.U8(), Hash: d.U8(), Weight: d.U32()}
	n := count(d, 4)
	if d.Err() == nil && uint32(b.Alg) != alg {
		return nil, fmt.Errorf("%w: bucket alg %d inside %d", encoding.ErrMalformed, b.Alg, alg)
	}
	if d.Err() == nil && b.ID >= 0 {
		return nil, fmt.Errorf("%w: bucket id %d is not negative", encoding.ErrMalformed, b.ID)
	}
	b.Items = make([]int32, n)
	for i := range b.Items {
		b.Items[i] = d.I32()
	}
	switch b.Alg {
	case AlgUniform:
		b.ItemWeight = d.U32()
	case AlgList:
		if n*8 > d.Remaining() {
			return nil, encoding.ErrTruncated
		}
		b.ItemWeights = make([]uint32, n)
		b.SumWeights = make([]uint32, n)
		for i := 0; i < n; i++ {
			b.ItemWeights[i] = d.U32()
			b.SumWeights[i] = d.U32()
		}
	case AlgTree:
		nn := int(d.U8()) // crush_bucket_tree.num_nodes is a __u8
		if nn*4 > d.Remaining() {
			return nil, encoding.ErrTruncated
		}
		b.NodeWeights = make([]uint32, nn)
		for i := range b.NodeWeights {
			b.NodeWeights[i] = d.U32()
		}
	case AlgStraw:
		if n*8 > d.Remaining() {
			return nil, encoding.ErrTruncated
		}
		b.ItemWeights = make([]uint32, n)
		b.Straws = make([]uint32, n)
		for i := 0; i < n; i++ {
			b.ItemWeights[i] = d.U32()
			b.Straws[i] = d.U32()
		}
	case AlgStraw2:
		if n*4 > d.Remaining() {
			return nil, encoding.ErrTruncated
		}
		b.ItemWeights = make([]uint32, n)
		for i := range b.ItemWeights {
			b.ItemWeights[i] = d.U32()
		}
	}
	return b, d.Err()
}

// decodeNameMap reads a map<int32,string>, tolerating the historical
// encoding bug that wrote 64-bit keys (detected by a zero length).
func decodeNameMap(d *encoding.Decoder) map[int32]string {
	n := count(d, 8)
	m := make(map[int32]string, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.I32()
		l := d.U32()
		if l == 0 {
			l = d.U32()
		}
		if d.Err() != nil {
			break
		}
		if uint64(l) > uint64(d.Remaining()) {
			d.Fail(encoding.ErrTruncated)
			break
		}
		m[k] = string(d.Bytes(int(l)))
	}
	return m
}

func decodeI32Map(d *encoding.Decoder) map[int32]int32 {
	n := count(d, 8)
	m := make(map[int32]int32, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.I32()
		m[k] = d.I32()
	}
	return m
}

func decodeI32StringMap(d *encoding.Decoder) map[int32]string {
	n := count(d, 8)
	m := make(map[int32]string, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.I32()
		m[k] = d.String()
	}
	return m
}

func (m *Map) decodeChooseArgs(d *encoding.Decoder) error {
	n := count(d, 12)
	m.ChooseArgs = make(map[int64]ChooseArgs, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		key := d.I64()
		args := ChooseArgs{}
		nb := count(d, 12)
		for j := 0; j < nb && d.Err() == nil; j++ {
			bi := d.U32()
			if d.Err() == nil && uint64(bi) >= uint64(len(m.Buckets)) {
				return fmt.Errorf("%w: crush: choose_args bucket index %d", encoding.ErrMalformed, bi)
			}
			b := m.Buckets[bi]
			size := 0
			if b != nil {
				size = len(b.Items)
			}
			var arg ChooseArg
			np := count(d, 4)
			if np > 0 {
				arg.WeightSet = make([][]uint32, np)
			}
			for k := 0; k < np && d.Err() == nil; k++ {
				nw := count(d, 4)
				if d.Err() == nil && nw != size {
					return fmt.Errorf("%w: crush: choose_args weight set of %d for bucket of %d", encoding.ErrMalformed, nw, size)
				}
				ws := make([]uint32, nw)
				for l := range ws {
					ws[l] = d.U32()
				}
				arg.WeightSet[k] = ws
			}
			ni := count(d, 4)
			if d.Err() == nil && ni != 0 && ni != size {
				return fmt.Errorf("%w: crush: choose_args ids of %d for bucket of %d", encoding.ErrMalformed, ni, size)
			}
			if ni > 0 {
				arg.IDs = make([]int32, ni)
				for l := range arg.IDs {
					arg.IDs[l] = d.I32()
				}
			}
			args[int(bi)] = arg
		}
		m.ChooseArgs[key] = args
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("crush: choose_args: %w", err)
	}
	return nil
}

// ChooseArgsFor returns the choose_args for index, falling back to
// DefaultChooseArgs, or nil (CrushWrapper::choose_args_get_with_fallback).
func (m *Map) ChooseArgsFor(index int64) ChooseArgs {
	if a, ok := m.ChooseArgs[index]; ok {
		return a
	}
	return m.ChooseArgs[DefaultChooseArgs]
}

// FindRule returns the rule a pool with this crush_rule, type and size uses,
// or -1 (CrushWrapper::find_rule; rule ids equal rulesets since Luminous).
func (m *Map) FindRule(ruleset, typ, size int) int {
	if ruleset >= 0 && ruleset < len(m.Rules) {
		if r := m.Rules[ruleset]; r != nil && int(r.Type) == typ {
			return ruleset
		}
	}
	for i, r := range m.Rules {
		if r != nil && int(r.Ruleset) == ruleset && int(r.Type) == typ &&
			int(r.MinSize) <= size && int(r.MaxSize) >= size {
			return i
		}
	}
	return -1
}

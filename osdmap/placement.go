package osdmap

import (
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/crush"
	"github.com/gomsgr/msgr/encoding"
)

// ErrNoPool reports a pool id the map does not have.
var ErrNoPool = errors.New("osdmap: no such pool")

// Locator says where an object lives (object_locator_t): its pool, an
// optional locator key that replaces the name for hashing, a namespace, and
// an optional explicit placement hash. The zero value of everything but
// Pool means "hash the object name", as a default object_locator_t does.
type Locator struct {
	Pool      int64
	Key       string
	Namespace string
	// HasHash makes Hash the placement seed instead of the name's hash
	// (object_locator_t.hash >= 0).
	HasHash bool
	Hash    uint32
}

// Placement is where one object or PG maps.
type Placement struct {
	RawPG         PG // unfolded seed, as sent in MOSDOp
	PG            PG // folded onto pg_num
	Up            []int32
	UpPrimary     int32
	Acting        []int32
	ActingPrimary int32
}

// Exists reports whether osd exists in the map.
func (m *OSDMap) Exists(osd int32) bool {
	return osd >= 0 && osd < m.MaxOSD && m.OSDState[osd]&StateExists != 0
}

// IsUp reports whether osd exists and is up.
func (m *OSDMap) IsUp(osd int32) bool { return m.Exists(osd) && m.OSDState[osd]&StateUp != 0 }

// IsIn reports whether osd exists and has a non-zero weight.
func (m *OSDMap) IsIn(osd int32) bool { return m.Exists(osd) && m.OSDWeight[osd] != WeightOut }

// Pool returns the pool with id, or nil.
func (m *OSDMap) Pool(id int64) *Pool { return m.Pools[id] }

// PoolByName returns the pool called name, or nil.
func (m *OSDMap) PoolByName(name string) *Pool {
	for _, p := range m.Pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ObjectToPG hashes an object to its raw PG (OSDMap::object_locator_to_pg).
func (m *OSDMap) ObjectToPG(name string, loc Locator) (PG, error) {
	p := m.Pools[loc.Pool]
	if p == nil {
		return PG{}, fmt.Errorf("%w: %d", ErrNoPool, loc.Pool)
	}
	if loc.HasHash {
		return PG{Pool: loc.Pool, Seed: loc.Hash}, nil
	}
	key := loc.Key
	if key == "" {
		key = name
	}
	return PG{Pool: loc.Pool, Seed: p.HashKey(key, loc.Namespace)}, nil
}

// RawPGToPG folds a raw PG onto its pool's pg_num; unknown pools pass
// through unchanged.
func (m *OSDMap) RawPGToPG(pg PG) PG {
	if p := m.Pools[pg.Pool]; p != nil {
		return p.RawPGToPG(pg)
	}
	return pg
}

// rawToPPS is pg_pool_t::raw_pg_to_pps: the CRUSH input for a PG.
func (p *Pool) rawToPPS(pg PG) uint32 {
	ps := StableMod(pg.Seed, p.PGPNum, p.pgpNumMask)
	if p.Flags&PoolFlagHashPSPool != 0 {
		return crush.Hash32_2(ps, uint32(pg.Pool))
	}
	return ps + uint32(pg.Pool)
}

// pgToRawOSDs is _pg_to_raw_osds; it appends to dst.
func (m *OSDMap) pgToRawOSDs(p *Pool, pg PG, dst []int32) ([]int32, uint32) {
	pps := p.rawToPPS(pg)
	size := int(p.Size)
	if m.Crush != nil {
		if rule := m.Crush.FindRule(int(p.CrushRule), int(p.Type), size); rule >= 0 {
			dst = m.Crush.DoRule(rule, int32(pps), size, m.OSDWeight, m.Crush.ChooseArgsFor(pg.Pool), dst)
		}
	}
	// _remove_nonexistent_osds
	if p.CanShiftOSDs() {
		j := 0
		for _, o := range dst {
			if m.Exists(o) {
				dst[j] = o
				j++
			}
		}
		dst = dst[:j]
	} else {
		for i, o := range dst {
			if !m.Exists(o) {
				dst[i] = crush.ItemNone
			}
		}
	}
	return dst, pps
}

func pickPrimary(osds []int32) int32 {
	for _, o := range osds {
		if o != crush.ItemNone {
			return o
		}
	}
	return -1
}

// applyUpmap is _apply_upmap.
func (m *OSDMap) applyUpmap(p *Pool, raw PG, osds []int32) []int32 {
	pg := p.RawPGToPG(raw)
	if um, ok := m.PGUpmap[pg]; ok {
		ok := true
		for _, o := range um {
			if o != crush.ItemNone && o >= 0 && o < m.MaxOSD && m.OSDWeight[o] == 0 {
				ok = false // a target is marked out: ignore the mapping
				break
			}
		}
		if ok {
			osds = append(osds[:0], um...)
		}
	}
	for _, r := range m.PGUpmapItems[pg] {
		from, to := r[0], r[1]
		exists := false
		pos := -1
		for i, o := range osds {
			if o == to {
				exists = true
				break
			}
			if o == from && pos < 0 &&
				!(to != crush.ItemNone && to < m.MaxOSD && to >= 0 && m.OSDWeight[to] == 0) {
				pos = i
			}
		}
		if !exists && pos >= 0 {
			osds[pos] = to
		}
	}
	return osds
}

// rawToUp is _raw_to_up_osds, in place.
func (m *OSDMap) rawToUp(p *Pool, osds []int32) []int32 {
	if p.CanShiftOSDs() {
		j := 0
		for _, o := range osds {
			if m.IsUp(o) {
				osds[j] = o
				j++
			}
		}
		return osds[:j]
	}
	for i, o := range osds {
		if !m.IsUp(o) {
			osds[i] = crush.ItemNone
		}
	}
	return osds
}

// applyPrimaryAffinity is _apply_primary_affinity.
func (m *OSDMap) applyPrimaryAffinity(seed uint32, p *Pool, osds []int32, primary int32) int32 {
	if m.PrimaryAffinity == nil {
		return primary
	}
	any := false
	for _, o := range osds {
		if o != crush.ItemNone && m.PrimaryAffinity[o] != DefaultPrimaryAffinity {
			any = true
			break
		}
	}
	if !any {
		return primary
	}
	pos := -1
	for i, o := range osds {
		if o == crush.ItemNone {
			continue
		}
		a := m.PrimaryAffinity[o]
		if a < MaxPrimaryAffinity && crush.Hash32_2(seed, uint32(o))>>16 >= a {
			if pos < 0 {
				pos = i // fallback if nobody else qualifies
			}
		} else {
			pos = i
			break
		}
	}
	if pos < 0 {
		return primary
	}
	primary = osds[pos]
	if p.CanShiftOSDs() && pos > 0 {
		copy(osds[1:pos+1], osds[:pos])
		osds[0] = primary
	}
	return primary
}

// tempOSDs is _get_temp_osds; it appends to dst.
func (m *OSDMap) tempOSDs(p *Pool, raw PG, dst []int32) ([]int32, int32) {
	pg := p.RawPGToPG(raw)
	for _, o := range m.PGTemp[pg] {
		if !m.IsUp(o) {
			if p.CanShiftOSDs() {
				continue
			}
			dst = append(dst, crush.ItemNone)
		} else {
			dst = append(dst, o)
		}
	}
	if pt, ok := m.PrimaryTemp[pg]; ok {
		return dst, pt
	}
	return dst, pickPrimary(dst)
}

// PGToRawOSDs returns the CRUSH result for pg with nonexistent OSDs
// removed, and its first entry as primary (OSDMap::pg_to_raw_osds).
func (m *OSDMap) PGToRawOSDs(pg PG) ([]int32, int32) {
	p := m.Pools[pg.Pool]
	if p == nil {
		return nil, -1
	}
	raw, _ := m.pgToRawOSDs(p, pg, nil)
	return raw, pickPrimary(raw)
}

// PGToUpActing computes pg's up and acting sets and their primaries
// (OSDMap::pg_to_up_acting_osds). pg may be raw (unfolded).
func (m *OSDMap) PGToUpActing(pg PG) (up []int32, upPrimary int32, acting []int32, actingPrimary int32) {
	p := m.Pools[pg.Pool]
	if p == nil {
		return nil, -1, nil, -1
	}
	return m.upActing(p, pg, nil, nil)
}

func (m *OSDMap) upActing(p *Pool, pg PG, upBuf, actBuf []int32) (up []int32, upPrimary int32, acting []int32, actingPrimary int32) {
	acting, actingPrimary = m.tempOSDs(p, pg, actBuf[:0])
	up, pps := m.pgToRawOSDs(p, pg, upBuf[:0])
	up = m.applyUpmap(p, pg, up)
	up = m.rawToUp(p, up)
	upPrimary = pickPrimary(up)
	upPrimary = m.applyPrimaryAffinity(pps, p, up, upPrimary)
	if len(acting) == 0 {
		acting = append(acting, up...)
		if actingPrimary == -1 {
			actingPrimary = upPrimary
		}
	}
	return up, upPrimary, acting, actingPrimary
}

// PGToActing is OSDMap::pg_to_acting_osds: pg must already be folded
// (a seed at or past pg_num maps nowhere).
func (m *OSDMap) PGToActing(pg PG) ([]int32, int32) {
	p := m.Pools[pg.Pool]
	if p == nil || pg.Seed >= p.PGNum {
		return nil, -1
	}
	_, _, acting, primary := m.upActing(p, pg, nil, nil)
	return acting, primary
}

// MapObject places an object: raw PG, folded PG, up and acting sets and
// primaries. This is what the Objecter needs to target an op.
func (m *OSDMap) MapObject(name string, loc Locator) (Placement, error) {
	raw, err := m.ObjectToPG(name, loc)
	if err != nil {
		return Placement{}, err
	}
	var pl Placement
	m.place(&pl, raw)
	return pl, nil
}

// MapObjectTo is MapObject reusing pl's Up and Acting slices, so that a
// caller placing many objects does not allocate.
func (m *OSDMap) MapObjectTo(pl *Placement, name string, loc Locator) error {
	raw, err := m.ObjectToPG(name, loc)
	if err != nil {
		return err
	}
	m.place(pl, raw)
	return nil
}

func (m *OSDMap) place(pl *Placement, raw PG) {
	p := m.Pools[raw.Pool]
	pl.RawPG, pl.PG = raw, p.RawPGToPG(raw)
	pl.Up, pl.UpPrimary, pl.Acting, pl.ActingPrimary = m.upActing(p, pl.PG, pl.Up, pl.Acting)
}

// Addrs returns osd's public (client-facing) addresses, or nil.
func (m *OSDMap) Addrs(osd int32) encoding.EntityAddrVec {
	if osd < 0 || int(osd) >= len(m.OSDAddrs) {
		return nil
	}
	return m.OSDAddrs[osd]
}

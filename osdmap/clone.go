package osdmap

import (
	"maps"

	"github.com/gomsgr/msgr/encoding"
)

// Clone returns a copy of m that Apply can change without affecting m, so
// that readers may keep placing objects with m while the next epoch is
// built. The CRUSH map is shared: Apply replaces it rather than editing it.
func (m *OSDMap) Clone() *OSDMap {
	c := *m
	c.Pools = make(map[int64]*Pool, len(m.Pools))
	for id, p := range m.Pools {
		np := *p
		np.Tiers = append([]int64(nil), p.Tiers...)
		c.Pools[id] = &np
	}
	c.OSDState = append([]uint32(nil), m.OSDState...)
	c.OSDWeight = append([]uint32(nil), m.OSDWeight...)
	c.OSDAddrs = append([]encoding.EntityAddrVec(nil), m.OSDAddrs...)
	c.HBBackAddrs = append([]encoding.EntityAddrVec(nil), m.HBBackAddrs...)
	c.HBFrontAddrs = append([]encoding.EntityAddrVec(nil), m.HBFrontAddrs...)
	c.ClusterAddrs = append([]encoding.EntityAddrVec(nil), m.ClusterAddrs...)
	if m.PrimaryAffinity != nil {
		c.PrimaryAffinity = append([]uint32(nil), m.PrimaryAffinity...)
	}
	c.OSDInfo = append([]OSDInfo(nil), m.OSDInfo...)
	c.OSDUUID = append(c.OSDUUID[:0:0], m.OSDUUID...)
	// Map values (vectors) are replaced, never edited, by Apply.
	c.PGTemp = maps.Clone(m.PGTemp)
	c.PrimaryTemp = maps.Clone(m.PrimaryTemp)
	c.PGUpmap = maps.Clone(m.PGUpmap)
	c.PGUpmapItems = maps.Clone(m.PGUpmapItems)
	c.PGUpmapPrimaries = maps.Clone(m.PGUpmapPrimaries)
	c.ErasureCodeProfiles = maps.Clone(m.ErasureCodeProfiles)
	return &c
}

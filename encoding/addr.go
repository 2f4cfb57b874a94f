package encoding

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
)

// AddrType is entity_addr_t's type: which protocol an address speaks.
type AddrType uint32

// Address types (entity_addr_t::TYPE_*).
const (
	AddrTypeNone   AddrType = 0
	AddrTypeLegacy AddrType = 1 // msgr1
	AddrTypeMsgr2  AddrType = 2
	AddrTypeAny    AddrType = 3
	AddrTypeCIDR   AddrType = 4
)

func (t AddrType) String() string {
	switch t {
	case AddrTypeNone:
		return "none"
	case AddrTypeLegacy:
		return "v1"
	case AddrTypeMsgr2:
		return "v2"
	case AddrTypeAny:
		return "any"
	case AddrTypeCIDR:
		return "cidr"
	}
	return "type" + strconv.FormatUint(uint64(t), 10)
}

// Socket address families as Linux numbers them; Ceph puts the sockaddr on
// the wire as raw Linux bytes.
const (
	afInet  = 2
	afInet6 = 10
)

const (
	sockaddrInLen      = 16  // sizeof(sockaddr_in)
	sockaddrIn6Len     = 28  // sizeof(sockaddr_in6), also sizeof(entity_addr_t::u)
	sockaddrStorageLen = 128 // sizeof(sockaddr_storage), the legacy encoding
)

// EntityAddr is Ceph's entity_addr_t: a type, a nonce that tells apart
// successive incarnations of one process, and an optional IP socket address.
type EntityAddr struct {
	Type  AddrType
	Nonce uint32
	// Addr is the IP and port; the zero AddrPort means no socket address
	// (Ceph's blank address, family 0).
	Addr netip.AddrPort
	// FlowInfo and ScopeID are sockaddr_in6's fields, kept so that an
	// IPv6 address re-encodes to the same bytes.
	FlowInfo uint32
	ScopeID  uint32
}

// String formats a as Ceph does: "v2:127.0.0.1:3300/0".
func (a EntityAddr) String() string {
	s := a.Type.String() + ":"
	if a.Addr.IsValid() {
		s += a.Addr.String()
	} else {
		s += "-"
	}
	return s + "/" + strconv.FormatUint(uint64(a.Nonce), 10)
}

// IsBlank reports whether a has no socket address.
func (a EntityAddr) IsBlank() bool { return !a.Addr.IsValid() }

// sockaddr appends a's raw Linux sockaddr (host-order family, network-order
// port), as Ceph's msgr2 encoding does. A blank address is 28 zero bytes,
// because Ceph sizes an unknown family as its whole union.
func (a EntityAddr) sockaddr(b []byte) []byte {
	ip := a.Addr.Addr()
	switch {
	case ip.Is4():
		b = AppendU16(b, afInet)
		b = binary.BigEndian.AppendUint16(b, a.Addr.Port())
		v4 := ip.As4()
		b = append(b, v4[:]...)
		return append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	case ip.Is6():
		b = AppendU16(b, afInet6)
		b = binary.BigEndian.AppendUint16(b, a.Addr.Port())
		b = AppendU32(b, a.FlowInfo)
		v6 := ip.As16()
		b = append(b, v6[:]...)
		return AppendU32(b, a.ScopeID)
	}
	var z [sockaddrIn6Len]byte
	return append(b, z[:]...)
}

// AppendEntityAddr appends a as entity_addr_t::encode does for a peer with
// features: the msgr2 form (marker 1, versioned struct, raw sockaddr) when
// features has MSG_ADDR2, else the legacy 136-byte form.
func AppendEntityAddr(b []byte, a EntityAddr, features uint64) []byte {
	if features&FeatureMsgAddr2 == 0 {
		return appendLegacyAddr(b, a)
	}
	b = append(b, 1)
	b, st := StructStart(b, 1, 1)
	t := a.Type
	if !HasFeatures(features, FeatureServerNautilus) && t == AddrTypeAny {
		t = AddrTypeLegacy // what Ceph sends pre-nautilus peers
	}
	b = AppendU32(b, uint32(t))
	b = AppendU32(b, a.Nonce)
	lp := len(b)
	b = AppendU32(b, 0)
	b = a.sockaddr(b)
	binary.LittleEndian.PutUint32(b[lp:], uint32(len(b)-lp-4))
	return StructEnd(b, st)
}

// appendLegacyAddr appends ceph_entity_addr: u32 type 0, nonce, and a
// 128-byte sockaddr_storage whose family is big-endian.
func appendLegacyAddr(b []byte, a EntityAddr) []byte {
	b = AppendU32(b, 0)
	b = AppendU32(b, a.Nonce)
	start := len(b)
	b = a.sockaddr(b)
	fam := binary.LittleEndian.Uint16(b[start:])
	binary.BigEndian.PutUint16(b[start:], fam)
	var z [sockaddrStorageLen]byte
	return append(b, z[:sockaddrStorageLen-(len(b)-start)]...)
}

// EntityAddr reads an entity_addr_t in either encoding.
func (d *Decoder) EntityAddr() EntityAddr {
	return d.entityAddrAfterMarker(d.U8())
}

func (d *Decoder) entityAddrAfterMarker(marker uint8) EntityAddr {
	if d.err != nil {
		return EntityAddr{}
	}
	switch marker {
	case 0:
		return d.legacyAddrAfterMarker()
	case 1:
	default:
		d.Failf("entity_addr_t marker %d", marker)
		return EntityAddr{}
	}
	st := d.StructStart("entity_addr_t", 1)
	var a EntityAddr
	a.Type = AddrType(d.U32())
	a.Nonce = d.U32()
	elen := d.U32()
	if d.err == nil && elen > 0 {
		if elen < 2 || int(elen) > d.Remaining() {
			d.Failf("entity_addr_t sockaddr length %d", elen)
		} else {
			d.parseSockaddr(&a, d.Bytes(int(elen)), false)
		}
	}
	d.StructEnd(st)
	if d.err != nil {
		return EntityAddr{}
	}
	return a
}

// legacyAddrAfterMarker reads the rest of ceph_entity_addr once its first
// byte (the low byte of the u32 type) is consumed.
func (d *Decoder) legacyAddrAfterMarker() EntityAddr {
	d.Skip(3)
	a := EntityAddr{Type: AddrTypeLegacy, Nonce: d.U32()}
	ss := d.Bytes(sockaddrStorageLen)
	if d.err != nil {
		return EntityAddr{}
	}
	d.parseSockaddr(&a, ss, true)
	if d.err != nil {
		return EntityAddr{}
	}
	return a
}

// parseSockaddr fills a from raw sockaddr bytes. Ceph rejects a sockaddr
// longer than its family's struct; bytes after the struct in the legacy
// 128-byte form are padding.
func (d *Decoder) parseSockaddr(a *EntityAddr, sa []byte, legacy bool) {
	var fam uint16
	if legacy {
		fam = binary.BigEndian.Uint16(sa)
	} else {
		fam = binary.LittleEndian.Uint16(sa)
	}
	var u [sockaddrIn6Len]byte
	switch fam {
	case 0:
		if !legacy && len(sa) > sockaddrIn6Len {
			d.Failf("entity_addr_t blank sockaddr length %d", len(sa))
		}
		return
	case afInet:
		if !legacy && len(sa) > sockaddrInLen {
			d.Failf("entity_addr_t AF_INET sockaddr length %d", len(sa))
			return
		}
		copy(u[:], sa)
		ip := netip.AddrFrom4([4]byte(u[4:8]))
		a.Addr = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(u[2:4]))
	case afInet6:
		if !legacy && len(sa) > sockaddrIn6Len {
			d.Failf("entity_addr_t AF_INET6 sockaddr length %d", len(sa))
			return
		}
		copy(u[:], sa)
		a.FlowInfo = binary.LittleEndian.Uint32(u[4:8])
		ip := netip.AddrFrom16([16]byte(u[8:24]))
		a.ScopeID = binary.LittleEndian.Uint32(u[24:28])
		a.Addr = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(u[2:4]))
	default:
		d.Fail(fmt.Errorf("%w: entity_addr_t address family %d", ErrMalformed, fam))
	}
}

// EntityAddrVec is Ceph's entity_addrvec_t: the addresses one entity
// listens on (typically a v2 and a v1 address).
type EntityAddrVec []EntityAddr

// Legacy returns the first msgr1 address, or a blank one.
func (v EntityAddrVec) Legacy() EntityAddr {
	for _, a := range v {
		if a.Type == AddrTypeLegacy {
			return a
		}
	}
	return EntityAddr{}
}

// Msgr2 returns the first msgr2 address, or a blank one.
func (v EntityAddrVec) Msgr2() EntityAddr {
	for _, a := range v {
		if a.Type == AddrTypeMsgr2 {
			return a
		}
	}
	return EntityAddr{}
}

// String formats v as Ceph does: "[v2:1.2.3.4:3300/0,v1:1.2.3.4:6789/0]".
func (v EntityAddrVec) String() string {
	if len(v) == 1 {
		return v[0].String()
	}
	s := "["
	for i, a := range v {
		if i > 0 {
			s += ","
		}
		s += a.String()
	}
	return s + "]"
}

// entityAddrMinSize is the smallest encoded entity_addr_t (marker 1,
// struct header, type, nonce, zero sockaddr length).
const entityAddrMinSize = 1 + 6 + 12

// AppendEntityAddrVec appends v as entity_addrvec_t::encode does: marker 2
// and a vector when features has MSG_ADDR2, else the legacy address alone.
func AppendEntityAddrVec(b []byte, v EntityAddrVec, features uint64) []byte {
	if features&FeatureMsgAddr2 == 0 {
		return appendLegacyAddr(b, v.Legacy())
	}
	b = append(b, 2)
	b = AppendU32(b, uint32(len(v)))
	for _, a := range v {
		b = AppendEntityAddr(b, a, features)
	}
	return b
}

// EntityAddrVec reads an entity_addrvec_t in any of its encodings (a legacy
// address, a single msgr2 address, or a vector).
func (d *Decoder) EntityAddrVec() EntityAddrVec {
	m := d.U8()
	if d.err != nil {
		return nil
	}
	switch m {
	case 0, 1:
		a := d.entityAddrAfterMarker(m)
		if d.err != nil {
			return nil
		}
		return EntityAddrVec{a}
	case 2:
	default:
		d.Failf("entity_addrvec_t marker %d", m)
		return nil
	}
	n := d.Len(entityAddrMinSize)
	if d.err != nil {
		return nil
	}
	v := make(EntityAddrVec, 0, n)
	for i := 0; i < n; i++ {
		a := d.EntityAddr()
		if d.err != nil {
			return nil
		}
		v = append(v, a)
	}
	return v
}

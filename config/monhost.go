package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// Default monitor ports (CEPH_MON_PORT_IANA, CEPH_MON_PORT_LEGACY).
const (
	MonPortV2 = 3300
	MonPortV1 = 6789
)

// MaxMons bounds how many monitors one mon_host value may name.
const MaxMons = 256

// ErrNoMonHost is returned when neither mon_host nor any [mon.X] mon addr
// names a monitor.
var ErrNoMonHost = errors.New("config: no monitors configured (mon host, [mon.X] mon addr)")

// ErrBadAddr is matched by errors for addresses that do not parse.
var ErrBadAddr = errors.New("config: bad address")

// Mon is one monitor as a client's initial monmap knows it. Names of mons
// found in mon_host are made up as Ceph makes them up ("noname-a",
// "noname-a-legacy").
type Mon struct {
	Name     string
	Addrs    encoding.EntityAddrVec
	Priority uint16
	Weight   uint16
}

// LookupHost resolves a monitor host name; tests replace it. It is used
// only for tokens of mon_host that are not IP addresses.
var LookupHost = func(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Mons returns the initial monitors: from mon_host (overrides or file) if
// set, else from the [mon.X] sections' mon addr, as MonMap::build_initial
// does for a client.
func (c *Config) Mons() ([]Mon, error) {
	if v, ok := c.Get("mon_host"); ok && strings.TrimSpace(v) != "" {
		return ParseMonHost(v)
	}
	if c.File == nil {
		return nil, ErrNoMonHost
	}
	// MonMap::init_with_config_file: "mon addr" is a legacy field, one
	// address per [mon.X] (also found in [mon] or [global]), untyped means
	// v1, no port means 6789; address vectors are refused there.
	var mm monmap
	var skipped []string
	for _, s := range c.File.Sections() {
		name, ok := strings.CutPrefix(s, "mon.")
		if !ok || name == "" {
			continue
		}
		sections := []string{s, "mon", "global"}
		v, ok := c.lookupIn(sections, "mon_addr")
		if !ok {
			continue
		}
		a, rest, ok := parseAddr(strings.TrimSpace(v), encoding.AddrTypeLegacy)
		if !ok || rest != "" {
			skipped = append(skipped, fmt.Sprintf("[%s] mon addr = %q", s, v))
			continue
		}
		if a.Addr.Port() == 0 {
			a.Addr = netip.AddrPortFrom(a.Addr.Addr(), MonPortV1)
		}
		var prio uint16
		if pv, ok := c.lookupIn(sections, "mon_priority"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(pv), 10, 16)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("[%s] mon priority = %q", s, pv))
				continue
			}
			prio = uint16(n)
		}
		mm.remove(name, a)
		mm.addAmbiguous(name, a, prio, 0)
	}
	if len(mm.mons) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("%w; unusable: %s", ErrNoMonHost, strings.Join(skipped, ", "))
		}
		return nil, ErrNoMonHost
	}
	return mm.mons, nil
}

func (c *Config) lookupIn(sections []string, key string) (string, bool) {
	for _, s := range sections {
		if v, ok := c.File.Lookup(s, key); ok {
			return v, true
		}
	}
	return "", false
}

// remove drops the mon called name and any mon holding a.
func (m *monmap) remove(name string, a encoding.EntityAddr) {
	out := m.mons[:0]
	for _, mon := range m.mons {
		has := false
		for _, x := range mon.Addrs {
			has = has || sameAddr(x, a)
		}
		if mon.Name != name && !has {
			out = append(out, mon)
		}
	}
	m.mons = out
}

// ParseMonHost parses a mon_host value as MonMap::build_initial does for a
// client: items separated by spaces, semicolons or commas; each an address
// ("127.0.0.1", "127.0.0.1:6789", "v2:127.0.0.1:3300", "[::1]:3300") or an
// address vector ("[v2:127.0.0.1:3300,v1:127.0.0.1:6789]"). An address
// without a v1:/v2: prefix is ambiguous: port 3300 means v2, 6789 v1, no
// port both defaults, and any other port both protocols on that port, each
// a separate monitor to try. Tokens that are not IP addresses are resolved
// as host names with LookupHost.
func ParseMonHost(s string) ([]Mon, error) { return parseMonHost(s, false) }

// parseMonHost is ParseMonHost, or with forMkfs how a monitor building
// its first monmap reads the same value (monmaptool --generate): an
// ambiguous address then becomes one monitor, not one per protocol.
func parseMonHost(s string, forMkfs bool) ([]Mon, error) {
	mm := monmap{forMkfs: forMkfs}
	idx := 0
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ';' || r == '\t' || r == '\n' }) {
		for item != "" {
			if idx >= MaxMons {
				return nil, fmt.Errorf("%w: more than %d monitors in %q", ErrBadAddr, MaxMons, s)
			}
			name := "noname-" + monLetter(idx)
			if a, rest, ok := parseAddr(item, encoding.AddrTypeAny); ok && (rest == "" || rest[0] == ',') {
				mm.addAmbiguous(name, a, 0, 0)
				item = strings.TrimPrefix(rest, ",")
			} else if vec, rest, ok := parseAddrVec(item); ok && (rest == "" || rest[0] == ',') {
				if len(vec) == 1 {
					mm.addAmbiguous(name, vec[0], 0, 0)
				} else {
					mm.add(Mon{Name: name, Addrs: vec})
				}
				item = strings.TrimPrefix(rest, ",")
			} else {
				host, rest, _ := strings.Cut(item, ",")
				if err := mm.addHost(name, host); err != nil {
					return nil, err
				}
				item = rest
			}
			idx++
		}
	}
	if len(mm.mons) == 0 {
		return nil, fmt.Errorf("%w: mon host %q names no monitor", ErrNoMonHost, s)
	}
	return mm.mons, nil
}

func monLetter(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return strconv.Itoa(i)
}

type monmap struct {
	mons    []Mon
	forMkfs bool
}

func sameAddr(a, b encoding.EntityAddr) bool { return a.Type == b.Type && a.Addr == b.Addr }

func (m *monmap) contains(a encoding.EntityAddr) bool {
	for _, mon := range m.mons {
		for _, x := range mon.Addrs {
			if sameAddr(x, a) {
				return true
			}
		}
	}
	return false
}

func (m *monmap) add(mon Mon) {
	for _, x := range m.mons {
		if x.Name == mon.Name {
			return
		}
	}
	m.mons = append(m.mons, mon)
}

func (m *monmap) addOne(name string, a encoding.EntityAddr, prio, weight uint16) {
	if !m.contains(a) {
		m.add(Mon{Name: name, Addrs: encoding.EntityAddrVec{a}, Priority: prio, Weight: weight})
	}
}

func setDefaultPort(a *encoding.EntityAddr) {
	if a.Addr.Port() != 0 {
		return
	}
	port := uint16(MonPortV2)
	if a.Type == encoding.AddrTypeLegacy {
		port = MonPortV1
	}
	a.Addr = netip.AddrPortFrom(a.Addr.Addr(), port)
}

func withPort(a encoding.EntityAddr, t encoding.AddrType, port uint16) encoding.EntityAddr {
	a.Type = t
	a.Addr = netip.AddrPortFrom(a.Addr.Addr(), port)
	return a
}

// addAmbiguous is MonMap::_add_ambiguous_addr with for_mkfs false.
func (m *monmap) addAmbiguous(name string, a encoding.EntityAddr, prio, weight uint16) {
	if a.Type != encoding.AddrTypeAny {
		if a.Addr.Port() == 0 {
			setDefaultPort(&a)
			prio = 0
		}
		m.addOne(name, a, prio, weight)
		return
	}
	if m.forMkfs {
		switch port := a.Addr.Port(); port {
		case MonPortV1:
			m.addOne(name, withPort(a, encoding.AddrTypeLegacy, port), 0, weight)
		case 0:
			vec := encoding.EntityAddrVec{withPort(a, encoding.AddrTypeMsgr2, MonPortV2), withPort(a, encoding.AddrTypeLegacy, MonPortV1)}
			if !m.contains(vec[0]) && !m.contains(vec[1]) {
				m.add(Mon{Name: name, Addrs: vec, Weight: weight})
			}
		default:
			m.addOne(name, withPort(a, encoding.AddrTypeMsgr2, port), prio, weight)
		}
		return
	}
	switch port := a.Addr.Port(); port {
	case MonPortV1:
		m.addOne(name+"-legacy", withPort(a, encoding.AddrTypeLegacy, port), 0, weight)
	case MonPortV2:
		m.addOne(name, withPort(a, encoding.AddrTypeMsgr2, port), 0, weight)
	case 0:
		m.addOne(name, withPort(a, encoding.AddrTypeMsgr2, MonPortV2), 0, weight)
		m.addOne(name+"-legacy", withPort(a, encoding.AddrTypeLegacy, MonPortV1), 0, weight)
	default:
		m.addOne(name, withPort(a, encoding.AddrTypeMsgr2, port), prio, weight)
		m.addOne(name+"-legacy", withPort(a, encoding.AddrTypeLegacy, port), prio, weight)
	}
}

// addHost resolves "host" or "host:port" and adds every address found.
func (m *monmap) addHost(name, tok string) error {
	host, port := tok, uint16(0)
	if h, p, ok := strings.Cut(tok, ":"); ok && !strings.Contains(p, ":") {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return fmt.Errorf("%w: %q", ErrBadAddr, tok)
		}
		host, port = h, uint16(n)
	}
	if !validHostname(host) {
		return fmt.Errorf("%w: %q is neither an address nor a host name", ErrBadAddr, tok)
	}
	ips, err := LookupHost(host)
	if err != nil {
		return fmt.Errorf("%w: resolving %q: %v", ErrBadAddr, host, err)
	}
	if len(ips) == 0 {
		return fmt.Errorf("%w: %q resolves to no address", ErrBadAddr, host)
	}
	for i, ip := range ips {
		n := name
		if i > 0 {
			n = name + "-" + strconv.Itoa(i)
		}
		m.addAmbiguous(n, encoding.EntityAddr{Type: encoding.AddrTypeAny, Addr: netip.AddrPortFrom(ip.Unmap(), port)}, 0, 0)
	}
	return nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c == '-' || c == '.' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// parseAddr parses one entity_addr_t at the start of s as
// entity_addr_t::parse does: an optional "v1:", "v2:" or "any:" prefix, an
// IPv4 address, a bracketed IPv6 address or a bare IPv6 address (no port
// then), an optional ":port" and an optional "/nonce". It returns what
// follows.
func parseAddr(s string, deflt encoding.AddrType) (encoding.EntityAddr, string, bool) {
	a := encoding.EntityAddr{Type: deflt}
	switch {
	case strings.HasPrefix(s, "v1:"):
		a.Type, s = encoding.AddrTypeLegacy, s[3:]
	case strings.HasPrefix(s, "v2:"):
		a.Type, s = encoding.AddrTypeMsgr2, s[3:]
	case strings.HasPrefix(s, "any:"):
		a.Type, s = encoding.AddrTypeAny, s[4:]
	}
	var ip netip.Addr
	bracketed := false
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return a, s, false
		}
		x, err := netip.ParseAddr(s[1:end])
		if err != nil || !x.Is6() {
			return a, s, false
		}
		ip, s, bracketed = x, s[end+1:], true
	} else {
		n := 0
		for n < len(s) && (s[n] == '.' || s[n] >= '0' && s[n] <= '9') {
			n++
		}
		if x, err := netip.ParseAddr(s[:n]); err == nil && x.Is4() {
			ip, s = x, s[n:]
		} else {
			n = 0
			for n < len(s) && (s[n] == ':' || s[n] == '.' || s[n] >= '0' && s[n] <= '9' ||
				s[n] >= 'a' && s[n] <= 'f' || s[n] >= 'A' && s[n] <= 'F') {
				n++
			}
			x, err := netip.ParseAddr(s[:n])
			if err != nil || !x.Is6() {
				return a, s, false
			}
			ip, s = x, s[n:]
		}
	}
	var port uint64
	if strings.HasPrefix(s, ":") && (bracketed || ip.Is4()) {
		n := 1
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		p, err := strconv.ParseUint(s[1:n], 10, 16)
		if err != nil {
			return a, s, false
		}
		port, s = p, s[n:]
	}
	if strings.HasPrefix(s, "/") {
		n := 1
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		nonce, err := strconv.ParseUint(s[1:n], 10, 32)
		if err != nil {
			return a, s, false
		}
		a.Nonce, s = uint32(nonce), s[n:]
	}
	a.Addr = netip.AddrPortFrom(ip, uint16(port))
	return a, s, true
}

// parseAddrVec parses "[addr,addr,...]" at the start of s.
func parseAddrVec(s string) (encoding.EntityAddrVec, string, bool) {
	if !strings.HasPrefix(s, "[") {
		return nil, s, false
	}
	s = s[1:]
	var vec encoding.EntityAddrVec
	for {
		if len(vec) >= MaxMons {
			return nil, s, false
		}
		a, rest, ok := parseAddr(s, encoding.AddrTypeMsgr2)
		if !ok {
			return nil, s, false
		}
		vec = append(vec, a)
		switch {
		case strings.HasPrefix(rest, ","):
			s = rest[1:]
		case strings.HasPrefix(rest, "]"):
			return vec, rest[1:], true
		default:
			return nil, s, false
		}
	}
}

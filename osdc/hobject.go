package osdc

import (
	"cmp"
	"math/bits"
	"strings"

	"github.com/gomsgr/msgr/messages"
)

// cmpHObject orders hobject_t as Ceph's bitwise sort does (hobject.cc
// cmp): max last, then pool, bit-reversed hash, namespace, effective key
// (locator key or name), name, snap. OSD backoff ranges are intervals in
// this order.
func cmpHObject(a, b *messages.HObject) int {
	if a.Max != b.Max {
		if a.Max {
			return 1
		}
		return -1
	}
	if a.Max {
		return 0
	}
	if c := cmp.Compare(a.Pool, b.Pool); c != 0 {
		return c
	}
	if c := cmp.Compare(bits.Reverse32(a.Hash), bits.Reverse32(b.Hash)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	if c := strings.Compare(effectiveKey(a), effectiveKey(b)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Oid, b.Oid); c != 0 {
		return c
	}
	return cmp.Compare(a.Snap, b.Snap)
}

func effectiveKey(h *messages.HObject) string {
	if h.Key != "" {
		return h.Key
	}
	return h.Oid
}

// backoff is one MOSDBackoff block in force on a session.
type backoff struct {
	pg         messages.PG
	id         uint64
	begin, end messages.HObject
}

// covers reports whether the backoff blocks h in pg: [begin, end), or h
// itself when begin == end (a single-object block).
func (b *backoff) covers(pg messages.PG, h *messages.HObject) bool {
	if pg != b.pg {
		return false
	}
	if cmpHObject(&b.begin, &b.end) == 0 {
		return cmpHObject(h, &b.begin) == 0
	}
	return cmpHObject(h, &b.begin) >= 0 && cmpHObject(h, &b.end) < 0
}

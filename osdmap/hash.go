package osdmap

import "github.com/gomsgr/msgr/internal/rjenkins"

// StrHash is ceph_str_hash: the object name hash selected by a pool's
// object_hash. Unknown types hash to 0xffffffff, as in Ceph.
func StrHash(typ uint8, s string) uint32 { return strHash(typ, s) }

func strHashBytes(typ uint8, b []byte) uint32 { return strHash(typ, b) }

func strHash[T string | []byte](typ uint8, s T) uint32 {
	switch typ {
	case HashLinux:
		var h uint32
		for i := 0; i < len(s); i++ {
			c := uint32(s[i])
			h = (h + (c << 4) + (c >> 4)) * 11
		}
		return h
	case HashRjenkins:
		return rjenkins.Str(s)
	}
	return 0xffffffff
}

package encoding

import (
	"encoding/hex"
	"time"
)

// UTime is Ceph's utime_t: seconds and nanoseconds since the Unix epoch,
// each a u32 on the wire.
type UTime struct {
	Sec  uint32
	Nsec uint32
}

// UTimeSize is the encoded size of a UTime.
const UTimeSize = 8

// UTimeOf converts t. Times outside utime_t's range wrap as a u32 would.
func UTimeOf(t time.Time) UTime {
	return UTime{Sec: uint32(t.Unix()), Nsec: uint32(t.Nanosecond())}
}

// Time converts u to a time.Time in UTC.
func (u UTime) Time() time.Time {
	return time.Unix(int64(u.Sec), int64(u.Nsec)).UTC()
}

// IsZero reports whether u is the zero utime_t.
func (u UTime) IsZero() bool { return u.Sec == 0 && u.Nsec == 0 }

// AppendUTime appends u.
func AppendUTime(b []byte, u UTime) []byte {
	b = AppendU32(b, u.Sec)
	return AppendU32(b, u.Nsec)
}

// UTime reads a utime_t.
func (d *Decoder) UTime() UTime {
	s := d.U32()
	return UTime{Sec: s, Nsec: d.U32()}
}

// UUID is Ceph's uuid_d, encoded as its 16 raw bytes.
type UUID [16]byte

// String formats u in the canonical 8-4-4-4-12 form.
func (u UUID) String() string {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// ParseUUID parses the canonical 8-4-4-4-12 form.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, ErrMalformed
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return UUID{}, ErrMalformed
	}
	return u, nil
}

// AppendUUID appends u's 16 bytes.
func AppendUUID(b []byte, u UUID) []byte { return append(b, u[:]...) }

// UUID reads a uuid_d.
func (d *Decoder) UUID() UUID {
	var u UUID
	copy(u[:], d.Bytes(16))
	return u
}

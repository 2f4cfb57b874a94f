package encoding

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Decoder reads Ceph-encoded values from a byte slice. The zero value decodes
// nothing; use NewDecoder. Errors are sticky: once a read fails, every later
// read returns a zero value and Err returns the first error.
//
// Byte slices returned by Bytes, Blob and Rest alias the input; copy them if
// they must outlive it.
type Decoder struct {
	buf []byte
	off int
	err error
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{buf: b} }

// Reset makes d decode b from its start, clearing any error.
func (d *Decoder) Reset(b []byte) { *d = Decoder{buf: b} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Fail records err (if no error is recorded yet) and returns the recorded one.
func (d *Decoder) Fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// Failf records a formatted ErrMalformed.
func (d *Decoder) Failf(format string, args ...any) error {
	return d.Fail(fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...))
}

// Offset returns the number of bytes consumed.
func (d *Decoder) Offset() int { return d.off }

// Remaining returns the number of bytes not yet consumed.
func (d *Decoder) Remaining() int { return len(d.buf) - d.off }

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf)-d.off {
		d.err = ErrTruncated
		return nil
	}
	p := d.buf[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

// U8 reads a byte.
func (d *Decoder) U8() uint8 {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

// U16 reads a little-endian u16.
func (d *Decoder) U16() uint16 {
	if p := d.take(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

// U32 reads a little-endian u32.
func (d *Decoder) U32() uint32 {
	if p := d.take(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

// U64 reads a little-endian u64.
func (d *Decoder) U64() uint64 {
	if p := d.take(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// I32 reads a little-endian i32.
func (d *Decoder) I32() int32 { return int32(d.U32()) }

// I64 reads a little-endian i64.
func (d *Decoder) I64() int64 { return int64(d.U64()) }

// F64 reads an IEEE-754 double.
func (d *Decoder) F64() float64 { return math.Float64frombits(d.U64()) }

// Bool reads one byte; any non-zero value is true, as in Ceph.
func (d *Decoder) Bool() bool { return d.U8() != 0 }

// Bytes reads exactly n bytes, aliasing the input.
func (d *Decoder) Bytes(n int) []byte { return d.take(n) }

// Since returns a copy of the bytes read from offset from (an earlier
// Offset) up to now: for decoders that keep a field they do not model so
// that re-encoding gives the same bytes.
func (d *Decoder) Since(from int) []byte {
	if d.err != nil || from < 0 || from > d.off {
		return nil
	}
	return append([]byte(nil), d.buf[from:d.off]...)
}

// Skip discards n bytes.
func (d *Decoder) Skip(n int) { d.take(n) }

// Rest returns every remaining byte, aliasing the input.
func (d *Decoder) Rest() []byte { return d.take(d.Remaining()) }

// Len reads a u32 length and checks that at least min*length bytes remain,
// so that a caller may allocate length elements of at least min bytes each.
func (d *Decoder) Len(min int) int {
	n := d.U32()
	if d.err != nil {
		return 0
	}
	if min < 1 {
		min = 1
	}
	if uint64(n)*uint64(min) > uint64(d.Remaining()) {
		d.err = fmt.Errorf("%w: %d elements of at least %d bytes, %d bytes left", ErrTooLarge, n, min, d.Remaining())
		return 0
	}
	return int(n)
}

// Blob reads a u32-length-prefixed byte string, aliasing the input.
func (d *Decoder) Blob() []byte {
	n := d.Len(1)
	if d.err != nil {
		return nil
	}
	return d.take(n)
}

// String reads a u32-length-prefixed string (copied).
func (d *Decoder) String() string { return string(d.Blob()) }

// StringSlice reads a std::vector<std::string>.
func (d *Decoder) StringSlice() []string {
	n := d.Len(4)
	if n == 0 {
		return nil
	}
	ss := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		ss = append(ss, d.String())
	}
	return ss
}

// Struct is an open versioned struct returned by StructStart; pass it to
// StructEnd once the fields this decoder knows have been read.
type Struct struct {
	V      uint8 // struct_v found on the wire
	Compat uint8 // compat_v found on the wire
	end    int   // offset just past the struct
	outer  []byte
}

// StructStart reads a versioned struct header (DECODE_START(supported, bl)).
// It fails with a *CompatError if the struct's compat version is newer than
// supported, and limits the Decoder to the struct's bytes until StructEnd.
func (d *Decoder) StructStart(name string, supported uint8) Struct {
	v, compat := d.U8(), d.U8()
	n := d.U32()
	if d.err != nil {
		return Struct{}
	}
	if compat > supported {
		d.err = &CompatError{Struct: name, CompatV: compat, Supported: supported}
		return Struct{}
	}
	if uint64(n) > uint64(d.Remaining()) {
		d.err = fmt.Errorf("%w: %s: struct length %d, %d bytes left", ErrTruncated, name, n, d.Remaining())
		return Struct{}
	}
	s := Struct{V: v, Compat: compat, end: d.off + int(n), outer: d.buf}
	d.buf = d.buf[:s.end]
	return s
}

// StructEnd skips any unknown tail of s (fields newer than this decoder) and
// restores the Decoder to the enclosing input.
func (d *Decoder) StructEnd(s Struct) {
	if s.outer == nil {
		return // StructStart failed; the error is already recorded
	}
	d.buf = s.outer
	if d.err != nil {
		return
	}
	if d.off > s.end {
		d.err = fmt.Errorf("%w: read past end of struct", ErrMalformed)
		return
	}
	d.off = s.end
}

// Sub reads a u32-length-prefixed region and returns a Decoder limited to it
// (an embedded bufferlist). The outer Decoder moves past the region.
func (d *Decoder) Sub() *Decoder {
	p := d.Blob()
	sub := &Decoder{buf: p}
	if d.err != nil {
		sub.err = d.err
	}
	return sub
}

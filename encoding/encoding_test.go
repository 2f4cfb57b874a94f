package encoding

import (
	"bytes"
	"errors"
	"testing"
)

func TestPrimitivesRoundTrip(t *testing.T) {
	var b []byte
	b = AppendU8(b, 0xab)
	b = AppendU16(b, 0x1234)
	b = AppendU32(b, 0xdeadbeef)
	b = AppendU64(b, 0x0102030405060708)
	b = AppendI32(b, -5)
	b = AppendI64(b, -6)
	b = AppendBool(b, true)
	b = AppendString(b, "admin")
	b = AppendBytes(b, []byte{1, 2, 3})
	b = AppendStringSlice(b, []string{"a", "bc"})
	b = AppendF64(b, 1.5)

	d := NewDecoder(b)
	if got := d.U8(); got != 0xab {
		t.Fatalf("U8 = %#x", got)
	}
	if got := d.U16(); got != 0x1234 {
		t.Fatalf("U16 = %#x", got)
	}
	if got := d.U32(); got != 0xdeadbeef {
		t.Fatalf("U32 = %#x", got)
	}
	if got := d.U64(); got != 0x0102030405060708 {
		t.Fatalf("U64 = %#x", got)
	}
	if got := d.I32(); got != -5 {
		t.Fatalf("I32 = %d", got)
	}
	if got := d.I64(); got != -6 {
		t.Fatalf("I64 = %d", got)
	}
	if !d.Bool() {
		t.Fatal("Bool = false")
	}
	if got := d.String(); got != "admin" {
		t.Fatalf("String = %q", got)
	}
	if got := d.Blob(); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("Blob = %v", got)
	}
	if got := d.StringSlice(); len(got) != 2 || got[0] != "a" || got[1] != "bc" {
		t.Fatalf("StringSlice = %q", got)
	}
	if got := d.F64(); got != 1.5 {
		t.Fatalf("F64 = %v", got)
	}
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("err %v, %d left", d.Err(), d.Remaining())
	}
}

func TestLittleEndianLayout(t *testing.T) {
	got := AppendU32(nil, 0x01020304)
	if !bytes.Equal(got, []byte{4, 3, 2, 1}) {
		t.Fatalf("got % x", got)
	}
}

func TestVersionedStructSkipsUnknownTail(t *testing.T) {
	b, start := StructStart(nil, 3, 1)
	b = AppendU32(b, 7)
	b = AppendU64(b, 99) // a field from a newer version
	b = StructEnd(b, start)
	b = AppendU8(b, 0x5a) // after the struct

	d := NewDecoder(b)
	s := d.StructStart("test", 2)
	if s.V != 3 || s.Compat != 1 {
		t.Fatalf("v=%d compat=%d", s.V, s.Compat)
	}
	if got := d.U32(); got != 7 {
		t.Fatalf("field = %d", got)
	}
	d.StructEnd(s)
	if got := d.U8(); got != 0x5a || d.Err() != nil {
		t.Fatalf("after struct: %#x, %v", got, d.Err())
	}
}

func TestVersionedStructErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"compat too new", []byte{5, 5, 0, 0, 0, 0}, ErrMalformed},
		{"length past end", []byte{1, 1, 10, 0, 0, 0, 1}, ErrTruncated},
		{"short header", []byte{1, 1, 0}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.in)
			s := d.StructStart("x", 2)
			d.StructEnd(s)
			if !errors.Is(d.Err(), tt.want) {
				t.Fatalf("err = %v, want %v", d.Err(), tt.want)
			}
		})
	}
	d := NewDecoder([]byte{5, 5, 0, 0, 0, 0})
	d.StructStart("pg_pool_t", 2)
	var ce *CompatError
	if !errors.As(d.Err(), &ce) || ce.CompatV != 5 || ce.Supported != 2 {
		t.Fatalf("err = %v", d.Err())
	}
}

func TestReadPastStructEnd(t *testing.T) {
	b, start := StructStart(nil, 1, 1)
	b = AppendU16(b, 1)
	b = StructEnd(b, start)
	b = AppendU32(b, 0)
	d := NewDecoder(b)
	s := d.StructStart("x", 1)
	d.U32() // only 2 bytes in the struct
	d.StructEnd(s)
	if !errors.Is(d.Err(), ErrTruncated) {
		t.Fatalf("err = %v", d.Err())
	}
}

func TestLengthsCheckedBeforeAllocation(t *testing.T) {
	huge := AppendU32(nil, 0xffffffff)
	for name, f := range map[string]func(*Decoder){
		"blob":   func(d *Decoder) { d.Blob() },
		"string": func(d *Decoder) { _ = d.String() },
		"slice":  func(d *Decoder) { d.StringSlice() },
	} {
		d := NewDecoder(huge)
		allocs := testing.AllocsPerRun(10, func() { d.Reset(huge); f(d) })
		if !errors.Is(d.Err(), ErrTooLarge) {
			t.Errorf("%s: err = %v", name, d.Err())
		}
		// Formatting the error allocates a few small objects; a 4 GiB
		// buffer would not show up as a count, so the decoder's check is
		// also what keeps this test from exhausting memory.
		if allocs > 8 {
			t.Errorf("%s: %v allocations on a hostile length", name, allocs)
		}
	}
}

func TestStickyError(t *testing.T) {
	d := NewDecoder([]byte{1})
	d.U32()
	if d.U8() != 0 || !errors.Is(d.Err(), ErrTruncated) {
		t.Fatalf("sticky error lost: %v", d.Err())
	}
}

func TestSub(t *testing.T) {
	b, start := LenStart(nil)
	b = AppendU64(b, 42)
	b = LenEnd(b, start)
	b = AppendU8(b, 9)
	d := NewDecoder(b)
	sub := d.Sub()
	if sub.U64() != 42 || sub.Remaining() != 0 || d.U8() != 9 || d.Err() != nil {
		t.Fatal("Sub mismatch")
	}
}

func BenchmarkAppendStruct(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		p, s := StructStart(buf[:0], 1, 1)
		p = AppendU64(p, 1)
		p = AppendString(p, "client.admin")
		_ = StructEnd(p, s)
	}
}

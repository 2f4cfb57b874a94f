package encoding

import "testing"

// FuzzDecoder drives every primitive over arbitrary input: it must never
// panic, and never read past the input.
func FuzzDecoder(f *testing.F) {
	b, s := StructStart(nil, 2, 1)
	b = AppendString(b, "x")
	b = AppendStringSlice(b, []string{"a"})
	b = StructEnd(b, s)
	f.Add(b, uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, prog uint8) {
		d := NewDecoder(in)
		for i := 0; d.Err() == nil && i < 64; i++ {
			switch (int(prog) + i) % 7 {
			case 0:
				st := d.StructStart("f", 2)
				_ = d.String()
				d.StructEnd(st)
			case 1:
				d.StringSlice()
			case 2:
				d.Blob()
			case 3:
				d.U64()
			case 4:
				d.Sub().U32()
			case 5:
				d.Len(8)
			case 6:
				d.Bool()
			}
			if d.Offset() > len(in) {
				t.Fatalf("offset %d past input %d", d.Offset(), len(in))
			}
		}
	})
}

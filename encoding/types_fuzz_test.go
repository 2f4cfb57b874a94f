package encoding

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzEntityAddr decodes arbitrary bytes as each Ceph address form; what
// decodes must re-encode to a value that decodes the same.
func FuzzEntityAddr(f *testing.F) {
	for _, s := range []string{capturedMonAddr, capturedClientAddr} {
		b, _ := hex.DecodeString(s)
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
	}
	f.Add(AppendEntityAddr(nil, EntityAddr{}, 0), uint8(0))
	f.Add(AppendEntityAddrVec(nil, EntityAddrVec{{Type: AddrTypeLegacy}, {Type: AddrTypeMsgr2}}, FeaturesAll), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		d := NewDecoder(in)
		var v EntityAddrVec
		if which%2 == 0 {
			a := d.EntityAddr()
			v = EntityAddrVec{a}
		} else {
			v = d.EntityAddrVec()
		}
		if d.Err() != nil {
			return
		}
		if d.Offset() > len(in) {
			t.Fatal("read past input")
		}
		b := AppendEntityAddrVec(nil, v, Msgr2FrameFeatures)
		d2 := NewDecoder(b)
		v2 := d2.EntityAddrVec()
		if d2.Err() != nil || d2.Remaining() != 0 || len(v2) != len(v) {
			t.Fatalf("re-decode: %v, %d left", d2.Err(), d2.Remaining())
		}
		for i := range v {
			if v[i] != v2[i] {
				t.Fatalf("%+v != %+v", v[i], v2[i])
			}
		}
	})
}

// FuzzNameTimeUUID round-trips the fixed-size types.
func FuzzNameTimeUUID(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0xff}, 33))
	f.Add(AppendEntityName(nil, EntityName{EntityTypeClient, 4112}))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(in)
		n, u, id := d.EntityName(), d.UTime(), d.UUID()
		if d.Err() != nil {
			if len(in) >= EntityNameSize+UTimeSize+16 {
				t.Fatal(d.Err())
			}
			return
		}
		b := AppendUUID(AppendUTime(AppendEntityName(nil, n), u), id)
		if !bytes.Equal(b, in[:len(b)]) {
			t.Fatalf("%x != %x", b, in[:len(b)])
		}
		_ = n.String() + id.String()
		if _, err := ParseUUID(id.String()); err != nil {
			t.Fatal(err)
		}
	})
}

package encoding

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Captured from none-crc/conn1: the mon address in the client's HELLO and
// the client's addrvec in CLIENT_IDENT (Ceph 16.2.15 on Linux).
const (
	capturedMonAddr    = "0101011c00000002000000000000001000000002000ce47f0000010000000000000000"
	capturedClientAddr = "02010000000101011c000000030000003e726b7710000000020000007f0000010000000000000000"
)

func TestEntityAddrCaptured(t *testing.T) {
	in := mustHex(t, capturedMonAddr)
	d := NewDecoder(in)
	a := d.EntityAddr()
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("err %v, %d left", d.Err(), d.Remaining())
	}
	want := EntityAddr{Type: AddrTypeMsgr2, Addr: netip.MustParseAddrPort("127.0.0.1:3300")}
	if a != want {
		t.Fatalf("got %+v want %+v", a, want)
	}
	if s := a.String(); s != "v2:127.0.0.1:3300/0" {
		t.Fatalf("String = %q", s)
	}
	if out := AppendEntityAddr(nil, a, Msgr2FrameFeatures); !bytes.Equal(out, in) {
		t.Fatalf("re-encode\n got %x\nwant %x", out, in)
	}

	in = mustHex(t, capturedClientAddr)
	d = NewDecoder(in)
	v := d.EntityAddrVec()
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("err %v, %d left", d.Err(), d.Remaining())
	}
	if len(v) != 1 || v[0].Type != AddrTypeAny || v[0].Nonce != 0x776b723e || v[0].Addr != netip.MustParseAddrPort("127.0.0.1:0") {
		t.Fatalf("got %v", v)
	}
	if out := AppendEntityAddrVec(nil, v, Msgr2FrameFeatures); !bytes.Equal(out, in) {
		t.Fatalf("re-encode\n got %x\nwant %x", out, in)
	}
}

func TestEntityAddrRoundTrip(t *testing.T) {
	addrs := []EntityAddr{
		{},
		{Type: AddrTypeLegacy, Nonce: 7, Addr: netip.MustParseAddrPort("10.1.2.3:6789")},
		{Type: AddrTypeMsgr2, Nonce: 1, Addr: netip.MustParseAddrPort("[fe80::1]:3300"), FlowInfo: 5, ScopeID: 2},
		{Type: AddrTypeAny, Addr: netip.MustParseAddrPort("[::]:0")},
		{Type: AddrTypeCIDR, Addr: netip.MustParseAddrPort("192.168.0.0:24")},
	}
	for _, a := range addrs {
		for _, feat := range []uint64{Msgr2FrameFeatures, FeaturesAll, 0} {
			b := AppendEntityAddr(nil, a, feat)
			d := NewDecoder(b)
			got := d.EntityAddr()
			if d.Err() != nil || d.Remaining() != 0 {
				t.Fatalf("%v feat %#x: err %v, %d left", a, feat, d.Err(), d.Remaining())
			}
			want := a
			if feat == 0 {
				if len(b) != 136 {
					t.Fatalf("legacy size %d", len(b))
				}
				want.Type = AddrTypeLegacy
			}
			if got != want {
				t.Fatalf("feat %#x: got %+v want %+v", feat, got, want)
			}
		}
	}
	v := EntityAddrVec(addrs[1:3])
	b := AppendEntityAddrVec(nil, v, FeaturesAll)
	d := NewDecoder(b)
	got := d.EntityAddrVec()
	if d.Err() != nil || len(got) != 2 || got[0] != v[0] || got[1] != v[1] {
		t.Fatalf("vec: %v %v", got, d.Err())
	}
	if got.Legacy() != v[0] || got.Msgr2() != v[1] {
		t.Fatal("Legacy/Msgr2 lookup")
	}
	// Without MSG_ADDR2 a vector shrinks to its legacy address.
	b = AppendEntityAddrVec(nil, v, 0)
	d = NewDecoder(b)
	got = d.EntityAddrVec()
	if d.Err() != nil || len(got) != 1 || got[0] != v[0] {
		t.Fatalf("legacy vec: %v %v", got, d.Err())
	}
	// Pre-nautilus peers get ANY as LEGACY.
	b = AppendEntityAddr(nil, EntityAddr{Type: AddrTypeAny}, FeatureMsgAddr2)
	if got := NewDecoder(b).EntityAddr(); got.Type != AddrTypeLegacy {
		t.Fatalf("ANY to pre-nautilus: %v", got.Type)
	}
}

func TestEntityAddrMalformed(t *testing.T) {
	good := mustHex(t, capturedMonAddr)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"bad marker", []byte{7}, ErrMalformed},
		{"truncated", good[:20], ErrTruncated},
		{"compat too new", func() []byte { b := bytes.Clone(good); b[2] = 9; return b }(), ErrMalformed},
		{"inet too long", func() []byte {
			b := bytes.Clone(good)
			b[15] = 20 // elen
			return append(b, 0, 0, 0, 0)
		}(), ErrMalformed},
		{"bad family", func() []byte { b := bytes.Clone(good); b[19] = 99; return b }(), ErrMalformed},
		{"vec marker", []byte{3}, ErrMalformed},
		{"vec huge count", []byte{2, 0xff, 0xff, 0xff, 0xff}, ErrTooLarge},
	}
	for _, c := range cases {
		d := NewDecoder(c.in)
		if c.name[:3] == "vec" {
			d.EntityAddrVec()
		} else {
			d.EntityAddr()
		}
		if !errors.Is(d.Err(), c.want) {
			t.Errorf("%s: err %v, want %v", c.name, d.Err(), c.want)
		}
	}
}

func TestEntityNameUTimeUUID(t *testing.T) {
	for _, n := range []EntityName{{EntityTypeClient, 4112}, {EntityTypeOSD, 0}, {EntityTypeMon, -1}} {
		b := AppendEntityName(nil, n)
		if len(b) != EntityNameSize {
			t.Fatalf("size %d", len(b))
		}
		if got := NewDecoder(b).EntityName(); got != n {
			t.Fatalf("got %v want %v", got, n)
		}
	}
	if s := (EntityName{EntityTypeClient, 4112}).String(); s != "client.4112" {
		t.Fatal(s)
	}
	if s := (EntityName{EntityTypeMon, -1}).String(); s != "mon.?" {
		t.Fatal(s)
	}
	u := UTime{Sec: 1700000000, Nsec: 123}
	if got := NewDecoder(AppendUTime(nil, u)).UTime(); got != u || UTimeOf(u.Time()) != u {
		t.Fatalf("utime %v", got)
	}
	id, err := ParseUUID("6f1e3a54-1f2b-4c3d-9e8f-0a1b2c3d4e5f")
	if err != nil || id.String() != "6f1e3a54-1f2b-4c3d-9e8f-0a1b2c3d4e5f" {
		t.Fatalf("uuid %v %v", id, err)
	}
	if got := NewDecoder(AppendUUID(nil, id)).UUID(); got != id {
		t.Fatal("uuid round trip")
	}
	if _, err := ParseUUID("nope"); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if !HasFeatures(FeaturesAll, FeatureServerPacific) || !HasFeatures(FeaturesAll, FeatureMsgAddr2) || HasFeatures(FeaturesAll, FeatureServerQuincy) {
		t.Fatal("FeaturesAll")
	}
}

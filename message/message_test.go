package message

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

// A header2 captured from none-crc/conn1 (client to mon, MON_GET_MAP).
const capturedHeader2 = "0100000000000000000000000000000005007f00010000000000000000000000000000000301000000"

func TestHeader2Captured(t *testing.T) {
	in, _ := hex.DecodeString(capturedHeader2)
	var h Header
	if err := DecodeHeader2(&h, in); err != nil {
		t.Fatal(err)
	}
	want := Header{Seq: 1, Type: 5, Priority: PrioDefault, Version: 1, Flags: 3, CompatVersion: 1}
	if h != want {
		t.Fatalf("got %+v\nwant %+v", h, want)
	}
	if out := AppendHeader2(nil, &h); !bytes.Equal(out, in) {
		t.Fatalf("re-encode %x", out)
	}
	if err := DecodeHeader2(&h, in[:40]); !errors.Is(err, encoding.ErrTruncated) {
		t.Fatal(err)
	}
}

func TestHeader2RoundTrip(t *testing.T) {
	h := Header{Seq: 1<<63 + 5, Tid: 77, Type: 42, Priority: PrioHigh, Version: 8, DataPrePaddingLen: 3,
		DataOff: 4096, AckSeq: 9, Flags: FooterComplete | FooterNoCRC, CompatVersion: 3, Reserved: 0xbeef}
	b := AppendHeader2(nil, &h)
	if len(b) != Header2Size {
		t.Fatalf("size %d", len(b))
	}
	var got Header
	if err := DecodeHeader2(&got, b); err != nil || got != h {
		t.Fatalf("%+v %v", got, err)
	}
}

// ping is a user-defined message type: a string in the front, bytes in
// the data segment.
type ping struct {
	Text string
	Blob []byte
	tid  uint64
}

const pingType = 0x7001

func (*ping) Type() uint16              { return pingType }
func (*ping) Version() (uint16, uint16) { return 2, 1 }
func (p *ping) Encode(h *Header, _ uint64, pl *Payload) error {
	h.Tid = p.tid
	pl.Front = encoding.AppendString(pl.Front, p.Text)
	pl.Data = p.Blob
	return nil
}
func (p *ping) Decode(h *Header, _ uint64, pl *Payload) error {
	d := encoding.NewDecoder(pl.Front)
	p.Text = d.String()
	p.Blob = bytes.Clone(pl.Data)
	p.tid = h.Tid
	return d.Err()
}

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	if err := r.Register(pingType, func() Message { return new(ping) }); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(pingType, func() Message { return new(ping) }); !errors.Is(err, ErrRegistered) {
		t.Fatal(err)
	}
	if !r.Known(pingType) || r.Known(1) {
		t.Fatal("Known")
	}
	var pl Payload
	h, err := EncodeMessage(&ping{Text: "hi", Blob: []byte{1, 2, 3}, tid: 5}, encoding.FeaturesAll, &pl)
	if err != nil {
		t.Fatal(err)
	}
	if h.Flags != DefaultFlags || h.Type != pingType || h.Version != 2 || h.CompatVersion != 1 || h.Priority != PrioDefault || h.Tid != 5 || h.FrontLen != 6 || h.DataLen != 3 {
		t.Fatalf("header %+v", h)
	}
	m, err := r.Decode(&h, encoding.FeaturesAll, &pl)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.(*ping); p.Text != "hi" || !bytes.Equal(p.Blob, []byte{1, 2, 3}) || p.tid != 5 {
		t.Fatalf("%+v", p)
	}
	// A bad body is a DecodeError wrapping the type's error.
	bad := Payload{Front: []byte{9, 0, 0, 0}}
	_, err = r.Decode(&h, 0, &bad)
	var de *DecodeError
	if !errors.As(err, &de) || de.Type != pingType || !errors.Is(err, encoding.ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestRawRoundTrip(t *testing.T) {
	r := NewRegistry()
	h := Header{Type: 1796, Version: 3, CompatVersion: 1, Tid: 8, Priority: PrioHigh, DataOff: 12}
	in := Payload{Front: []byte("front"), Middle: []byte("mid"), Data: []byte("data")}
	m, err := r.Decode(&h, 0, &in)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := m.(*Raw)
	if !ok || raw.Type() != 1796 {
		t.Fatalf("%T", m)
	}
	in.Front[0] = 'X' // Raw must not alias the frame
	var out Payload
	h2, err := EncodeMessage(raw, 0, &out)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Type != 1796 || h2.Version != 3 || h2.CompatVersion != 1 || h2.Tid != 8 || h2.Priority != PrioHigh || h2.DataOff != 12 {
		t.Fatalf("%+v", h2)
	}
	if string(out.Front) != "front" || string(out.Middle) != "mid" || string(out.Data) != "data" {
		t.Fatalf("%q %q %q", out.Front, out.Middle, out.Data)
	}
}

func FuzzHeader2(f *testing.F) {
	in, _ := hex.DecodeString(capturedHeader2)
	f.Add(in)
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Header
		if err := DecodeHeader2(&h, b); err != nil {
			if len(b) >= Header2Size {
				t.Fatal(err)
			}
			return
		}
		if out := AppendHeader2(nil, &h); !bytes.Equal(out, b[:Header2Size]) {
			t.Fatalf("%x != %x", out, b[:Header2Size])
		}
	})
}

// BenchmarkRegistryNew is the lookup every received message makes, from
// every loop at once.
func BenchmarkRegistryNew(b *testing.B) {
	r := NewRegistry()
	one := &Raw{} // the lookup alone, not an allocation
	for t := uint16(1); t <= 64; t++ {
		if err := r.Register(t, func() Message { return one }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		t := uint16(0)
		for pb.Next() {
			t = t%64 + 1
			if r.New(t) != one {
				b.Error("registered type unknown")
				return
			}
		}
	})
}

package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

type mode struct {
	rev1, secure bool
}

func (m mode) String() string {
	s := "v2.0"
	if m.rev1 {
		s = "v2.1"
	}
	if m.secure {
		return s + "-secure"
	}
	return s + "-crc"
}

var modes = []mode{{true, false}, {true, true}, {false, false}, {false, true}}

var testSecret = func() []byte {
	s := make([]byte, 64)
	for i := range s {
		s[i] = byte(i * 7)
	}
	return s
}()

// pair returns an encoder for the client and a decoder for the server in m.
func pair(t testing.TB, m mode) (*Encoder, *Decoder) {
	t.Helper()
	e, d := NewEncoder(), NewDecoder(Limits{})
	d.Establish()
	e.SetRev1(m.rev1)
	d.SetRev1(m.rev1)
	if m.secure {
		_, tx, err := NewSecure(testSecret, RoleClient, m.rev1)
		if err != nil {
			t.Fatal(err)
		}
		rx, _, err := NewSecure(testSecret, RoleServer, m.rev1)
		if err != nil {
			t.Fatal(err)
		}
		e.SetSecure(tx)
		d.SetSecure(rx)
	}
	return e, d
}

func fill(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ seed
	}
	return b
}

// segment shapes that cross every boundary: empty, inline (<=48),
// exactly 48, just over, unaligned, and multi-segment with empty middles.
var shapes = [][]int{
	{}, {0}, {1}, {15}, {16}, {47}, {48}, {49}, {64}, {65}, {300},
	{41, 5}, {41, 0, 0, 1}, {41, 205}, {41, 213, 0, 4096}, {0, 1}, {100, 17, 33, 4097},
}

func TestFrameRoundTripAllModes(t *testing.T) {
	for _, m := range modes {
		for _, vec := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/vec=%v", m, vec), func(t *testing.T) {
				e, d := pair(t, m)
				for k, shape := range shapes {
					segs := make([][]byte, len(shape))
					for i, n := range shape {
						segs[i] = fill(n, byte(k*4+i))
					}
					tag := TagMessage
					if len(shape) == 1 {
						tag = TagAuthRequest
					}
					var wire []byte
					var err error
					if vec {
						var iov [][]byte
						iov, err = e.Vec(iov, tag, segs...)
						for _, b := range iov {
							wire = append(wire, b...)
						}
						e.Reset()
					} else {
						wire, err = e.AppendFrame(nil, tag, segs...)
					}
					if err != nil {
						t.Fatal(err)
					}
					if n, _ := e.FrameLen(tag, segs...); n != len(wire) {
						t.Fatalf("shape %v: FrameLen %d, wrote %d", shape, n, len(wire))
					}
					d.Feed(wire)
					f, err := d.Next()
					if err != nil || f == nil {
						t.Fatalf("shape %v: %v %v", shape, f, err)
					}
					if f.Tag != tag {
						t.Fatalf("tag %v", f.Tag)
					}
					for i := range shape {
						if !bytes.Equal(f.Segment(i), segs[i]) && !(len(segs[i]) == 0 && len(f.Segment(i)) == 0) {
							t.Fatalf("shape %v: segment %d differs", shape, i)
						}
					}
					if d.Buffered() != 0 {
						t.Fatalf("shape %v: %d bytes left", shape, d.Buffered())
					}
				}
			})
		}
	}
}

// TestFrameSplitAnywhere feeds a run of frames in every mode cut at random
// points, including one byte at a time, the buffer released (or shrunk to
// a partial frame) between some reads.
func TestFrameSplitAnywhere(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range modes {
		e, d := pair(t, m)
		var stream []byte
		var want [][][]byte
		for k, shape := range shapes {
			segs := make([][]byte, len(shape))
			for i, n := range shape {
				segs[i] = fill(n, byte(k))
			}
			var err error
			stream, err = e.AppendFrame(stream, TagMessage, segs...)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, segs)
		}
		for _, maxChunk := range []int{1, 3, 50, 1000} {
			// A fresh decoder per run: the secure nonce sequence restarts.
			_, d = pair(t, m)
			got := 0
			for off := 0; off < len(stream); {
				n := min(len(stream)-off, 1+rng.IntN(maxChunk))
				if rng.IntN(2) == 0 {
					d.Feed(stream[off : off+n])
				} else {
					buf := d.ReadBuffer(n)
					d.Commit(copy(buf, stream[off:off+n]))
				}
				off += n
				if rng.IntN(3) == 0 {
					d.Release()
				}
				for {
					f, err := d.Next()
					if err != nil {
						t.Fatalf("%v chunk %d: %v", m, maxChunk, err)
					}
					if f == nil {
						break
					}
					for i, s := range want[got] {
						if len(s) > 0 && !bytes.Equal(f.Segment(i), s) {
							t.Fatalf("%v chunk %d: frame %d segment %d differs", m, maxChunk, got, i)
						}
					}
					got++
				}
			}
			if got != len(want) || d.Need() == 0 {
				t.Fatalf("%v chunk %d: %d frames of %d, need %d", m, maxChunk, got, len(want), d.Need())
			}
		}
	}
}

func TestControlFramesRoundTrip(t *testing.T) {
	addr := encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Nonce: 9}
	frames := []ControlFrame{
		&Hello{EntityType: encoding.EntityTypeOSD, PeerAddr: addr},
		&AuthRequest{Method: 2, PreferredModes: []uint32{2, 1}, Payload: []byte("req")},
		&AuthBadMethod{Method: 2, Result: -13, AllowedMethods: []uint32{1}, AllowedModes: []uint32{1, 2}},
		&AuthReplyMore{Payload: []byte("more")},
		&AuthRequestMore{Payload: []byte("again")},
		&AuthDone{GlobalID: 4112, ConMode: 2, Payload: []byte("done")},
		&AuthSignature{Signature: [32]byte{1, 2, 3}},
		&ClientIdent{Addrs: encoding.EntityAddrVec{addr, addr}, TargetAddr: addr, GlobalID: -1, GlobalSeq: 3, SupportedFeatures: encoding.FeaturesAll, RequiredFeatures: 1, Flags: IdentFlagLossy, ClientCookie: 77},
		&ServerIdent{Addrs: encoding.EntityAddrVec{addr}, GlobalID: 5, GlobalSeq: 6, SupportedFeatures: 7, RequiredFeatures: 8, Flags: 9, ServerCookie: 10},
		&IdentMissingFeatures{Features: 1 << 59},
		&SessionReconnect{Addrs: encoding.EntityAddrVec{addr}, ClientCookie: 1, ServerCookie: 2, GlobalSeq: 3, ConnectSeq: 4, MsgSeq: 5},
		&SessionReset{Full: true},
		&SessionRetry{ConnectSeq: 11},
		&SessionRetryGlobal{GlobalSeq: 12},
		&SessionReconnectOK{MsgSeq: 13},
		&Wait{},
		&Keepalive2{Timestamp: encoding.UTime{Sec: 1, Nsec: 2}},
		&Keepalive2Ack{Timestamp: encoding.UTime{Sec: 3, Nsec: 4}},
		&Ack{Seq: 99},
		&CompressionRequest{IsCompress: true, PreferredMethods: []uint32{1, 2}},
		&CompressionDone{IsCompress: true, Method: 1},
	}
	seen := map[Tag]bool{}
	for _, m := range modes {
		e, d := pair(t, m)
		for _, cf := range frames {
			b, err := e.AppendControl(nil, cf)
			if err != nil {
				t.Fatal(err)
			}
			d.Feed(b)
			f, err := d.Next()
			if err != nil || f == nil || f.Tag != cf.Tag() {
				t.Fatalf("%v %v: %v %v", m, cf.Tag(), f, err)
			}
			got, err := DecodeControlFrame(f.Tag, f.Payload())
			if err != nil {
				t.Fatalf("%v: %v", cf.Tag(), err)
			}
			if a, b := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", cf); a != b {
				t.Fatalf("%v: got %s want %s", cf.Tag(), a, b)
			}
			// Every strict prefix of a non-empty payload is truncated.
			p := cf.AppendPayload(nil)
			for i := 0; i < len(p); i++ {
				g, _ := NewControlFrame(cf.Tag())
				if err := g.DecodePayload(p[:i]); !errors.Is(err, ErrMalformed) || !(errors.Is(err, encoding.ErrTruncated) || errors.Is(err, encoding.ErrTooLarge)) {
					t.Fatalf("%v prefix %d: %v", cf.Tag(), i, err)
				}
			}
			seen[cf.Tag()] = true
		}
	}
	for tg := TagHello; tg <= TagCompressionDone; tg++ {
		if tg != TagMessage && !seen[tg] {
			t.Errorf("no round trip for %v", tg)
		}
	}
	if _, err := NewControlFrame(TagMessage); !errors.Is(err, ErrUnknownTag) {
		t.Fatal(err)
	}
}

func TestBanner(t *testing.T) {
	ours := Banner{Supported: SupportedFeatures}
	b := AppendBanner(nil, ours)
	if len(b) != BannerSize || string(b[:8]) != BannerPrefix {
		t.Fatalf("%x", b)
	}
	for i := 0; i < len(b); i++ {
		if _, n, err := ParseBanner(b[:i]); n != 0 || err != nil {
			t.Fatalf("prefix %d: %d %v", i, n, err)
		}
	}
	got, n, err := ParseBanner(append(b, 0xAA))
	if err != nil || n != BannerSize || got != ours {
		t.Fatalf("%+v %d %v", got, n, err)
	}
	// A longer payload from a newer peer is skipped.
	long := append(AppendBanner(nil, ours)[:8], 20, 0)
	long = append(long, b[10:]...)
	long = append(long, 1, 2, 3, 4)
	if _, n, err := ParseBanner(long); err != nil || n != len(long) {
		t.Fatalf("long: %d %v", n, err)
	}
	cases := []struct {
		in   string
		want error
	}{
		{"ceph v027\n", ErrMsgr1},
		{"ceph v027", ErrBadBanner},
		{"GET / HTTP/1.1\r\n", ErrBadBanner},
		{"ceph v2\n\x02\x00", ErrBadBanner},
		{"ceph v2\n\xff\xff", ErrBadBanner},
	}
	for _, c := range cases {
		if _, _, err := ParseBanner([]byte(c.in)); !errors.Is(err, c.want) {
			t.Errorf("%q: %v want %v", c.in, err, c.want)
		}
	}
	// Negotiation.
	neg, err := Negotiate(ours, Banner{Supported: FeatureRevision1 | FeatureCompression})
	if err != nil || !neg.Rev1 || neg.Compression {
		t.Fatalf("%+v %v", neg, err)
	}
	neg, err = Negotiate(ours, Banner{})
	if err != nil || neg.Rev1 {
		t.Fatalf("v2.0 peer: %+v %v", neg, err)
	}
	var fe *FeatureError
	_, err = Negotiate(ours, Banner{Supported: 3, Required: FeatureCompression})
	if !errors.As(err, &fe) || fe.Missing != FeatureCompression || fe.PeerLacks || !errors.Is(err, ErrFeatures) {
		t.Fatalf("peer requires compression: %v", err)
	}
	_, err = Negotiate(Banner{Supported: 1, Required: 1}, Banner{})
	if !errors.As(err, &fe) || !fe.PeerLacks {
		t.Fatalf("peer lacks rev1: %v", err)
	}
	// Through the Decoder.
	d := NewDecoder(Limits{})
	d.Feed([]byte("ceph v027\n"))
	if _, _, err := d.Banner(); !errors.Is(err, ErrMsgr1) {
		t.Fatal(err)
	}
	if _, err := d.Next(); !errors.Is(err, ErrMsgr1) {
		t.Fatal("error not sticky")
	}
}

// TestMalformedFrames: every kind of bad input gives its typed error.
func TestMalformedFrames(t *testing.T) {
	e := NewEncoder()
	good, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), fill(100, 2))
	corrupt := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	repre := func(b []byte, f func(p *Preamble)) []byte {
		var p Preamble
		if err := parsePreamble(&p, b); err != nil {
			t.Fatal(err)
		}
		f(&p)
		p.put(b)
		return b
	}
	cases := []struct {
		name string
		in   []byte
		lim  Limits
		want error
	}{
		{"preamble crc", corrupt(func(b []byte) []byte { b[3] ^= 1; return b }), Limits{}, ErrBadCRC},
		{"segment 0 crc", corrupt(func(b []byte) []byte { b[40] ^= 1; return b }), Limits{}, ErrBadCRC},
		{"segment 1 crc", corrupt(func(b []byte) []byte { b[100] ^= 1; return b }), Limits{}, ErrBadCRC},
		{"epilogue crc", corrupt(func(b []byte) []byte { b[len(b)-12] ^= 1; return b }), Limits{}, ErrBadCRC},
		{"late status", corrupt(func(b []byte) []byte { b[len(b)-13] = 0x5; return b }), Limits{}, ErrMalformed},
		{"unknown tag", corrupt(func(b []byte) []byte { return repre(b, func(p *Preamble) { p.Tag = 99 }) }), Limits{}, ErrUnknownTag},
		{"tag zero", corrupt(func(b []byte) []byte { return repre(b, func(p *Preamble) { p.Tag = 0 }) }), Limits{}, ErrUnknownTag},
		{"no segments", corrupt(func(b []byte) []byte { return repre(b, func(p *Preamble) { p.NumSegments = 0 }) }), Limits{}, ErrMalformed},
		{"5 segments", corrupt(func(b []byte) []byte { return repre(b, func(p *Preamble) { p.NumSegments = 5 }) }), Limits{}, ErrMalformed},
		{"last empty", corrupt(func(b []byte) []byte { return repre(b, func(p *Preamble) { p.NumSegments = 3 }) }), Limits{}, ErrMalformed},
		{"huge segment", corrupt(func(b []byte) []byte { return repre(b, func(p *Preamble) { p.Lengths[1] = 0xffffffff }) }), Limits{}, ErrTooLarge},
		{"segment limit", good, Limits{MaxSegmentLen: 99}, ErrTooLarge},
		{"frame limit", good, Limits{MaxFrameLen: 100}, ErrTooLarge},
	}
	for _, c := range cases {
		d := NewDecoder(c.lim)
		d.Feed(c.in)
		f, err := d.Next()
		if !errors.Is(err, c.want) || f != nil {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if len(d.buf) > 4096 {
			t.Errorf("%s: buffer grew to %d", c.name, len(d.buf))
		}
	}
	// Truncation is "need more", never an error.
	for i := 0; i < len(good); i++ {
		d := NewDecoder(Limits{})
		d.Feed(good[:i])
		if f, err := d.Next(); f != nil || err != nil || d.Need() == 0 {
			t.Fatalf("prefix %d: %v %v need %d", i, f, err, d.Need())
		}
	}
	// Encoder refuses what it cannot express.
	if _, err := e.AppendFrame(nil, TagMessage, nil, nil, nil, nil, nil); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	if _, err := e.AppendFrame(nil, Tag(0)); !errors.Is(err, ErrUnknownTag) {
		t.Fatal(err)
	}
	// Commit beyond the read buffer is refused.
	d := NewDecoder(Limits{})
	buf := d.ReadBuffer(10)
	d.Commit(len(buf) + 1)
	if _, err := d.Next(); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

// TestAbortedFrameDropped: a frame whose late status says aborted is
// skipped, and the stream stays in sync.
func TestAbortedFrameDropped(t *testing.T) {
	for _, m := range []mode{{true, false}, {false, false}} {
		e, d := pair(t, m)
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), fill(10, 2))
		if m.rev1 {
			b[len(b)-13] = lateStatusAborted
		} else {
			b[len(b)-17] = lateFlagAborted
		}
		b, _ = e.AppendControl(b, &Ack{Seq: 5})
		d.Feed(b)
		f, err := d.Next()
		if err != nil || f == nil || f.Tag != TagAck || d.Aborted() != 1 {
			t.Fatalf("%v: %v %v aborted %d", m, f, err, d.Aborted())
		}
	}
}

// TestSecureTamper: any flipped bit of a secure frame fails its tag.
func TestSecureTamper(t *testing.T) {
	for _, m := range []mode{{true, true}, {false, true}} {
		e, _ := pair(t, m)
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 1), fill(70, 2))
		for _, pos := range []int{0, 40, 95, 100, len(b) - 1} {
			_, d := pair(t, m)
			c := bytes.Clone(b)
			c[pos] ^= 0x10
			d.Feed(c)
			_, err := d.Next()
			if !errors.Is(err, ErrAuthTag) && !(m.rev1 == false && errors.Is(err, ErrBadCRC)) {
				t.Errorf("%v flip at %d: %v", m, pos, err)
			}
		}
	}
	if _, _, err := NewSecure(make([]byte, 39), RoleClient, true); !errors.Is(err, ErrSecret) {
		t.Fatal(err)
	}
}

// TestSwitchToSecureMidStream: plain frames, then secure ones in the same
// buffer, as after AUTH_DONE.
func TestSwitchToSecureMidStream(t *testing.T) {
	e, d := NewEncoder(), NewDecoder(Limits{})
	var b []byte
	b, _ = e.AppendControl(b, &AuthDone{GlobalID: 1, ConMode: 2})
	_, tx, _ := NewSecure(testSecret, RoleServer, true)
	rx, _, _ := NewSecure(testSecret, RoleClient, true)
	e.SetSecure(tx)
	b, _ = e.AppendControl(b, &AuthSignature{Signature: [32]byte{7}})
	b, _ = e.AppendControl(b, &Ack{Seq: 1})
	d.Feed(b)
	f, err := d.Next()
	if err != nil || f.Tag != TagAuthDone {
		t.Fatal(f, err)
	}
	d.SetSecure(rx)
	for _, want := range []Tag{TagAuthSignature, TagAck} {
		f, err = d.Next()
		if err != nil || f == nil || f.Tag != want || f.Raw != nil {
			t.Fatal(f, err)
		}
	}
}

func TestNonceSequence(t *testing.T) {
	for _, rev1 := range []bool{true, false} {
		_, tx, _ := NewSecure(testSecret, RoleClient, rev1)
		tx.next()
		first := tx.cur
		tx.next()
		second := tx.cur
		if !bytes.Equal(first[:], testSecret[28:40]) {
			t.Fatalf("first nonce %x", first)
		}
		want := first
		if rev1 {
			want[4]++
		} else {
			want[0]++
		}
		if second != want {
			t.Fatalf("rev1=%v second %x want %x", rev1, second, want)
		}
		// Wrapping back to the first nonce is refused.
		tx.nonce = tx.initial
		if err := tx.next(); !errors.Is(err, ErrNonceExhausted) {
			t.Fatal(err)
		}
	}
}

// TestPending: the preamble is visible as soon as it arrives, before the
// segments, so that a messenger can throttle on the lengths.
func TestPending(t *testing.T) {
	for _, m := range modes {
		e, d := pair(t, m)
		b, _ := e.AppendFrame(nil, TagMessage, fill(41, 0), fill(10, 1), nil, fill(5000, 2))
		if _, ok := d.Pending(); ok {
			t.Fatal("pending before any input")
		}
		head := PreambleSize
		if m.secure && m.rev1 {
			head = firstSecureRecord
		}
		d.Feed(b[:head])
		if f, err := d.Next(); f != nil || err != nil {
			t.Fatal(f, err)
		}
		p, ok := d.Pending()
		if !ok || p.Tag != TagMessage || p.Lengths[SegData] != 5000 || p.Aligns[SegData] != AlignPage || d.Need() != len(b)-head {
			t.Fatalf("%v: %+v %v need %d", m, p, ok, d.Need())
		}
		d.Feed(b[head:])
		if f, err := d.Next(); f == nil || err != nil {
			t.Fatal(f, err)
		}
		if _, ok := d.Pending(); ok {
			t.Fatal("pending after the frame")
		}
	}
}

// TestVecControl: a control frame listed by VecControl decodes as the
// frame AppendControl builds, in every mode, and does not alias the
// caller's payload scratch.
func TestVecControl(t *testing.T) {
	frames := []ControlFrame{&Ack{Seq: 0x0102030405060708}, &Keepalive2{Timestamp: encoding.UTime{Sec: 7, Nsec: 9}}, &Keepalive2Ack{Timestamp: encoding.UTime{Sec: 1}}}
	for _, m := range modes {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			e, d := pair(t, m)
			for _, f := range frames {
				scratch := f.AppendPayload(nil)
				iov, err := e.VecControl(nil, f.Tag(), scratch)
				if err != nil {
					t.Fatal(err)
				}
				clear(scratch)
				var b []byte
				for _, p := range iov {
					b = append(b, p...)
				}
				d.Feed(b)
				got, err := d.Next()
				if err != nil || got == nil {
					t.Fatalf("%v: %v %v", f.Tag(), got, err)
				}
				g, err := DecodeControlFrame(got.Tag, got.Payload())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(g, f) {
					t.Fatalf("%v: decoded %+v, sent %+v", f.Tag(), g, f)
				}
			}
		})
	}
}

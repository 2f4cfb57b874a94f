package v2

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// monServer returns a server Machine set up as the captured mon, and the
// captured client stream split into frames.
func monServer(t *testing.T, mod func(*Config)) (*replay, []capturedFrame) {
	_, _, cf, mf := loadCapture(t)
	si := find[*wire.ServerIdent](t, mf)
	done := find[*wire.AuthDone](t, mf)
	env := &replayEnv{addrs: si.Addrs, gseq: si.GlobalSeq,
		policy: Policy{Lossy: true, Server: true},
		authS:  &auth.NoneServer{Mon: true, GlobalIDs: auth.NewGlobalIDs(done.GlobalID)}}
	cfg := Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeMon}}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &replay{t: t, m: m}
	r.apply(m.Accepted(time.Unix(0, 0), netipPort(48022)))
	return r, cf
}

func frameBytes(t *testing.T, f wire.ControlFrame) []byte {
	b, err := wire.NewEncoder().AppendControl(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func messageBytes(t *testing.T, seq uint64, hdr []byte) []byte {
	h := message.Header{Seq: seq, Type: 5, Priority: 127, Version: 1, CompatVersion: 1}
	h2 := message.AppendHeader2(nil, &h)
	if hdr != nil {
		h2 = hdr
	}
	b, err := wire.NewEncoder().AppendFrame(nil, wire.TagMessage, h2, []byte("front"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func concat(fs []capturedFrame, upto int) []byte {
	var b []byte
	for _, f := range fs[:upto] {
		b = append(b, f.raw...)
	}
	return b
}

// TestBadInput: what a peer sends wrong closes the connection with a typed
// error, and never panics; duplicates are dropped quietly as Ceph does.
func TestBadInput(t *testing.T) {
	_, _, cf, _ := loadCapture(t)
	all := len(cf) // banner, HELLO, AUTH_REQUEST, AUTH_SIGNATURE, CLIENT_IDENT, 6 MESSAGEs
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 0x40
		return b
	}
	tests := []struct {
		name      string
		stream    func() []byte
		gapFault  bool
		wantErr   error // nil: the connection stays up
		delivered int
	}{
		{"msgr1 banner", func() []byte { return []byte("ceph v027 and then some") }, false, wire.ErrMsgr1, 0},
		{"garbage banner", func() []byte { return []byte("GET / HTTP/1.1\r\n\r\n") }, false, wire.ErrBadBanner, 0},
		{"server frame to a server", func() []byte {
			return append(concat(cf, 1), frameBytes(t, &wire.ServerIdent{})...)
		}, false, ErrProtocol, 0},
		{"message before auth", func() []byte {
			return append(concat(cf, 2), messageBytes(t, 1, nil)...)
		}, false, ErrProtocol, 0},
		{"bad preamble crc", func() []byte {
			return append(concat(cf, 1), flip(cf[1].raw, 5)...)
		}, false, wire.ErrBadCRC, 0},
		{"bad segment crc", func() []byte {
			return append(concat(cf, 1), flip(cf[1].raw, 40)...)
		}, false, wire.ErrBadCRC, 0},
		{"bad signature", func() []byte {
			sig := &wire.AuthSignature{}
			sig.Signature[3] = 1
			return append(concat(cf, 3), frameBytes(t, sig)...)
		}, false, auth.ErrBadSignature, 0},
		{"client ident for someone else", func() []byte {
			ci := *find[*wire.ClientIdent](t, cf)
			ci.TargetAddr.Nonce = 99
			return append(concat(cf, 4), frameBytes(t, &ci)...)
		}, false, ErrProtocol, 0},
		{"short message header", func() []byte {
			return append(concat(cf, all), messageBytes(t, 7, []byte{1, 2, 3})...)
		}, false, ErrProtocol, 6},
		{"duplicate seq dropped", func() []byte {
			return append(concat(cf, all), messageBytes(t, 3, nil)...)
		}, false, nil, 6},
		{"gap accepted by default", func() []byte {
			return append(concat(cf, all), messageBytes(t, 9, nil)...)
		}, false, nil, 7},
		{"gap faults when asked", func() []byte {
			return append(concat(cf, all), messageBytes(t, 9, nil)...)
		}, true, ErrSeqGap, 6},
		{"keepalive before ready", func() []byte {
			return append(concat(cf, 2), frameBytes(t, &wire.Keepalive2{})...)
		}, false, ErrProtocol, 0},
		{"unknown tag", func() []byte {
			b := frameBytes(t, &wire.Wait{})
			b[0] = 99
			return append(concat(cf, 1), b...)
		}, false, wire.ErrBadCRC, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := monServer(t, func(c *Config) { c.FaultOnSeqGap = tc.gapFault })
			r.feed(tc.stream(), rand.New(rand.NewPCG(5, 6)))
			if len(r.delivered) != tc.delivered {
				t.Fatalf("delivered %d, want %d", len(r.delivered), tc.delivered)
			}
			if tc.wantErr == nil {
				if len(r.closed) != 0 || r.m.State() != StateReady {
					t.Fatalf("closed %v, state %v", r.closed, r.m.State())
				}
				return
			}
			if len(r.closed) != 2 {
				t.Fatalf("want CloseSocket and Closed, got %v", r.closed)
			}
			for _, err := range r.closed {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v is not %v", err, tc.wantErr)
				}
			}
			if r.m.State() != StateClosed {
				t.Fatalf("state %v", r.m.State())
			}
		})
	}
}

// FuzzServer feeds arbitrary bytes to a server Machine, after a valid
// prefix of the captured client stream chosen by the input.
func FuzzServer(f *testing.F) {
	f.Add(uint8(0), []byte("ceph v2\n\x10\x00"))
	f.Add(uint8(1), []byte{0x01, 0x01, 0x24})
	f.Add(uint8(4), []byte{0x11, 0x02, 0x29, 0x00})
	f.Add(uint8(11), []byte{0x14, 0x01, 0x08})
	f.Fuzz(func(t *testing.T, prefix uint8, data []byte) {
		r, cf := monServer(t, nil)
		stream := append(concat(cf, int(prefix)%(len(cf)+1)), data...)
		r.feed(stream, rand.New(rand.NewPCG(uint64(len(data)), 1)))
		if st := r.m.State(); st != StateClosed && st != StateAccepting && st != StateReady {
			t.Fatalf("state %v", st)
		}
		for _, err := range r.closed {
			if err == nil {
				t.Fatal("close without an error")
			}
		}
	})
}

// TestMaxFrameSize: a frame over the receiver's limit is refused as soon
// as its preamble arrives.
func TestMaxFrameSize(t *testing.T) {
	n, cl, srv := pair(t, 1, lossyClient, statelessServer)
	c := cl.connect(srv, nil)
	n.settle()
	s := srv.registry[cl.addrs.String()]
	s.m.cfg.MaxFrameSize = 1000
	s.m.st.dec = wire.NewDecoder(s.m.limits())
	s.m.st.dec.SetRev1(true)
	big := msg(1)
	big.Payload.Data = make([]byte, 2000)
	c.send(msg(2), big)
	// The small frame and only the preamble of the big one get through.
	out := n.socks[0].buf[0]
	d := wire.NewDecoder(wire.Limits{})
	d.Feed(out)
	f, err := d.Next()
	if err != nil || f == nil {
		t.Fatalf("first frame: %v", err)
	}
	s.apply(s.m.Received(n.now, out[:len(f.Raw)+wire.PreambleSize]))
	if got := srv.ids(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("delivered %v", got)
	}
	if !s.closed || !errors.Is(s.err, wire.ErrTooLarge) || !errors.Is(s.err, ErrProtocol) {
		t.Fatalf("closed %v err %v", s.closed, s.err)
	}
}

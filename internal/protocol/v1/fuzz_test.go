package v1

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

func seedCaptures(f *testing.F, max int) {
	files, _ := filepath.Glob("testdata/*/*.bin")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), max)])
	}
}

// FuzzDecodeItems: the fixed-size decoders never panic, and what they
// accept re-encodes to the same bytes.
func FuzzDecodeItems(f *testing.F) {
	seedCaptures(f, 512)
	f.Fuzz(func(t *testing.T, p []byte) {
		if a, err := DecodeAddr(p); err == nil {
			if got := AppendAddr(nil, a); len(got) != AddrLen {
				t.Fatalf("address re-encodes to %d bytes", len(got))
			}
		}
		var c Connect
		if DecodeConnect(&c, p) == nil {
			if got := AppendConnect(nil, &c); !bytes.Equal(got, p[:ConnectLen]) && c.AuthorizerLen == 0 {
				t.Fatalf("connect re-encodes differently")
			}
		}
		var r ConnectReply
		if DecodeConnectReply(&r, p) == nil && r.AuthorizerLen == 0 {
			if got := AppendConnectReply(nil, &r); !bytes.Equal(got, p[:ConnectReplyLen]) {
				t.Fatalf("connect reply re-encodes differently")
			}
		}
		var h message.Header
		if _, err := DecodeHeader(&h, p); err == nil {
			if got := message.AppendHeader(nil, &h); !bytes.Equal(got, p[:HeaderLen]) {
				t.Fatalf("header re-encodes differently")
			}
		} else if !errors.Is(err, ErrBadCRC) && !errors.Is(err, encoding.ErrTruncated) {
			t.Fatalf("untyped error %v", err)
		}
		for _, auth := range []bool{false, true} {
			var ft Footer
			if DecodeFooter(&ft, p, auth) == nil {
				if got := AppendFooter(nil, &ft, auth); !bytes.Equal(got, p[:FooterSize(auth)]) {
					t.Fatalf("footer re-encodes differently")
				}
			}
		}
	})
}

// FuzzServerStream: a server Machine fed any bytes never panics, never
// allocates from an unchecked length, and ends a bad stream with a typed
// error.
func FuzzServerStream(f *testing.F) {
	seedCaptures(f, 1<<16)
	f.Add([]byte("ceph v027"))
	f.Fuzz(func(t *testing.T, p []byte) {
		env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeOSD}, addrs: encoding.EntityAddrVec{v1addr("127.0.0.1:6800", 1)},
			policy: v2.Policy{Lossy: true, Server: true}}
		m, err := NewServer(Config{Config: v2.Config{Env: env, Me: env.name, MaxFrameSize: 1 << 20}})
		if err != nil {
			t.Fatal(err)
		}
		var a acts
		a.add(m.Accepted(t0, netip.MustParseAddrPort("127.0.0.1:5000")))
		for len(p) > 0 {
			n := min(len(p), 1+int(p[0])*7)
			a.feed(m, p[:n])
			p = p[n:]
		}
		for _, c := range a.closed {
			if !errors.Is(c.Err, v2.ErrProtocol) && !errors.Is(c.Err, v2.ErrAuth) && !errors.Is(c.Err, v2.ErrSocket) && !errors.Is(c.Err, v2.ErrSeqGap) {
				t.Fatalf("untyped close: %v", c.Err)
			}
		}
	})
}

// FuzzClientStream: the same for a client Machine talking to a mon.
func FuzzClientStream(f *testing.F) {
	seedCaptures(f, 1<<16)
	f.Fuzz(func(t *testing.T, p []byte) {
		env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}}
		m, err := NewClient(Config{Config: v2.Config{Env: env, Me: env.name, PeerType: encoding.EntityTypeMon,
			PeerAddrs: encoding.EntityAddrVec{v1addr("127.0.0.1:6789", 0)}, MaxFrameSize: 1 << 20}})
		if err != nil {
			t.Fatal(err)
		}
		var a acts
		a.add(m.Start(t0))
		a.add(m.Connected(t0))
		a.add(m.Received(t0, p))
	})
}

package v1

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

// TestBadInput: malformed input ends only the connection, with a typed
// error, before any allocation sized from it.
func TestBadInput(t *testing.T) {
	cli := readFile(t, replayCli)
	msgAt := 208 // the MOSDOp's tag
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), cli...)) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"msgr2 banner", []byte("ceph v2\n\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), ErrBadBanner},
		{"bad banner", mutate(func(b []byte) []byte { b[5] = 'x'; return b }), ErrBadBanner},
		{"address family", mutate(func(b []byte) []byte { b[BannerLen+8] = 0x77; return b }), encoding.ErrMalformed},
		{"huge authorizer", mutate(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[BannerLen+AddrLen+28:], 1<<31)
			return b[:BannerLen+AddrLen+ConnectLen]
		}), ErrTooBig},
		{"bad header crc", mutate(func(b []byte) []byte { b[msgAt+10] ^= 1; return b }), ErrBadCRC},
		{"huge message", mutate(func(b []byte) []byte {
			h := b[msgAt+1 : msgAt+1+HeaderLen]
			binary.LittleEndian.PutUint32(h[30:], 0xffffffff) // data_len
			binary.LittleEndian.PutUint32(h[headerCRCLen:], message.HeaderCRC(h))
			return b
		}), ErrTooBig},
		{"bad data crc", mutate(func(b []byte) []byte { b[len(b)-100] ^= 1; return b }), ErrBadCRC},
		{"aborted", mutate(func(b []byte) []byte { b[len(b)-1] = 0; return b }), ErrAborted},
		{"unknown tag", mutate(func(b []byte) []byte { b[msgAt] = 42; return b }), ErrBadTag},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeOSD}, addrs: encoding.EntityAddrVec{v1addr("127.0.0.1:6800", 566)},
				policy: v2.Policy{Lossy: true, Server: true}}
			m, err := NewServer(Config{Config: v2.Config{Env: env, Me: env.name, MaxFrameSize: 64 << 20}})
			if err != nil {
				t.Fatal(err)
			}
			var a acts
			a.add(m.Accepted(t0, netip.MustParseAddrPort("127.0.0.1:39566")))
			a.feed(m, tc.in)
			if len(a.closed) != 1 || a.sockClose != 1 {
				t.Fatalf("not closed: %+v", a)
			}
			err = a.closed[0].Err
			if !errors.Is(err, v2.ErrProtocol) || !errors.Is(err, tc.want) {
				t.Fatalf("closed with %v, want ErrProtocol and %v", err, tc.want)
			}
			if len(a.delivered) != 0 {
				t.Fatalf("delivered %d", len(a.delivered))
			}
		})
	}
}

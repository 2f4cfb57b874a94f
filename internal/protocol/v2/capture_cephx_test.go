package v2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/internal/wire"
)

// walkPlain splits a captured stream into its banner and the frames that
// decode in crc mode; it stops where secure mode starts.
func walkPlain(b []byte) []capturedFrame {
	d := wire.NewDecoder(wire.Limits{})
	d.Feed(b)
	_, raw, err := d.Banner()
	if err != nil || raw == nil {
		return nil
	}
	out := []capturedFrame{{raw: slices.Clone(raw)}}
	for {
		f, err := d.Next()
		if err != nil || f == nil {
			return out
		}
		cf := capturedFrame{tag: f.Tag, raw: slices.Clone(f.Raw)}
		if f.Tag == wire.TagMessage {
			h := f.Segment(0)
			cf.msgT = uint16(h[16]) | uint16(h[17])<<8
		} else if cf.ctl, err = wire.DecodeControlFrame(f.Tag, slices.Clone(f.Payload())); err != nil {
			return out
		}
		out = append(out, cf)
		if f.Tag == wire.TagAuthDone {
			// What follows may be encrypted.
			if d := cf.ctl.(*wire.AuthDone); d.ConMode == auth.ModeSecure {
				return out
			}
		}
	}
}

// TestCaptureCephxClient plays what real Pacific mons sent during cephx
// exchanges (crc and secure mode) into a client Machine running the Go
// cephx client, made to draw the captured client challenge: it must send
// exactly the real client's pre-auth bytes, accept the mon's keyed
// AUTH_SIGNATURE (an HMAC over those bytes), and, in secure mode, decrypt
// every frame after it and deliver the mon's messages.
func TestCaptureCephxClient(t *testing.T) {
	for _, tc := range []struct{ dir, conn string }{
		{"cephx-crc", "conn1"}, {"cephx-crc", "conn2"}, {"cephx-secure", "conn1"}, {"cephx-secure", "conn2"},
	} {
		t.Run(tc.dir+"/"+tc.conn, func(t *testing.T) {
			read := func(name string) []byte {
				b, err := os.ReadFile(fmt.Sprintf("testdata/%s.%s.%s.bin", tc.dir, tc.conn, name))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			c2m, m2c := read("client-to-mon"), read("mon-to-client")
			cf, mf := walkPlain(c2m), walkPlain(m2c)
			admin := cephtest.Admin
			_, key := cephtest.AdminKey(t, "testdata/"+tc.dir+".keyring")
			req := find[*wire.AuthRequest](t, cf)
			more := find[*wire.AuthRequestMore](t, cf).Payload
			hello := find[*wire.Hello](t, cf)
			done := find[*wire.AuthDone](t, mf)
			cc := binary.LittleEndian.Uint64(more[3:])
			want := binary.LittleEndian.Uint32(more[len(more)-4:])
			sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, Want: want, MonModes: req.PreferredModes,
				Rand: bytes.NewReader(binary.LittleEndian.AppendUint64(nil, cc)),
				// The tickets were issued at capture time.
				Now: func() time.Time { return time.Unix(1_717_900_000, 0) }})
			if err != nil {
				t.Fatal(err)
			}
			env := &replayEnv{
				addrs: encoding.EntityAddrVec{{Type: encoding.AddrTypeAny, Nonce: 1, Addr: netipPort(0)}},
				gseq:  1, policy: Policy{Lossy: true},
			}
			if ci, ok := findOpt[*wire.ClientIdent](cf); ok {
				env.addrs, env.gseq, env.cookie = ci.Addrs, ci.GlobalSeq, ci.ClientCookie
				env.policy = Policy{Lossy: ci.Flags&flagLossy != 0, FeaturesRequired: ci.RequiredFeatures &^ msgr2Required}
			}
			h, err := sess.ClientHandler(uint32(encoding.EntityTypeMon))
			if err != nil {
				t.Fatal(err)
			}
			env.authC = h
			m, err := NewClient(Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1},
				PeerType: encoding.EntityTypeMon, PeerAddrs: encoding.EntityAddrVec{hello.PeerAddr}})
			if err != nil {
				t.Fatal(err)
			}
			r := &replay{t: t, m: m}
			r.apply(m.Start(time.Unix(0, 0)))
			r.apply(m.Connected(time.Unix(0, 0)))
			r.feed(m2c, rand.New(rand.NewPCG(7, 8)))
			if len(r.closed) != 0 {
				t.Fatalf("closed: %v", r.closed)
			}
			pre := prefixThrough(cf, wire.TagAuthRequestMore)
			if !bytes.HasPrefix(r.out, pre) {
				t.Fatalf("pre-auth bytes differ from the real client's at %d", diffAt(r.out, pre))
			}
			if done.ConMode == auth.ModeCRC {
				if full := prefixThrough(cf, wire.TagClientIdent); !bytes.Equal(r.out, full) {
					ours := walkPlain(r.out)
					t.Fatalf("client bytes differ from the real client's at %d:\n ours %+v\n real %+v", diffAt(r.out, full), ours[len(ours)-1].ctl, cf[len(ours)-1].ctl)
				}
			}
			if len(r.est) != 1 || r.est[0].ConMode != done.ConMode || r.est[0].AuthGlobalID != done.GlobalID || m.State() != StateReady {
				t.Fatalf("established %+v state %v", r.est, m.State())
			}
			if len(r.delivered) == 0 || r.delivered[0].Header.Type != 4 {
				t.Fatalf("delivered %d messages", len(r.delivered))
			}
			var types []uint16
			for _, d := range r.delivered {
				types = append(types, d.Header.Type)
			}
			t.Logf("mode %d: delivered %v", done.ConMode, types)
		})
	}
}

func findOpt[T wire.ControlFrame](fs []capturedFrame) (T, bool) {
	for _, f := range fs {
		if v, ok := f.ctl.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

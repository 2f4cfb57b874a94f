package cephx

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// Live tests against the clusters scripts/ci-ceph.sh starts (skipped when
// their variables are unset, failed under CI). They run the msgr2 auth
// phase by hand with internal/wire and this package's handlers against a
// real ceph-mon, up to the exchange of AUTH_SIGNATUREs.

type liveCluster struct {
	mon     netip.AddrPort // its msgr2 address
	keyring string
}

func cluster(t *testing.T, env string) liveCluster {
	t.Helper()
	c := cephtest.Open(t, env)
	return liveCluster{mon: c.Mon, keyring: c.Keyring}
}

// liveConn is the client end of one msgr2 connection in its auth phase.
type liveConn struct {
	c        net.Conn
	enc      *wire.Encoder
	dec      *wire.Decoder
	tx, rx   []byte // pre-auth bytes sent and received, for the signatures
	buf      []byte
	signedTx bool
}

func dialLive(t *testing.T, addr netip.AddrPort) *liveConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr.String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	lc := &liveConn{c: c, enc: wire.NewEncoder(), dec: wire.NewDecoder(wire.Limits{}), buf: make([]byte, 64<<10)}
	lc.send(t, wire.AppendBanner(nil, wire.Banner{Supported: wire.SupportedFeatures}))
	for {
		_, raw, err := lc.dec.Banner()
		if err != nil {
			t.Fatal(err)
		}
		if raw != nil {
			lc.rx = append(lc.rx, raw...)
			break
		}
		lc.read(t)
	}
	hello := &wire.Hello{EntityType: encoding.EntityTypeClient, PeerAddr: encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: addr}}
	lc.sendFrame(t, hello)
	if f := lc.next(t); f.Tag != wire.TagHello {
		t.Fatalf("first frame %v", f.Tag)
	}
	return lc
}

func (lc *liveConn) send(t *testing.T, b []byte) {
	t.Helper()
	if !lc.enc.Secure() {
		lc.tx = append(lc.tx, b...)
	}
	if _, err := lc.c.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (lc *liveConn) sendFrame(t *testing.T, f wire.ControlFrame) {
	t.Helper()
	b, err := lc.enc.AppendControl(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	lc.send(t, b)
}

func (lc *liveConn) read(t *testing.T) {
	t.Helper()
	n, err := lc.c.Read(lc.buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	lc.dec.Feed(lc.buf[:n])
}

// liveFrame is a received frame: its tag and decoded control payload, or
// for a MESSAGE its header and front.
type liveFrame struct {
	Tag   wire.Tag
	F     wire.ControlFrame
	H     message.Header
	Front []byte
}

func (lc *liveConn) next(t *testing.T) liveFrame {
	t.Helper()
	for {
		f, err := lc.dec.Next()
		if err != nil {
			t.Fatal(err)
		}
		if f == nil {
			lc.read(t)
			continue
		}
		lc.rx = append(lc.rx, f.Raw...)
		if f.Tag == wire.TagMessage {
			lf := liveFrame{Tag: f.Tag, Front: append([]byte(nil), f.Segment(wire.SegFront)...)}
			if err := message.DecodeHeader2(&lf.H, f.Segment(wire.SegHeader)); err != nil {
				t.Fatal(err)
			}
			return lf
		}
		cf, err := wire.DecodeControlFrame(f.Tag, f.Payload())
		if err != nil {
			t.Fatal(err)
		}
		return liveFrame{Tag: f.Tag, F: cf}
	}
}

// authenticate runs h over the connection. On success it exchanges the
// AUTH_SIGNATUREs (in secure mode already encrypted) and checks the mon's.
func (lc *liveConn) authenticate(t *testing.T, h auth.ClientHandler) (auth.Result, error) {
	t.Helper()
	method, modes, p, err := h.Start()
	if err != nil {
		return auth.Result{}, err
	}
	lc.sendFrame(t, &wire.AuthRequest{Method: method, PreferredModes: modes, Payload: p})
	for {
		f := lc.next(t)
		switch fr := f.F.(type) {
		case *wire.AuthReplyMore:
			more, err := h.HandleReplyMore(fr.Payload)
			if err != nil {
				return auth.Result{}, err
			}
			lc.sendFrame(t, &wire.AuthRequestMore{Payload: more})
		case *wire.AuthBadMethod:
			_, _, _, err := h.HandleBadMethod(fr.Method, fr.Result, fr.AllowedMethods, fr.AllowedModes)
			return auth.Result{}, err
		case *wire.AuthDone:
			res, err := h.HandleDone(fr.GlobalID, fr.ConMode, fr.Payload)
			if err != nil {
				return res, err
			}
			if res.ConMode == auth.ModeSecure {
				rx, tx, err := wire.NewSecure(res.ConnectionSecret, wire.RoleClient, true)
				if err != nil {
					t.Fatal(err)
				}
				lc.enc.SetSecure(tx)
				lc.dec.SetSecure(rx)
			}
			sent := append([]byte(nil), lc.tx...)
			sig := &wire.AuthSignature{}
			copy(sig.Signature[:], auth.Signature(res.SessionKey, lc.rx))
			lc.sendFrame(t, sig)
			g := lc.next(t)
			ms, ok := g.F.(*wire.AuthSignature)
			if !ok {
				return res, fmt.Errorf("mon sent %v instead of AUTH_SIGNATURE", g.Tag)
			}
			return res, auth.CheckSignature(res.SessionKey, sent, ms.Signature[:])
		default:
			return auth.Result{}, fmt.Errorf("unexpected %v", f.Tag)
		}
	}
}

func TestLiveMon(t *testing.T) {
	for _, tc := range []struct {
		env  string
		mode uint32
	}{
		{"MSGR_TEST_CEPH_CEPHX", auth.ModeCRC},
		{"MSGR_TEST_CEPH_SECURE", auth.ModeSecure},
	} {
		t.Run(tc.env, func(t *testing.T) {
			cl := cluster(t, tc.env)
			kr, err := auth.LoadKeyring(cl.keyring)
			if err != nil {
				t.Fatal(err)
			}
			key, err := kr.Key(adminName)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := NewSession(Config{Name: adminName, Key: key})
			res, err := dialLive(t, cl.mon).authenticate(t, s.MonHandler([]uint32{auth.ModeSecure, auth.ModeCRC}))
			if err != nil {
				t.Fatal(err)
			}
			if res.ConMode != tc.mode || res.GlobalID == 0 {
				t.Fatalf("result %v", res)
			}
			for _, svc := range []uint32{ServiceAuth, ServiceMon, ServiceOSD, ServiceMgr} {
				if _, err := s.Ticket(svc); err != nil {
					t.Fatal(err)
				}
			}
			// A second connection reclaims the global id with the auth
			// ticket, as a reconnecting MonClient does.
			res2, err := dialLive(t, cl.mon).authenticate(t, s.MonHandler([]uint32{auth.ModeSecure, auth.ModeCRC}))
			if err != nil {
				t.Fatalf("reclaim: %v", err)
			}
			if res2.GlobalID != res.GlobalID {
				t.Fatalf("reclaimed %d, had %d", res2.GlobalID, res.GlobalID)
			}

			wrong := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: make([]byte, 16)}
			for _, bad := range []struct {
				name string
				who  auth.EntityName
				key  auth.CryptoKey
			}{
				{"wrong key", adminName, wrong},
				{"unknown entity", auth.EntityName{Type: adminName.Type, ID: "nobody"}, key},
			} {
				s, _ := NewSession(Config{Name: bad.who, Key: bad.key})
				_, err := dialLive(t, cl.mon).authenticate(t, s.MonHandler([]uint32{auth.ModeSecure, auth.ModeCRC}))
				var bm *auth.BadMethodError
				if !errors.As(err, &bm) || bm.Result != -auth.EACCES {
					t.Errorf("%s: %v", bad.name, err)
				}
				// The Go mon side refuses the same way.
				srv, _ := NewServer(ServerConfig{Keyring: kr})
				_, _, gerr := exchange(s.MonHandler(nil), srv.Handler())
				var gbm *auth.BadMethodError
				if !errors.As(gerr, &gbm) || gbm.Result != bm.Result {
					t.Errorf("%s: Go server %v, real mon %v", bad.name, gerr, err)
				}
			}
		})
	}
}

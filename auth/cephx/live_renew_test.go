package cephx

import (
	"bytes"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

// openSession sends CLIENT_IDENT (the captured one, retargeted) and waits
// for SERVER_IDENT, so that messages may flow.
func (lc *liveConn) openSession(t *testing.T, target encoding.EntityAddr, gid uint64) {
	t.Helper()
	c2m := readFile(t, "testdata/cephx-crc/conn1.client-to-mon.bin")
	cf, _ := walkPlain(t, c2m, 0)
	var ci wire.ClientIdent
	if err := ci.DecodePayload(frameByTag(t, cf, byte(wire.TagClientIdent)).segs[0]); err != nil {
		t.Fatal(err)
	}
	ci.TargetAddr, ci.GlobalID, ci.ClientCookie = target, int64(gid), uint64(time.Now().UnixNano())|1
	lc.sendFrame(t, &ci)
	for {
		f := lc.next(t)
		if f.Tag == wire.TagServerIdent {
			return
		}
		if f.Tag != wire.TagAck && f.Tag != wire.TagKeepalive2 {
			t.Fatalf("waiting for SERVER_IDENT: %v", f.Tag)
		}
	}
}

// mauth sends one MAuth and returns the MAuthReply.
func (lc *liveConn) mauth(t *testing.T, seq uint64, payload []byte) *messages.MAuthReply {
	t.Helper()
	var p message.Payload
	h, err := message.EncodeMessage(&messages.MAuth{Protocol: auth.MethodCephX, Payload: payload}, encoding.FeaturesAll, &p)
	if err != nil {
		t.Fatal(err)
	}
	h.Seq = seq
	b, err := lc.enc.AppendMessage(nil, &h, &p)
	if err != nil {
		t.Fatal(err)
	}
	lc.send(t, b)
	for {
		f := lc.next(t)
		if f.Tag != wire.TagMessage || f.H.Type != messages.TypeAuthReply {
			continue // acks, maps
		}
		var r messages.MAuthReply
		if err := r.Decode(&f.H, encoding.FeaturesAll, &message.Payload{Front: f.Front}); err != nil {
			t.Fatal(err)
		}
		return &r
	}
}

// Renewal against a real mon over MAuth: first the service tickets
// (CEPHX_GET_PRINCIPAL_SESSION_KEY), then the auth ticket
// (CEPHX_GET_AUTH_SESSION_KEY with the connection's challenge and the old
// ticket); then a new connection reclaims the global id with the renewed
// auth ticket.
func TestLiveRenewal(t *testing.T) {
	for _, env := range []string{"MSGR_TEST_CEPH_CEPHX", "MSGR_TEST_CEPH_SECURE"} {
		t.Run(env, func(t *testing.T) {
			cl := cluster(t, env)
			kr, _ := auth.LoadKeyring(cl.keyring)
			key, _ := kr.Key(adminName)
			s, _ := NewSession(Config{Name: adminName, Key: key})
			lc := dialLive(t, cl.mon)
			modes := []uint32{auth.ModeSecure, auth.ModeCRC}
			res, err := lc.authenticate(t, s.MonHandler(modes))
			if err != nil {
				t.Fatal(err)
			}
			lc.openSession(t, encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: cl.mon}, res.GlobalID)

			due := func(svcs ...uint32) map[uint32]Ticket {
				s.mu.Lock()
				defer s.mu.Unlock()
				old := map[uint32]Ticket{}
				for _, svc := range svcs {
					tk := s.tickets[svc]
					old[svc] = tk
					tk.RenewAfter = time.Now().Add(-time.Second)
					s.tickets[svc] = tk
				}
				return old
			}
			seq := uint64(0)
			run := func() int {
				p, ok, err := s.RenewalRequest()
				if err != nil || !ok {
					t.Fatalf("renewal request: %v %v", ok, err)
				}
				rounds := 0
				for p != nil {
					rounds++
					seq++
					r := lc.mauth(t, seq, p)
					if r.GlobalID != res.GlobalID {
						t.Fatalf("reply global id %d", r.GlobalID)
					}
					if p, err = s.HandleRenewalReply(r.Result, r.ResultBL); err != nil {
						t.Fatalf("round %d: %v (%s)", rounds, err, r.ResultMsg)
					}
				}
				if s.Need() != 0 {
					t.Fatalf("still need %#x", s.Need())
				}
				return rounds
			}
			for _, step := range [][]uint32{{ServiceMon, ServiceOSD, ServiceMgr}, {ServiceAuth}, {ServiceAuth, ServiceOSD}} {
				old := due(step...)
				rounds := run()
				for svc, o := range old {
					n, err := s.Ticket(svc)
					if err != nil || bytes.Equal(n.Blob.Blob, o.Blob.Blob) || !n.RenewAfter.After(time.Now()) {
						t.Fatalf("service %d not renewed (%v)", svc, err)
					}
				}
				t.Logf("renewed %v in %d MAuth round(s)", step, rounds)
			}
			res2, err := dialLive(t, cl.mon).authenticate(t, s.MonHandler(modes))
			if err != nil || res2.GlobalID != res.GlobalID {
				t.Fatalf("reclaim with the renewed ticket: %v (%d vs %d)", err, res2.GlobalID, res.GlobalID)
			}
		})
	}
}

// On the cluster with 10-second tickets, one mon session renews its
// tickets on time over several lifetimes, and a new connection can still
// reclaim the global id with the auth ticket at the end.
func TestLiveShortTickets(t *testing.T) {
	cl := cluster(t, "MSGR_TEST_CEPH_TTL")
	kr, _ := auth.LoadKeyring(cl.keyring)
	key, _ := kr.Key(adminName)
	s, _ := NewSession(Config{Name: adminName, Key: key})
	lc := dialLive(t, cl.mon)
	res, err := lc.authenticate(t, s.MonHandler(nil))
	if err != nil {
		t.Fatal(err)
	}
	if tk, _ := s.Ticket(ServiceAuth); tk.Expires.Sub(time.Now()) > 11*time.Second {
		t.Fatalf("auth ticket lives %v: is the cluster's ttl short?", time.Until(tk.Expires))
	}
	lc.openSession(t, encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: cl.mon}, res.GlobalID)
	lc.c.SetDeadline(time.Now().Add(time.Minute))
	seq, renewals := uint64(0), 0
	deadline := time.Now().Add(32 * time.Second)
	for time.Now().Before(deadline) {
		p, ok, err := s.RenewalRequest()
		if err != nil {
			t.Fatal(err)
		}
		for ok && p != nil {
			seq++
			r := lc.mauth(t, seq, p)
			if p, err = s.HandleRenewalReply(r.Result, r.ResultBL); err != nil {
				t.Fatal(err)
			}
			renewals++
		}
		for _, svc := range []uint32{ServiceAuth, ServiceMon, ServiceOSD, ServiceMgr} {
			if _, err := s.Ticket(svc); err != nil {
				t.Fatalf("after %d renewals: %v", renewals, err)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if renewals < 3 {
		t.Fatalf("only %d renewals in three lifetimes", renewals)
	}
	if res2, err := dialLive(t, cl.mon).authenticate(t, s.MonHandler(nil)); err != nil || res2.GlobalID != res.GlobalID {
		t.Fatalf("reclaim after renewals: %v", err)
	}
	t.Logf("%d MAuth renewals", renewals)
}

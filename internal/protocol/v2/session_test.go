package v2

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// TestServerRestart: the server comes back as a new process at the same
// address. The client's SESSION_RECONNECT finds no session, the server
// answers SESSION_RESET(full), the client reports a remote reset, drops
// its queue and starts a new session.
func TestServerRestart(t *testing.T) {
	n, cl, srv := pair(t, 5, losslessClient, statefulServer)
	c := cl.connect(srv, nil)
	c.send(msg(1))
	n.settle()
	srv2 := srv.restart()
	c.send(msg(2)) // written to a socket whose peer is gone
	n.quiesce()
	if len(c.resets) != 1 || !c.resets[0].Remote || !errors.Is(c.resets[0].Err, ErrSessionReset) {
		t.Fatalf("client resets %+v", c.resets)
	}
	if len(c.established) != 2 || c.established[1].Reconnected {
		t.Fatalf("client established %+v", c.established)
	}
	// msg(2) was queued before the reset reached us: Ceph discards it
	// with the session.
	if got := srv2.ids(); len(got) != 0 {
		t.Fatalf("new server got %v", got)
	}
	if len(c.discarded) != 1 || msgIDOut(c.discarded[0]) != 2 {
		t.Fatalf("discarded %v", c.discarded)
	}
	c.send(msg(3))
	n.quiesce()
	if got := srv2.ids(); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("new server got %v", got)
	}
	if got := srv2.delivered[0].Header.Seq; got != 1 {
		t.Fatalf("new session starts at seq %d", got)
	}
}

func msgIDOut(m *OutMessage) uint64 {
	return (&InMessage{Payload: m.Payload}).id()
}

func (m *InMessage) id() uint64 { return msgID(m) }

// TestClientRestart: the client comes back at the same address with a
// new client cookie. The server's existing connection sees a session it
// does not know; with resetcheck it resets its own (remote reset) and
// takes the new socket.
func TestClientRestart(t *testing.T) {
	n, cl, srv := pair(t, 6, losslessClient, statefulServer)
	c := cl.connect(srv, nil)
	c.send(msg(1))
	n.settle()
	s := srv.registry[cl.addrs.String()]
	s.send(msg(50)) // unacked when the client dies
	cl2 := cl.restart()
	n.settle()
	c2 := cl2.connect(srv, nil)
	c2.send(msg(2))
	n.quiesce()
	if got := srv.registry[cl.addrs.String()]; got != s {
		t.Fatalf("registry holds %p, want the existing %p", got, s)
	}
	if len(s.resets) != 1 || !s.resets[0].Remote {
		t.Fatalf("server resets %+v", s.resets)
	}
	if !slices.Equal(srv.ids(), []uint64{1, 2}) || len(cl2.delivered) != 0 {
		t.Fatalf("server got %v, new client got %v", srv.ids(), cl2.ids())
	}
	if len(s.discarded) != 1 {
		t.Fatalf("server discarded %d", len(s.discarded))
	}
	if s.m.clientCookie != c2.m.clientCookie || s.m.State() != StateReady {
		t.Fatalf("server session not the new one: %x vs %x, %v", s.m.clientCookie, c2.m.clientCookie, s.m.State())
	}
}

// TestRetryGlobal: a reconnect carrying a global_seq older than the one
// the server saw last is answered SESSION_RETRY_GLOBAL; the client moves
// its global_seq past it and the reconnect succeeds.
func TestRetryGlobal(t *testing.T) {
	n, cl, srv := pair(t, 8, losslessClient, statefulServer)
	c := cl.connect(srv, nil)
	c.send(msg(1))
	n.settle()
	n.socks[len(n.socks)-1].abort()
	n.quiesce() // reconnect #1: global_seq 2
	s := srv.registry[cl.addrs.String()]
	if s.m.peerGlobalSeq != 2 {
		t.Fatalf("peer_global_seq %d", s.m.peerGlobalSeq)
	}
	cl.env.gseq = 0 // the client's counter went backwards
	n.socks[len(n.socks)-1].abort()
	c.send(msg(2))
	n.quiesce()
	if n.verdicts[vRetryGlobal] != 1 {
		t.Fatalf("verdicts %v", n.verdicts)
	}
	if !slices.Equal(srv.ids(), []uint64{1, 2}) || c.m.globalSeq != 3 || len(c.resets) != 0 {
		t.Fatalf("got %v, global_seq %d, resets %v", srv.ids(), c.m.globalSeq, c.resets)
	}
}

// TestWaitBacksOffMax: a client answered WAIT backs off ms_max_backoff.
func TestWaitBacksOffMax(t *testing.T) {
	n, a, b := peers(t, 2)
	ca := a.sendTo(b, msg(1))
	cb := b.sendTo(a, msg(1))
	n.settle()
	var waited *conn
	for _, c := range []*conn{ca, cb} {
		for _, l := range c.log {
			if strings.Contains(l, ErrWait.Error()) {
				waited = c
			}
		}
	}
	if waited != cb {
		t.Fatalf("expected b's connection to be told to wait; logs a=%v b=%v", ca.log, cb.log)
	}
	n.quiesce()
	if !slices.Equal(a.ids(), []uint64{1}) || !slices.Equal(b.ids(), []uint64{1}) {
		t.Fatalf("a %v b %v", a.ids(), b.ids())
	}
}

// TestWaitTimer checks the WAIT backoff on a lone machine.
func TestWaitTimer(t *testing.T) {
	n, cl, srv := pair(t, 9, losslessClient, statefulServer)
	c := cl.connect(srv, nil)
	n.settle()
	// Drive the client by hand: fault it with WAIT as if the server said so.
	c.m.begin()
	c.m.ph = phWait
	c.m.fault(n.now, ErrWait)
	c.apply(c.m.end())
	if c.m.State() != StateWait || !c.timers[TimerBackoff].Equal(n.now.Add(DefaultMaxBackoff)) {
		t.Fatalf("state %v timer %v", c.m.State(), c.timers)
	}
	n.quiesce()
	if c.m.State() != StateReady || len(c.established) != 2 || !c.established[1].Reconnected {
		t.Fatalf("state %v established %+v", c.m.State(), c.established)
	}
}

// TestBackoffDoubles: a lossless client that cannot connect retries after
// 0.2 s, 0.4 s, ... up to 15 s; refusals are reported.
func TestBackoffDoubles(t *testing.T) {
	n := newNet(t, 1)
	cl := n.addNode(clientName, 5000, 1)
	cl.env.defPolicy = losslessClient
	m, err := NewClient(Config{Env: cl.env, Me: clientName, PeerType: encoding.EntityTypeOSD,
		PeerAddrs: encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Nonce: 3, Addr: netipPort(6999)}}})
	if err != nil {
		t.Fatal(err)
	}
	c := cl.newConn(m)
	c.apply(m.Start(n.now))
	var waits []time.Duration
	for range 9 {
		n.settle()
		start := n.now
		if !n.fireNext(TimerBackoff) {
			t.Fatal("no backoff timer")
		}
		waits = append(waits, n.now.Sub(start))
	}
	want := []time.Duration{200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(waits, want) || c.refused != 9 {
		t.Fatalf("waits %v refused %d", waits, c.refused)
	}
}

package v2

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// TestArbitrate checks each rule of handle_existing_connection and
// handle_reconnect, from the existing connection's side.
func TestArbitrate(t *testing.T) {
	n := newNet(t, 1)
	me := n.addNode(osdName, 6801, 2) // higher address than the peer
	peerAddrs := encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Nonce: 1, Addr: netipPort(6800)}}
	// Ceph compares entity_addr_t with memcmp: type, then nonce, then
	// the socket address.
	higherPeer := encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Nonce: 3, Addr: netipPort(6700)}}
	type st struct {
		ph                       phase
		lossy, server, replacing bool
		cc, sc, pgs, cs          uint64
		peer                     encoding.EntityAddrVec
	}
	type qu struct {
		reconnect  bool
		cc, gs, cs uint64
		resetcheck bool
		peer       encoding.EntityAddrVec
	}
	tests := []struct {
		name      string
		e         st
		q         qu
		want      verdict
		wantReset bool // the existing session is reset (remote reset)
		wantState State
	}{
		// CLIENT_IDENT
		{"closed existing", st{ph: phClosed}, qu{cc: 1}, verdict{kind: vProceed}, false, StateClosed},
		{"existing replacing", st{ph: phReplacing, replacing: true}, qu{cc: 1}, verdict{kind: vWait}, false, StateAccepting},
		{"stale global seq", st{ph: phReady, cc: 1, sc: 2, pgs: 10}, qu{cc: 1, gs: 9}, verdict{kind: vStale}, false, StateReady},
		{"lossy existing", st{ph: phReady, lossy: true}, qu{cc: 5, gs: 1}, verdict{kind: vProceed}, false, StateClosed},
		{"peer reset, resetcheck", st{ph: phReady, cc: 1, sc: 2}, qu{cc: 3, gs: 1, resetcheck: true}, verdict{kind: vHandOff}, true, StateAccepting},
		{"peer reset, no resetcheck", st{ph: phStandby, cc: 1, sc: 2}, qu{cc: 3, gs: 1}, verdict{kind: vHandOff}, false, StateAccepting},
		{"interrupted establishment", st{ph: phSessionConnecting, cc: 3}, qu{cc: 3, gs: 1}, verdict{kind: vHandOff}, false, StateAccepting},
		{"ready, new session", st{ph: phReady, cc: 0, sc: 0}, qu{cc: 3, gs: 1}, verdict{kind: vHandOff}, false, StateAccepting},
		{"race, lower peer wins", st{ph: phSessionConnecting, cc: 4}, qu{cc: 3, gs: 1, peer: peerAddrs}, verdict{kind: vHandOff}, false, StateAccepting},
		{"race, we win", st{ph: phSessionConnecting, cc: 4}, qu{cc: 3, gs: 1, peer: higherPeer}, verdict{kind: vWait}, false, StateConnecting},
		{"race, existing is a server", st{ph: phSessionConnecting, cc: 4, server: true}, qu{cc: 3, gs: 1, peer: higherPeer}, verdict{kind: vHandOff}, false, StateAccepting},
		// SESSION_RECONNECT
		{"reconnect, closed", st{ph: phClosed}, qu{reconnect: true, cc: 1}, verdict{kind: vReset, full: true}, false, StateClosed},
		{"reconnect, replacing", st{ph: phReplacing, replacing: true, pgs: 8}, qu{reconnect: true, cc: 1}, verdict{kind: vRetryGlobal, n: 8}, false, StateAccepting},
		{"reconnect, unknown client cookie", st{ph: phReady, cc: 1, sc: 2}, qu{reconnect: true, cc: 9, resetcheck: true}, verdict{kind: vReset, full: true}, false, StateReady},
		{"reconnect, unknown cookie no resetcheck", st{ph: phReady, cc: 1, sc: 2}, qu{reconnect: true, cc: 9}, verdict{kind: vReset}, false, StateReady},
		{"reconnect, no server cookie", st{ph: phSessionConnecting, cc: 1}, qu{reconnect: true, cc: 1}, verdict{kind: vReset}, false, StateConnecting},
		{"reconnect, stale global seq", st{ph: phStandby, cc: 1, sc: 2, pgs: 5}, qu{reconnect: true, cc: 1, gs: 4, cs: 9}, verdict{kind: vRetryGlobal, n: 5}, false, StateStandby},
		{"reconnect, stale connect seq", st{ph: phStandby, cc: 1, sc: 2, pgs: 5, cs: 3}, qu{reconnect: true, cc: 1, gs: 6, cs: 2}, verdict{kind: vRetry, n: 3}, false, StateStandby},
		{"reconnect race, we win", st{ph: phSessionReconnecting, cc: 1, sc: 2, cs: 3, peer: higherPeer}, qu{reconnect: true, cc: 1, gs: 6, cs: 3}, verdict{kind: vWait}, false, StateConnecting},
		{"reconnect race, peer wins", st{ph: phSessionReconnecting, cc: 1, sc: 2, cs: 3, peer: peerAddrs}, qu{reconnect: true, cc: 1, gs: 6, cs: 3}, verdict{kind: vHandOff}, false, StateAccepting},
		{"reconnect", st{ph: phStandby, cc: 1, sc: 2, pgs: 5, cs: 3}, qu{reconnect: true, cc: 1, gs: 6, cs: 4}, verdict{kind: vHandOff}, false, StateAccepting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Machine{cfg: Config{Env: me.env}, env: me.env, ph: tc.e.ph, replacing: tc.e.replacing,
				clientCookie: tc.e.cc, serverCookie: tc.e.sc, peerGlobalSeq: tc.e.pgs, connectSeq: tc.e.cs,
				policy: Policy{Lossy: tc.e.lossy, Server: tc.e.server}, peerAddrs: tc.e.peer}
			e.outq.Push(msg(1))
			e.announced = true
			peer := tc.q.peer
			if peer == nil {
				peer = peerAddrs
			}
			q := &Query{PeerAddrs: peer, PeerType: encoding.EntityTypeOSD, Reconnect: tc.q.reconnect, q: query{
				clientCookie: tc.q.cc, globalSeq: tc.q.gs, connectSeq: tc.q.cs, msgSeq: 0, resetcheck: tc.q.resetcheck,
				stream: newStream(wire.Limits{}, nil, false)}}
			v, r := e.Arbitrate(n.now, q)
			acts := flatten(r)
			if v.v != tc.want || v.Register != (tc.want.kind == vProceed) {
				t.Fatalf("verdict %+v, want %+v", v.v, tc.want)
			}
			reset := false
			for _, a := range acts {
				if r, ok := a.(Reset); ok && r.Remote {
					reset = true
				}
			}
			if reset != tc.wantReset {
				t.Fatalf("remote reset %v, want %v (%v)", reset, tc.wantReset, acts)
			}
			if got := e.State(); got != tc.wantState {
				t.Fatalf("state %v, want %v", got, tc.wantState)
			}
			if tc.want.kind == vHandOff && (e.adopt != q.q.stream || !e.replacing) {
				t.Fatal("the existing machine did not take the stream")
			}
		})
	}
}

// TestTimers: the handshake timer faults a stuck handshake, the idle timer
// an idle session (and re-arms while traffic flows).
func TestTimers(t *testing.T) {
	t.Run("handshake", func(t *testing.T) {
		n, cl, srv := pair(t, 1, losslessClient, statefulServer)
		c := cl.connect(srv, nil)
		// Swallow everything the server writes: the handshake stalls.
		n.step() // the client connects and writes its banner
		for _, s := range n.socks {
			s.buf[1] = nil
		}
		if !n.fireNext(TimerHandshake) {
			t.Fatal("no handshake timer")
		}
		if !closedWith(c, ErrTimeout) || c.m.State() != StateBackoff {
			t.Fatalf("state %v log %v", c.m.State(), c.log)
		}
	})
	t.Run("idle", func(t *testing.T) {
		n, cl, srv := pair(t, 1, lossyClient, statelessServer)
		c := cl.connect(srv, func(cfg *Config) { cfg.IdleTimeout = time.Minute })
		n.settle()
		start := n.now
		if at := c.timers[TimerIdle]; !at.Equal(start.Add(time.Minute)) {
			t.Fatalf("idle timer at %v", at)
		}
		// Traffic at +30s moves the deadline: the first firing re-arms.
		n.now = start.Add(30 * time.Second)
		srv.registry[cl.addrs.String()].send(msg(1))
		n.settle()
		n.fireNext(TimerIdle)
		if c.m.State() != StateReady || !c.timers[TimerIdle].Equal(start.Add(90*time.Second)) {
			t.Fatalf("state %v timer %v", c.m.State(), c.timers[TimerIdle])
		}
		n.fireNext(TimerIdle)
		if !c.closed || len(c.resets) != 1 || !errors.Is(c.resets[0].Err, ErrTimeout) {
			t.Fatalf("closed %v resets %v", c.closed, c.resets)
		}
	})
}

// closedWith reports whether c's last socket was closed for err.
func closedWith(c *conn, err error) bool {
	for i := len(c.log) - 1; i >= 0; i-- {
		if strings.HasPrefix(c.log[i], "close socket: ") {
			return strings.Contains(c.log[i], err.Error())
		}
	}
	return false
}

// TestStandby: lossless peers with nothing to send wait in standby after
// a fault, and the next message reconnects (connect_seq + 1); a server
// never reconnects by itself.
func TestStandby(t *testing.T) {
	n, a, b := peers(t, 3)
	ca := a.sendTo(b, msg(1))
	n.quiesce()
	cb := b.registry[a.addrs.String()]
	n.socks[0].abort()
	n.quiesce()
	if ca.m.State() != StateStandby || cb.m.State() != StateStandby || len(n.socks) != 1 {
		t.Fatalf("states %v %v, %d sockets", ca.m.State(), cb.m.State(), len(n.socks))
	}
	cs := ca.m.connectSeq
	cb.send(msg(1)) // b's accepted connection reconnects, as a client now
	n.quiesce()
	if !equalIDs(a.ids(), 1) || !equalIDs(b.ids(), 1) || cb.m.connectSeq != cs+1 || ca.m.connectSeq != cs+1 {
		t.Fatalf("a %v b %v connect_seq %d/%d", a.ids(), b.ids(), ca.m.connectSeq, cb.m.connectSeq)
	}
	if ca.m.State() != StateReady || cb.m.State() != StateReady || !ca.established[1].Accepted {
		t.Fatalf("states %v %v", ca.m.State(), cb.m.State())
	}
}

func equalIDs(got []uint64, n uint64) bool {
	if uint64(len(got)) != n {
		return false
	}
	for i, g := range got {
		if g != uint64(i+1) {
			return false
		}
	}
	return true
}

// TestAuthBadMethod: the server refuses the first method; the client's
// handler offers another, which succeeds.
func TestAuthBadMethod(t *testing.T) {
	n, cl, srv := pair(t, 2, losslessClient, statefulServer)
	cl.env.authClient = func(uint8) (auth.ClientHandler, error) { return &fallbackClient{}, nil }
	srv.env.authServer = func(uint8) (auth.ServerHandler, error) { return &auth.NoneServer{}, nil }
	c := cl.connect(srv, nil)
	c.send(msg(1))
	n.settle()
	if len(c.established) != 1 || !equalIDs(srv.ids(), 1) {
		t.Fatalf("established %v, server got %v; log %v", c.established, srv.ids(), c.log)
	}
}

// fallbackClient asks for method 99 first, then falls back to none.
type fallbackClient struct{ auth.NoneClient }

func (c *fallbackClient) Start() (uint32, []uint32, []byte, error) {
	return 99, []uint32{auth.ModeCRC}, nil, nil
}

func (c *fallbackClient) HandleBadMethod(method uint32, _ int32, methods, modes []uint32) (uint32, []uint32, []byte, error) {
	if method != 99 || len(methods) == 0 || methods[0] != auth.MethodNone {
		return 0, nil, nil, errors.New("unexpected refusal")
	}
	c.Name = auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "x"}
	return c.NoneClient.Start()
}

package v2

import (
	"errors"
	"testing"
	"time"
)

var errTest = errors.New("test: socket failed")

// TestBackoffStartsOverAfterReady: failed connection attempts back off
// from InitialBackoff doubling to MaxBackoff; once a session has been
// ready, a fault reconnects at once, and a failed attempt after that waits
// InitialBackoff again, not where the earlier failures left off (as
// ProtocolV2::_fault resets backoff for a session that was open).
func TestBackoffStartsOverAfterReady(t *testing.T) {
	for _, resume := range []string{"server ident", "reconnect ok"} {
		t.Run(resume, func(t *testing.T) {
			n, cl, srv := pair(t, 3, losslessClient, statefulServer)
			srvAddr := srv.addrs[0].Addr
			delete(n.nodes, srvAddr) // refused until it is back
			c := cl.connect(srv, nil)
			c.send(msg(1))
			var waits []time.Duration
			failAttempt := func() {
				t.Helper()
				n.settle() // the refusal
				at, ok := c.timers[TimerBackoff]
				if !ok {
					t.Fatalf("no backoff after a failed attempt (state %v)", c.m.ph)
				}
				waits = append(waits, at.Sub(n.now))
				if !n.fireNext(TimerBackoff) {
					t.Fatal("backoff did not fire")
				}
			}
			for range 5 {
				failAttempt()
			}
			ms := time.Millisecond
			want := []time.Duration{200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms}
			for i := range want {
				if waits[i] != want[i] {
					t.Fatalf("waits %v, want %v", waits, want)
				}
			}
			n.nodes[srvAddr] = srv
			n.quiesce()
			if c.m.State() != StateReady || len(c.established) != 1 {
				t.Fatalf("not ready: %v, %d established", c.m.State(), len(c.established))
			}
			if resume == "reconnect ok" {
				// A fault of the open session reconnects at once and
				// resumes it (SESSION_RECONNECT_OK).
				n.socks[len(n.socks)-1].abort()
				n.settle()
				if _, ok := c.timers[TimerBackoff]; ok || c.m.State() != StateReady || !c.established[1].Reconnected {
					t.Fatalf("no immediate resume: state %v, established %+v", c.m.State(), c.established)
				}
			}
			// The session breaks and the peer is gone: the reconnect is
			// immediate, and its failure waits InitialBackoff.
			delete(n.nodes, srvAddr)
			n.socks[len(n.socks)-1].abort()
			before := len(n.socks)
			n.settle()
			if _, ok := c.timers[TimerBackoff]; !ok {
				t.Fatalf("no backoff after the reconnect failed (state %v)", c.m.ph)
			}
			if got := c.timers[TimerBackoff].Sub(n.now); got != 200*ms {
				t.Fatalf("after a ready session the first backoff is %v, want 200ms", got)
			}
			if len(n.socks) != before {
				t.Fatal("a refused dial made a socket")
			}
			// Back again: the session resumes, nothing lost.
			n.nodes[srvAddr] = srv
			c.send(msg(2))
			n.quiesce()
			checkSeq(t, "server", srv.ids(), 2)
		})
	}
}

// TestCloseSocketSaysHandshake: a socket dropped during the handshake is
// reported with its phase and peer as a handshake failure; one dropped
// from an open session is not.
func TestCloseSocketSaysHandshake(t *testing.T) {
	n, cl, srv := pair(t, 5, losslessClient, statefulServer)
	c := cl.connect(srv, nil)
	// Break the socket once the client has sent its banner.
	n.step() // connected
	var got []CloseSocket
	r := c.m.SocketError(n.now, errTest)
	acts := flatten(r)
	for _, a := range acts {
		if cs, ok := a.(CloseSocket); ok {
			got = append(got, cs)
		}
	}
	c.apply(r)
	if len(got) != 1 || !got[0].Handshake || got[0].Phase != "BANNER_CONNECTING" || got[0].Peer != srv.addrs[0] {
		t.Fatalf("handshake failure reported as %+v", got)
	}
	n.quiesce()
	if c.m.State() != StateReady {
		t.Fatalf("state %v", c.m.State())
	}
	got = nil
	r = c.m.SocketError(n.now, errTest)
	acts = flatten(r)
	for _, a := range acts {
		if cs, ok := a.(CloseSocket); ok {
			got = append(got, cs)
		}
	}
	c.apply(r)
	if len(got) != 1 || got[0].Handshake || got[0].Phase != "READY" {
		t.Fatalf("open session's socket failure reported as %+v", got)
	}
}

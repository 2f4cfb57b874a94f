package v2

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// breakRandom aborts a random socket that is open at both ends.
func (n *net) breakRandom() bool {
	var live []*sock
	for _, s := range n.socks {
		if s.open[0] && s.open[1] && !s.eofDue[0] && !s.eofDue[1] {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return false
	}
	live[n.rng.IntN(len(live))].abort()
	return true
}

// quiesce runs the network and the reconnect timers until nothing moves.
func (n *net) quiesce() {
	for range 100000 {
		n.settle()
		if !n.fireNext(TimerBackoff, TimerHandshake) {
			return
		}
	}
	n.t.Fatal("no quiescence")
}

func checkSeq(t *testing.T, what string, got []uint64, n uint64) {
	t.Helper()
	if !slices.Equal(got, seq(1, n)) {
		// Find the first difference for a readable failure.
		for i, g := range got {
			if g != uint64(i+1) {
				t.Fatalf("%s: %d messages; at %d got %d (around %v)", what, len(got), i, g, got[max(0, i-3):min(len(got), i+4)])
			}
		}
		t.Fatalf("%s: %d messages of %d", what, len(got), n)
	}
}

// TestLosslessFaultsRandomized sends thousands of messages each way over
// a lossless client / stateful server pair while sockets break at random
// points (mid-frame, mid-handshake, mid-reconnect): every message arrives
// exactly once, in order.
func TestLosslessFaultsRandomized(t *testing.T) {
	seeds := 20
	total := uint64(2000)
	if testing.Short() {
		seeds, total = 4, 500
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n, cl, srv := pair(t, uint64(seed), losslessClient, statefulServer)
			n.maxChunk = 1 + n.rng.IntN(300)
			c := cl.connect(srv, nil)
			var sentC, sentS uint64
			faults := 0
			for sentC < total || sentS < total {
				switch r := n.rng.IntN(100); {
				case r < 30 && sentC < total:
					for k := 1 + n.rng.IntN(20); k > 0 && sentC < total; k-- {
						sentC++
						c.send(msg(sentC))
					}
				case r < 60 && sentS < total:
					if s := srv.registry[cl.addrs.String()]; s != nil {
						for k := 1 + n.rng.IntN(20); k > 0 && sentS < total; k-- {
							sentS++
							s.send(msg(sentS))
						}
					}
				case r < 63:
					if n.breakRandom() {
						faults++
					}
				}
				for k := n.rng.IntN(40); k > 0; k-- {
					if !n.step() {
						n.fireNext(TimerBackoff, TimerHandshake)
						break
					}
				}
			}
			n.quiesce()
			checkSeq(t, "server received", srv.ids(), total)
			checkSeq(t, "client received", cl.ids(), total)
			if faults == 0 {
				t.Fatal("no fault injected")
			}
			for _, x := range n.allConns() {
				if len(x.resets) != 0 || len(x.discarded) != 0 {
					t.Fatalf("lossless session reset: %+v discarded %d", x.resets, len(x.discarded))
				}
			}
			if len(c.acked) != int(total) {
				t.Fatalf("client saw %d acks of %d", len(c.acked), total)
			}
			t.Logf("seed %d: %d faults, %d reconnects, verdicts %v", seed, faults, len(c.established), n.verdicts)
		})
	}
}

// TestLosslessReplaysUnacked checks the exact replay on one reconnect:
// what the peer acknowledged is dropped, the rest is sent again with the
// same seqs, and nothing is delivered twice.
func TestLosslessReplaysUnacked(t *testing.T) {
	n, cl, srv := pair(t, 7, losslessClient, statefulServer)
	c := cl.connect(srv, nil)
	n.settle()
	s := srv.registry[cl.addrs.String()]
	c.send(msg(1), msg(2), msg(3))
	n.settle()
	// 4 and 5 reach the server, but its ACK is lost with the socket.
	c.send(msg(4), msg(5))
	for range 2 { // deliver client->server bytes only
		if !n.step() {
			break
		}
	}
	if got := srv.ids(); !slices.Equal(got, seq(1, 5)) {
		t.Fatalf("server got %v", got)
	}
	n.socks[0].abort()
	c.send(msg(6))
	n.quiesce()
	checkSeq(t, "server", srv.ids(), 6)
	if len(c.established) != 2 || !c.established[1].Reconnected || len(s.established) != 2 || !s.established[1].Reconnected {
		t.Fatalf("established: client %+v server %+v", c.established, s.established)
	}
	if c.m.outq.Seq() != 6 || s.m.inSeq != 6 || c.m.Queued() != 0 {
		t.Fatalf("out_seq %d in_seq %d queued %d", c.m.outq.Seq(), s.m.inSeq, c.m.Queued())
	}
}

// TestLossyFaultResets: a lossy connection reports the reset and drops
// what was queued; it never reconnects by itself, and nothing arrives
// twice.
func TestLossyFaultResets(t *testing.T) {
	n, cl, srv := pair(t, 3, lossyClient, statelessServer)
	c := cl.connect(srv, nil)
	c.send(msg(1), msg(2))
	n.settle()
	s := srv.registry[cl.addrs.String()]
	if got := srv.ids(); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("server got %v", got)
	}
	if len(c.acked) != 2 {
		t.Fatalf("lossy messages are released once framed: %d", len(c.acked))
	}
	n.socks[0].abort()
	n.settle()
	for _, x := range []*conn{c, s} {
		if !x.closed || len(x.resets) != 1 || x.resets[0].Remote || !errors.Is(x.resets[0].Err, ErrSocket) {
			t.Fatalf("%s: closed %v resets %+v", x.node.name, x.closed, x.resets)
		}
	}
	c.send(msg(3))
	if len(c.discarded) != 1 {
		t.Fatalf("send after close: discarded %d", len(c.discarded))
	}
	n.quiesce()
	if len(n.socks) != 1 {
		t.Fatalf("lossy client reconnected: %d sockets", len(n.socks))
	}
}

// TestLossyFaultsRandomized: lossy client connections to a stateless
// server break at random; the messenger (here the test) opens a new one
// after each reset. Nothing is ever delivered twice or out of order, and
// every reset is reported on both sides.
func TestLossyFaultsRandomized(t *testing.T) {
	for seed := 1; seed <= 10; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n, cl, srv := pair(t, uint64(seed), lossyClient, statelessServer)
			n.maxChunk = 1 + n.rng.IntN(100)
			c := cl.connect(srv, nil)
			var sent uint64
			faults := 0
			for sent < 3000 {
				if c.closed {
					c = cl.connect(srv, nil)
				}
				switch r := n.rng.IntN(100); {
				case r < 60:
					sent++
					c.send(msg(sent))
				case r < 62:
					if n.breakRandom() {
						faults++
					}
				}
				for k := n.rng.IntN(20); k > 0 && n.step(); k-- {
				}
			}
			n.quiesce()
			got := srv.ids()
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("delivered %d after %d", got[i], got[i-1])
				}
			}
			var estC, resetC, estS, resetS int
			for _, x := range cl.conns {
				estC += len(x.established)
				resetC += len(x.resets)
			}
			for _, x := range srv.conns {
				estS += len(x.established)
				resetS += len(x.resets)
			}
			live := 0
			if !c.closed && c.m.State() == StateReady {
				live = 1
			}
			if resetC != estC-live || resetS > estS {
				t.Fatalf("client: %d sessions, %d resets; server: %d sessions, %d resets", estC, resetC, estS, resetS)
			}
			t.Logf("seed %d: %d faults, %d of %d delivered, %d sessions", seed, faults, len(got), sent, estC)
		})
	}
}

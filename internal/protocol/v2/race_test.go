package v2

import (
	"fmt"
	"slices"
	"testing"
)

// peers makes two OSD nodes with the lossless_peer policy.
func peers(t *testing.T, seed uint64) (*net, *node, *node) {
	n := newNet(t, seed)
	a := n.addNode(osdName, 6800, 1)
	b := n.addNode(osd1Name, 6801, 2)
	a.env.defPolicy = losslessPeer
	b.env.defPolicy = losslessPeer
	return n, a, b
}

// sendTo sends from nd to peer on whatever connection nd has for it,
// connecting if there is none (as Messenger::send_to does).
func (nd *node) sendTo(peer *node, ms ...*OutMessage) *conn {
	c := nd.registry[peer.addrs.String()]
	if c == nil || c.closed {
		c = nd.connect(peer, nil)
	}
	c.send(ms...)
	return c
}

// TestConnectionRace: both peers connect to each other at once. One
// accepted connection is answered WAIT, the other takes over the
// existing connection; one session results and messages flow both ways.
func TestConnectionRace(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n, a, b := peers(t, seed)
			ca := a.sendTo(b, msg(1))
			cb := b.sendTo(a, msg(1))
			n.quiesce()
			if got := a.ids(); !slices.Equal(got, []uint64{1}) {
				t.Fatalf("a got %v", got)
			}
			if got := b.ids(); !slices.Equal(got, []uint64{1}) {
				t.Fatalf("b got %v", got)
			}
			// The registered connections are the two ends of one session.
			ra, rb := a.registry[b.addrs.String()], b.registry[a.addrs.String()]
			if ra != ca || rb != cb {
				t.Fatalf("registry changed: %p/%p vs %p/%p", ra, rb, ca, cb)
			}
			if ra.m.State() != StateReady || rb.m.State() != StateReady {
				t.Fatalf("states %v %v", ra.m.State(), rb.m.State())
			}
			if ra.m.clientCookie != rb.m.clientCookie || ra.m.serverCookie != rb.m.serverCookie {
				t.Fatalf("cookies differ: %x/%x vs %x/%x", ra.m.clientCookie, ra.m.serverCookie, rb.m.clientCookie, rb.m.serverCookie)
			}
			// Exactly one side accepted the session: the connection from
			// the lower address (a) wins the race, so a's stays a client
			// and b's existing connection took the socket a dialled.
			if ra.established[0].Accepted || !rb.established[0].Accepted {
				t.Fatalf("a accepted %v, b accepted %v", ra.established, rb.established)
			}
			waited := false
			for _, c := range a.conns {
				for _, l := range c.log {
					waited = waited || l == "lookup "+b.addrs.String()+" reconnect=false"
				}
			}
			_ = waited

			ra.send(msg(2))
			rb.send(msg(2))
			n.quiesce()
			if !slices.Equal(a.ids(), []uint64{1, 2}) || !slices.Equal(b.ids(), []uint64{1, 2}) {
				t.Fatalf("a %v b %v", a.ids(), b.ids())
			}
		})
	}
}

// TestPeersFaultsRandomized is the randomized fault test for two
// lossless peers: after a fault both sides may reconnect at once (a
// reconnect race), and sockets break during the races too.
func TestPeersFaultsRandomized(t *testing.T) {
	seeds := 20
	total := uint64(1500)
	if testing.Short() {
		seeds, total = 4, 300
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			n, a, b := peers(t, uint64(seed))
			n.maxChunk = 1 + n.rng.IntN(200)
			var sentA, sentB uint64
			faults := 0
			for sentA < total || sentB < total {
				switch r := n.rng.IntN(100); {
				case r < 30 && sentA < total:
					sentA++
					a.sendTo(b, msg(sentA))
				case r < 60 && sentB < total:
					sentB++
					b.sendTo(a, msg(sentB))
				case r < 62:
					if n.breakRandom() {
						faults++
					}
				}
				for k := n.rng.IntN(30); k > 0; k-- {
					if !n.step() {
						n.fireNext(TimerBackoff, TimerHandshake)
						break
					}
				}
			}
			n.quiesce()
			checkSeq(t, "b received", b.ids(), total)
			checkSeq(t, "a received", a.ids(), total)
			for _, x := range n.allConns() {
				if len(x.discarded) != 0 {
					t.Fatalf("%s discarded %d", x.node.name, len(x.discarded))
				}
			}
			t.Logf("seed %d: %d faults, %d+%d connections, verdicts %v", seed, faults, len(a.conns), len(b.conns), n.verdicts)
		})
	}
}

package msgr

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

// breakSocket fails c's current socket as a network error would.
func breakSocket(c *Conn) {
	_ = c.worker.Exec(func() { c.sockFail(errors.New("test: socket broken")) })
}

// checkInOrder verifies that r got exactly seqs [from, to) from sender,
// in order, each once.
func checkInOrder(t *testing.T, r *recorder, sender uint64, from, to uint64) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	next := from
	for _, m := range r.msgs {
		if m.From != sender {
			continue
		}
		if m.Seq != next {
			t.Fatalf("from %d: got seq %d, want %d", sender, m.Seq, next)
		}
		next++
	}
	if next != to {
		t.Fatalf("from %d: got seqs up to %d, want %d", sender, next, to)
	}
}

func (r *recorder) countFrom(sender uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m.From == sender {
			n++
		}
	}
	return n
}

func sendRange(t *testing.T, c *Conn, from uint64, lo, hi uint64) {
	t.Helper()
	for i := lo; i < hi; i++ {
		if err := c.Send(&testMsg{From: from, Seq: i, Data: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

var policyCases = []struct {
	name       string
	cli, srv   Policy
	clientBind bool // the client listens too (peers)
}{
	{"lossy_client-stateless_server", LossyClient(0), StatelessServer(0), false},
	{"lossless_client-stateful_server", LosslessClient(0), StatefulServer(0), false},
	{"lossless_peer", LosslessPeer(0), LosslessPeer(0), true},
	{"lossless_peer_reuse", LosslessPeerReuse(0), LosslessPeerReuse(0), true},
}

func TestPolicies(t *testing.T) { testPolicies(t) }

// TestPoliciesGoNet runs the same Conn code over the goroutine-per-
// connection transport.
func TestPoliciesGoNet(t *testing.T) {
	useGoNet(t)
	testPolicies(t)
}

func testPolicies(t *testing.T) {
	for _, tc := range policyCases {
		t.Run(tc.name, func(t *testing.T) {
			srvRec, cliRec := newRecorder(), newRecorder()
			srvRec.echo = true
			srv := newTestMessenger(t, osdName(1), true, Options{}, srvRec)
			srv.SetDefaultPolicy(tc.srv)
			cli := newTestMessenger(t, osdName(2), tc.clientBind, Options{}, cliRec)
			cli.SetDefaultPolicy(tc.cli)

			// Connect, messages both ways (echoes).
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			sendRange(t, c, 1, 0, 50)
			cliRec.waitFor(t, "first echoes", func() bool { return cliRec.countFrom(1) == 50 })
			checkInOrder(t, cliRec, 1, 0, 50)

			// Peers also connect the other way, racing with the session
			// that exists.
			if tc.clientBind {
				back, err := srv.GetConnection(cli.Addrs(), encoding.EntityTypeOSD)
				if err != nil {
					t.Fatal(err)
				}
				sendRange(t, back, 9, 0, 20)
				cliRec.waitFor(t, "server-initiated messages", func() bool { return cliRec.countFrom(9) == 20 })
				checkInOrder(t, cliRec, 9, 0, 20)
			}

			// A fault in the middle of a stream.
			sendRange(t, c, 1, 50, 100)
			breakSocket(c)
			sendRange2 := func() {
				for i := uint64(100); i < 150; i++ {
					if err := c.Send(&testMsg{From: 1, Seq: i}); err != nil {
						if tc.cli.Lossy && errors.Is(err, ErrConnClosed) {
							return
						}
						t.Fatalf("send %d: %v", i, err)
					}
				}
			}
			sendRange2()
			if tc.cli.Lossy {
				cliRec.waitFor(t, "reset on the lossy client", func() bool { return cliRec.get(&cliRec.resets) >= 1 })
				<-c.Done()
				if err := c.Send(&testMsg{From: 1}); !errors.Is(err, ErrConnClosed) {
					t.Fatalf("send on a reset lossy conn = %v, want ErrConnClosed", err)
				}
				// Nothing was duplicated; a new connection works.
				assertNoDuplicates(t, cliRec)
				c2, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
				if err != nil {
					t.Fatal(err)
				}
				if c2 == c {
					t.Fatal("GetConnection returned the closed connection")
				}
				sendRange(t, c2, 2, 0, 10)
				cliRec.waitFor(t, "echoes on the new connection", func() bool { return cliRec.countFrom(2) == 10 })
				checkInOrder(t, cliRec, 2, 0, 10)
				c = c2
			} else {
				cliRec.waitFor(t, "echoes across the fault", func() bool { return cliRec.countFrom(1) == 150 })
				checkInOrder(t, cliRec, 1, 0, 150)
				if got := cliRec.get(&cliRec.resets) + cliRec.get(&cliRec.remote); got != 0 {
					t.Fatalf("lossless fault reported %d resets", got)
				}
			}

			// Mark down: no local reset, Send fails from then on.
			resets := cliRec.get(&cliRec.resets)
			c.MarkDown()
			<-c.Done()
			if err := c.Send(&testMsg{From: 1}); !errors.Is(err, ErrConnClosed) {
				t.Fatalf("send after mark down = %v, want ErrConnClosed", err)
			}
			if got := cliRec.get(&cliRec.resets); got != resets {
				t.Fatalf("mark down reported a reset (%d -> %d)", resets, got)
			}
			if tc.srv.Lossy {
				srvRec.waitFor(t, "reset on the lossy server", func() bool { return srvRec.get(&srvRec.resets) >= 1 })
			}
		})
	}
}

func assertNoDuplicates(t *testing.T, r *recorder) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[[2]uint64]bool{}
	for _, m := range r.msgs {
		k := [2]uint64{m.From, m.Seq}
		if seen[k] {
			t.Fatalf("duplicate message from %d seq %d", m.From, m.Seq)
		}
		seen[k] = true
	}
}

// TestPeerRestart restarts the server (same address and nonce, as a
// monitor does) under each policy.
func TestPeerRestart(t *testing.T) {
	for _, tc := range policyCases {
		t.Run(tc.name, func(t *testing.T) {
			srvRec, cliRec := newRecorder(), newRecorder()
			srvRec.echo = true
			const nonce = 77
			srv := startMessenger(t, osdName(1), nonce, netip.AddrPortFrom(loopback, 0), Options{}, srvRec)
			srv.SetDefaultPolicy(tc.srv)
			addr := srv.Addrs()[0].Addr
			cli := newTestMessenger(t, osdName(2), tc.clientBind, Options{}, cliRec)
			cli.SetDefaultPolicy(tc.cli)

			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			sendRange(t, c, 1, 0, 20)
			cliRec.waitFor(t, "echoes", func() bool { return cliRec.countFrom(1) == 20 })

			shutdown(t, srv)
			srvRec2 := newRecorder()
			srvRec2.echo = true
			srv2 := startMessenger(t, osdName(1), nonce, addr, Options{}, srvRec2)
			srv2.SetDefaultPolicy(tc.srv)

			if tc.cli.Lossy {
				// The session broke with the socket: reset, and a new
				// connection reaches the new server.
				cliRec.waitFor(t, "reset after the restart", func() bool { return cliRec.get(&cliRec.resets) >= 1 })
				// HandleReset may run before the connection's loop has
				// closed it; until then GetConnection returns it.
				<-c.Done()
				var err error
				c, err = cli.GetConnection(srv2.Addrs(), encoding.EntityTypeOSD)
				if err != nil {
					t.Fatal(err)
				}
			} else {
				// The connection reconnects and the new server has no
				// session to resume: a remote reset, as Ceph reports it
				// (what was queued then is dropped, as in Ceph's
				// reset_session), and the same Conn goes on.
				if err := c.Connect(); err != nil {
					t.Fatal(err)
				}
				cliRec.waitFor(t, "remote reset", func() bool { return cliRec.get(&cliRec.remote) >= 1 })
			}
			sendRange(t, c, 3, 0, 20)
			cliRec.waitFor(t, "echoes from the restarted server", func() bool { return cliRec.countFrom(3) == 20 })
			checkInOrder(t, cliRec, 3, 0, 20)
			checkInOrder(t, cliRec, 1, 0, 20)
		})
	}
}

// TestConnectionRace: two peers connect to each other at the same moment
// and send at once; the protocol's race rules (WAIT, the higher address
// wins) leave one session, and every message arrives once, in order.
func TestConnectionRace(t *testing.T) {
	for _, pol := range []Policy{LosslessPeer(0), LosslessPeerReuse(0)} {
		for round := range 10 {
			a, b := newRecorder(), newRecorder()
			ma := newTestMessenger(t, osdName(int64(2*round)), true, Options{}, a)
			mb := newTestMessenger(t, osdName(int64(2*round+1)), true, Options{}, b)
			ma.SetDefaultPolicy(pol)
			mb.SetDefaultPolicy(pol)
			ca, err := ma.GetConnection(mb.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := mb.GetConnection(ma.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 100 {
					if err := cb.Send(&testMsg{From: 2, Seq: uint64(i)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			sendRange(t, ca, 1, 0, 100)
			<-done
			b.waitFor(t, "a's messages", func() bool { return b.countFrom(1) == 100 })
			a.waitFor(t, "b's messages", func() bool { return a.countFrom(2) == 100 })
			checkInOrder(t, b, 1, 0, 100)
			checkInOrder(t, a, 2, 0, 100)
			shutdown(t, ma)
			shutdown(t, mb)
		}
	}
}

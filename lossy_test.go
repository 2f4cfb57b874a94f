package msgr

import (
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// TestMarkDownStopsDispatchAtOnce: once MarkDown returns, no message the
// connection received is dispatched any more (but the one a dispatcher
// already holds), as Ceph's mark_down stops the connection on the
// caller's thread. A lossy sender that marks its connection down and
// opens a new one therefore never sees the old one's messages after the
// new one's.
func TestMarkDownStopsDispatchAtOnce(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(1), true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	g := newGatedRecorder()
	cli := newTestMessenger(t, clientName(2), false, Options{}, g)
	t.Cleanup(g.open) // before the shutdown, which waits for the dispatcher
	cli.SetDefaultPolicy(LossyClient(0))
	queued := make(chan struct{}, 64)
	cli.dq.mu.Lock()
	cli.dq.pushed = func(it dispatchItem) {
		if it.kind == itemMessage {
			queued <- struct{}{}
		}
	}
	cli.dq.mu.Unlock()
	c1, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	sendRange(t, c1, 1, 0, n)
	// Every echo is queued: the first is in the dispatcher, held at the
	// gate; the rest wait in the queue.
	<-g.entered
	for range n {
		<-queued
	}
	c1.MarkDown()
	g.open()
	// A new connection's echoes come after the held one and nothing else
	// of the old connection.
	c2, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	if c2 == c1 {
		t.Fatal("GetConnection returned the marked-down connection")
	}
	sendRange(t, c2, 1, 100, 110)
	g.waitFor(t, "the new connection's echoes", func() bool { return g.countFrom(1) >= 11 })
	<-c1.Done()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, m := range g.msgs {
		if (i == 0) != (g.conns[i] == c1) || (i > 0 && m.Seq < 100) {
			t.Fatalf("dispatched after the mark down: #%d seq %d from the old connection %v", i, m.Seq, g.conns[i] == c1)
		}
	}
	if len(g.msgs) != 11 {
		t.Fatalf("%d messages dispatched, want the held one and the new connection's 10", len(g.msgs))
	}
}

// TestLossyNewConnectionStopsOld: when a lossy peer's new connection
// arrives while the server still has its old one (the peer marked it
// down; the server has not read the close yet), the old one is stopped
// before the new one opens (handle_existing_connection): its queued
// messages are dropped and none is dispatched after the new one's.
func TestLossyNewConnectionStopsOld(t *testing.T) {
	g := newGatedRecorder()
	srv := newTestMessenger(t, osdName(1), true, Options{}, g)
	t.Cleanup(g.open)
	srv.SetDefaultPolicy(StatelessServer(0))
	queued := make(chan *Conn, 64)
	srv.dq.mu.Lock()
	srv.dq.pushed = func(it dispatchItem) {
		if it.kind == itemMessage {
			queued <- it.c
		}
	}
	srv.dq.mu.Unlock()
	cli := newTestMessenger(t, clientName(2), false, Options{}, newRecorder())
	cli.SetDefaultPolicy(LossyClient(0))
	c1, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	sendRange(t, c1, 1, 0, n)
	<-g.entered
	var old *Conn
	for range n {
		old = <-queued
	}
	// The old server connection is still open when the new one arrives:
	// only the client's side is gone.
	c1.MarkDown()
	<-c1.Done()
	c2, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	sendRange(t, c2, 1, 100, 110)
	<-old.Done()
	g.open()
	g.waitFor(t, "the new connection's messages", func() bool { return g.countFrom(1) >= 11 })
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, m := range g.msgs {
		if (i == 0) != (g.conns[i] == old) || (i > 0 && m.Seq < 100) {
			t.Fatalf("#%d: seq %d (old connection %v) dispatched after the new connection opened", i, m.Seq, g.conns[i] == old)
		}
	}
}

// TestLossyReplacementChain: the connection that replaced a lossy peer's
// old one is itself replaced by the next, however the old one went. Three
// clients with one identity connect in turn and none closes its side: the
// second must be stopped when the third arrives. (It was not: the first,
// stopped during the arbitration, forgot its key, so the second was never
// registered, and it went on delivering beside the third.)
func TestLossyReplacementChain(t *testing.T) {
	rec := newRecorder()
	srv := newTestMessenger(t, osdName(1), true, Options{}, rec)
	srv.SetDefaultPolicy(StatelessServer(0))
	conns := make([]*Conn, 3)
	for i := range conns {
		cli := startMessengerCfg(t, Config{Name: clientName(7), Nonce: 7}, false, Options{}, newRecorder())
		cli.SetDefaultPolicy(LossyClient(0))
		c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
		if err != nil {
			t.Fatal(err)
		}
		sendRange(t, c, 7, uint64(i*10), uint64(i*10+1))
		rec.waitFor(t, "the connection's message", func() bool { return rec.count() >= i+1 })
		conns[i] = c
	}
	for i, c := range conns[:2] {
		select {
		case <-c.Done():
		case <-time.After(20 * time.Second):
			t.Fatalf("connection %d still open after the next one from the same peer opened", i)
		}
	}
	if conns[2].isClosed() {
		t.Fatal("the newest connection was closed")
	}
}

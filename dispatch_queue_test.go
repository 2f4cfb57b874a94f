package msgr

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// queueLog collects what a dispatchQueue delivers, by name; gate, when
// set, holds the first delivery until closed.
type queueLog struct {
	mu      sync.Mutex
	names   []string
	got     chan struct{}
	gate    chan struct{}
	entered chan struct{} // closed when the first delivery waits at gate
	first   sync.Once
}

func newQueueLog(gated bool) *queueLog {
	l := &queueLog{got: make(chan struct{}, 1)}
	if gated {
		l.gate, l.entered = make(chan struct{}), make(chan struct{})
	}
	return l
}

// names of the items: the message's Seq field, or the event.
func itemName(it dispatchItem) string {
	if it.kind != itemMessage {
		return fmt.Sprintf("event%d", it.kind)
	}
	return fmt.Sprintf("%d@%d", it.m.(*testMsg).Seq, it.h.Priority)
}

func (l *queueLog) deliver(it dispatchItem) {
	if l.gate != nil {
		l.first.Do(func() { close(l.entered); <-l.gate })
	}
	if it.release != nil {
		it.release()
	}
	l.mu.Lock()
	l.names = append(l.names, itemName(it))
	l.mu.Unlock()
	select {
	case l.got <- struct{}{}:
	default:
	}
}

// wait waits until n items were delivered and returns their names.
func (l *queueLog) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		got := slices.Clone(l.names)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-l.got:
		case <-deadline.C:
			t.Fatalf("delivered %v, want %d items", got, n)
		}
	}
}

func msgItem(c *Conn, seq uint64, prio uint16, release func()) dispatchItem {
	return dispatchItem{kind: itemMessage, c: c, m: &testMsg{Seq: seq}, h: message.Header{Seq: seq, Priority: prio}, release: release}
}

// Higher priorities first, FIFO within one, events at PrioHighest (so
// after messages of a higher priority, FIFO with messages at 255).
func TestDispatchQueuePriority(t *testing.T) {
	l := newQueueLog(false)
	q := newDispatchQueue(l.deliver)
	c := &Conn{}
	for _, it := range []dispatchItem{
		msgItem(c, 1, 127, nil),
		msgItem(c, 2, 64, nil),
		msgItem(c, 3, 196, nil),
		msgItem(c, 4, 127, nil),
		{kind: itemConnect, c: c},
		msgItem(c, 5, 255, nil),
		msgItem(c, 6, 300, nil),
		{kind: itemReset, c: c},
		msgItem(c, 7, 0, nil),
	} {
		if !q.push(it) {
			t.Fatal("push refused before stop")
		}
	}
	q.start()
	got := l.wait(t, 9)
	want := []string{"6@300", "event1", "5@255", "event3", "3@196", "1@127", "4@127", "2@64", "7@0"}
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	q.stop()
	if q.push(msgItem(c, 8, 127, nil)) {
		t.Fatal("push accepted after stop")
	}
}

// A message pushed while another is being delivered goes ahead of lower
// priorities already queued.
func TestDispatchQueueOvertake(t *testing.T) {
	l := newQueueLog(true)
	q := newDispatchQueue(l.deliver)
	q.start()
	c := &Conn{}
	q.push(msgItem(c, 1, 127, nil)) // held in delivery by the gate
	waitClosed(t, l.entered)
	q.push(msgItem(c, 2, 64, nil))
	q.push(msgItem(c, 3, 127, nil))
	q.push(msgItem(c, 4, 196, nil))
	close(l.gate)
	got := l.wait(t, 4)
	if want := []string{"1@127", "4@196", "3@127", "2@64"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	q.stop()
}

// discard drops one connection's queued messages, returns their budget
// and keeps its events and the other connections' messages.
func TestDispatchQueueDiscard(t *testing.T) {
	l := newQueueLog(true)
	q := newDispatchQueue(l.deliver)
	q.start()
	budget := NewThrottle("test", 0)
	take := func() func() {
		if !budget.TryGet(1) {
			t.Fatal("budget")
		}
		return func() { budget.Put(1) }
	}
	c1, c2 := &Conn{}, &Conn{}
	q.push(msgItem(c1, 1, 127, take())) // in hand: delivered anyway
	waitClosed(t, l.entered)
	q.push(msgItem(c1, 2, 127, take()))
	q.push(msgItem(c2, 3, 127, take()))
	q.push(dispatchItem{kind: itemReset, c: c1})
	q.push(msgItem(c1, 4, 64, take()))
	q.push(msgItem(c1, 5, 196, take()))
	q.push(msgItem(c2, 6, 64, take()))
	if n := q.discard(c1); n != 3 {
		t.Fatalf("discarded %d, want 3", n)
	}
	if n := q.discard(c1); n != 0 {
		t.Fatalf("second discard dropped %d", n)
	}
	// Held: the message in hand and c2's two.
	if got := budget.Current(); got != 3 {
		t.Fatalf("budget held after discard %d, want 3", got)
	}
	close(l.gate)
	got := l.wait(t, 4)
	if want := []string{"1@127", "event3", "3@127", "6@64"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	q.stop()
	if got := budget.Current(); got != 0 {
		t.Fatalf("budget held at the end %d", got)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.perConn) != 0 || q.n != 0 || len(q.levels) != 0 {
		t.Fatalf("queue left: perConn %v n %d levels %d", q.perConn, q.n, len(q.levels))
	}
}

// A level's backing array is reused after its head moved on, and many
// priorities come and go without leaking levels.
func TestDispatchQueueChurn(t *testing.T) {
	l := newQueueLog(false)
	q := newDispatchQueue(l.deliver)
	c := &Conn{}
	q.start()
	const n = 2000
	for i := range n {
		q.push(msgItem(c, uint64(i), uint16(i%7), nil))
	}
	l.wait(t, n)
	q.stop()
	if len(q.free) > 7 {
		t.Fatalf("%d free levels for 7 priorities", len(q.free))
	}
}

// prioMsg is a testMsg whose Encode sets the header's priority and tid;
// it decodes as a testMsg.
type prioMsg struct {
	testMsg
	prio uint16
	tid  uint64
}

func (p *prioMsg) Encode(h *message.Header, f uint64, pl *message.Payload) error {
	h.Priority, h.Tid = p.prio, p.tid
	return p.testMsg.Encode(h, f, pl)
}

// headerRecorder records each message's header (HeaderDispatcher); the
// first message waits for gate.
type headerRecorder struct {
	mu      sync.Mutex
	headers []message.Header
	seqs    []uint64
	conns   []*Conn
	gate    chan struct{}
	entered chan struct{} // closed when the first message waits at gate
	first   sync.Once
	opened  sync.Once
	changed chan struct{}
}

func (r *headerRecorder) open() { r.opened.Do(func() { close(r.gate) }) }

func (r *headerRecorder) Dispatch(*Conn, message.Message) bool {
	panic("Dispatch called on a HeaderDispatcher")
}

func (r *headerRecorder) DispatchHeader(c *Conn, h message.Header, m message.Message) bool {
	tm, ok := m.(*testMsg)
	if !ok {
		return false
	}
	if r.gate != nil {
		r.first.Do(func() { close(r.entered); <-r.gate })
	}
	r.mu.Lock()
	r.headers = append(r.headers, h)
	r.seqs = append(r.seqs, tm.Seq)
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return true
}

func (r *headerRecorder) waitN(t *testing.T, n int) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got := len(r.headers)
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("%d messages dispatched, want %d", got, n)
		}
	}
}

// pushWatch makes q signal on ch every message it queues.
func pushWatch(q *dispatchQueue) chan struct{} {
	ch := make(chan struct{}, 1024)
	q.mu.Lock()
	q.pushed = func(it dispatchItem) {
		if it.kind == itemMessage {
			ch <- struct{}{}
		}
	}
	q.mu.Unlock()
	return ch
}

func waitPushes(t *testing.T, ch chan struct{}, n int) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for i := range n {
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%d messages queued, want %d", i, n)
		}
	}
}

// Over a real connection: a HeaderDispatcher sees seq, tid, priority and
// src; messages queued behind a busy dispatcher come out by priority; the
// local connection's messages get a header too.
func TestDispatchHeaderAndPriority(t *testing.T) {
	r := &headerRecorder{gate: make(chan struct{}), entered: make(chan struct{}), changed: make(chan struct{}, 1)}
	srv := newTestMessenger(t, osdName(0), true, Options{}, r)
	t.Cleanup(r.open) // before the shutdown, which waits for the dispatcher
	srv.SetDefaultPolicy(StatelessServer(0))
	pushes := pushWatch(srv.dq)
	cli := newTestMessenger(t, clientName(9), false, Options{}, newRecorder())
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []uint16{message.PrioDefault, message.PrioLow, message.PrioDefault, message.PrioHigh, 10} {
		if err := c.Send(&prioMsg{testMsg: testMsg{Seq: uint64(i)}, prio: p, tid: uint64(100 + i)}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// The first is in the dispatcher's hands before the rest queue.
			waitClosed(t, r.entered)
		}
	}
	waitPushes(t, pushes, 5)
	r.open()
	r.waitN(t, 5)
	r.mu.Lock()
	seqs, hs := slices.Clone(r.seqs), slices.Clone(r.headers)
	r.mu.Unlock()
	if want := []uint64{0, 3, 2, 1, 4}; !slices.Equal(seqs, want) {
		t.Fatalf("dispatch order %v, want %v", seqs, want)
	}
	for i, h := range hs {
		s := seqs[i]
		if h.Seq != s+1 || h.Tid != 100+s || h.Type != testMsgType || h.Src != clientName(9) || h.FrontLen != 16 {
			t.Errorf("message %d: header %+v", s, h)
		}
	}
	if hs[1].Priority != message.PrioHigh || hs[4].Priority != 10 {
		t.Errorf("priorities %d, %d", hs[1].Priority, hs[4].Priority)
	}

	if err := srv.LocalConnection().Send(&testMsg{Seq: 77}); err != nil {
		t.Fatal(err)
	}
	r.waitN(t, 6)
	r.mu.Lock()
	h := r.headers[5]
	r.mu.Unlock()
	if h.Src != osdName(0) || h.Seq != 0 || h.Priority != message.PrioDefault || h.Type != testMsgType {
		t.Errorf("local header %+v", h)
	}
}

// gatedRecorder is a recorder whose first message waits for gate.
type gatedRecorder struct {
	*recorder
	gate    chan struct{}
	entered chan struct{} // closed when the first message waits at gate
	first   sync.Once
	opened  sync.Once
}

func newGatedRecorder() *gatedRecorder {
	return &gatedRecorder{recorder: newRecorder(), gate: make(chan struct{}), entered: make(chan struct{})}
}

func (g *gatedRecorder) open() { g.opened.Do(func() { close(g.gate) }) }

func (g *gatedRecorder) Dispatch(c *Conn, m message.Message) bool {
	g.first.Do(func() { close(g.entered); <-g.gate })
	return g.recorder.Dispatch(c, m)
}

// A lossy connection that faults with messages still queued for dispatch
// drops them (Ceph's discard_queue) and gives their dispatch budget back;
// the message already in the dispatcher's hands and the reset are
// delivered.
func TestLossyResetDiscardsQueued(t *testing.T) {
	g := newGatedRecorder()
	srv := newTestMessenger(t, osdName(0), true, Options{}, g)
	t.Cleanup(g.open) // before the shutdown, which waits for the dispatcher
	srv.SetDefaultPolicy(StatelessServer(0))
	q := srv.dq
	var srvConn *Conn
	queued := make(chan struct{}, 64)
	q.mu.Lock()
	q.pushed = func(it dispatchItem) {
		if it.kind == itemMessage {
			srvConn = it.c // read after the pushes were seen, below
			queued <- struct{}{}
		}
	}
	q.mu.Unlock()
	cli := newTestMessenger(t, clientName(3), false, Options{}, newRecorder())
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	sendRange(t, c, 1, 0, n)
	waitPushes(t, queued, n)
	waitClosed(t, g.entered)
	q.mu.Lock()
	sc := srvConn
	q.mu.Unlock()
	if got := srv.dispatchMsgs.Current(); got != n {
		t.Fatalf("dispatch budget held %d, want %d", got, n)
	}
	breakSocket(sc)
	select {
	case <-sc.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the lossy connection did not close")
	}
	if !errors.Is(sc.Err(), ErrSocket) {
		t.Errorf("closed with %v", sc.Err())
	}
	// Only the message in the dispatcher's hands still holds budget.
	if got, bytes := srv.dispatchMsgs.Current(), srv.dispatchBytes.Current(); got != 1 || bytes != 16+1 {
		t.Fatalf("dispatch budget held after the reset: %d messages %d bytes, want 1 and 17", got, bytes)
	}
	g.open()
	g.waitFor(t, "the reset", func() bool { return g.get(&g.resets) == 1 })
	q.mu.Lock()
	left := q.n
	q.mu.Unlock()
	if got := g.count(); got != 1 || left != 0 {
		t.Fatalf("%d messages dispatched, %d queued; want 1 and 0", got, left)
	}
	if got, bytes := srv.dispatchMsgs.Current(), srv.dispatchBytes.Current(); got != 0 || bytes != 0 {
		t.Fatalf("dispatch budget held at the end: %d messages %d bytes", got, bytes)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatal("timed out")
	}
}

// BenchmarkDispatchQueue: one producer, the delivering goroutine taking
// items one at a time under the lock.
func BenchmarkDispatchQueue(b *testing.B) {
	done := make(chan struct{})
	var got int
	q := newDispatchQueue(func(dispatchItem) {
		if got++; got == b.N {
			close(done)
		}
	})
	q.start()
	c := &Conn{}
	m := &testMsg{}
	b.ReportAllocs()
	for i := range b.N {
		q.push(dispatchItem{kind: itemMessage, c: c, m: m, h: message.Header{Priority: uint16(127 + i%2)}})
	}
	<-done
	q.stop()
}

// A lossless connection whose peer restarted (remote reset) drops what the
// old session delivered and was not yet dispatched, as Ceph's
// reset_session does, and the new session's messages flow.
func TestRemoteResetDiscardsQueued(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	const nonce = 78
	srv := startMessenger(t, osdName(1), nonce, netip.AddrPortFrom(loopback, 0), Options{}, srvRec)
	srv.SetDefaultPolicy(StatefulServer(0))
	addr := srv.Addrs()[0].Addr
	g := newGatedRecorder()
	cli := newTestMessenger(t, osdName(2), false, Options{}, g)
	t.Cleanup(g.open) // before the shutdown, which waits for the dispatcher
	cli.SetDefaultPolicy(LosslessClient(0))
	msgs, resets := make(chan struct{}, 64), make(chan struct{}, 1)
	cli.dq.mu.Lock()
	cli.dq.pushed = func(it dispatchItem) {
		switch it.kind {
		case itemMessage:
			msgs <- struct{}{}
		case itemRemoteReset:
			select {
			case resets <- struct{}{}:
			default:
			}
		}
	}
	cli.dq.mu.Unlock()
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	sendRange(t, c, 1, 0, n)
	waitPushes(t, msgs, n) // the echoes
	waitClosed(t, g.entered)

	shutdown(t, srv)
	srvRec2 := newRecorder()
	srvRec2.echo = true
	srv2 := startMessenger(t, osdName(1), nonce, addr, Options{}, srvRec2)
	srv2.SetDefaultPolicy(StatefulServer(0))
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, resets)
	if got := cli.dispatchMsgs.Current(); got != 1 {
		t.Fatalf("dispatch budget held after the remote reset: %d, want 1", got)
	}
	g.open()
	g.waitFor(t, "the remote reset", func() bool { return g.get(&g.remote) == 1 })
	if got := g.count(); got != 1 {
		t.Fatalf("%d old-session messages dispatched, want 1", got)
	}
	sendRange(t, c, 3, 0, 5)
	g.waitFor(t, "echoes of the new session", func() bool { return g.countFrom(3) == 5 })
	checkInOrder(t, g.recorder, 3, 0, 5)
	if got := g.countFrom(1); got != 1 {
		t.Fatalf("%d old-session messages dispatched in the end, want 1", got)
	}
}

// fastHeaders is a FastHeaderDispatcher of testMsg.
type fastHeaders struct {
	headers chan message.Header
}

func (f *fastHeaders) Dispatch(*Conn, message.Message) bool { return false }
func (f *fastHeaders) CanFastDispatch(m message.Message) bool {
	_, ok := m.(*testMsg)
	return ok
}
func (f *fastHeaders) FastDispatch(*Conn, message.Message) {
	panic("FastDispatch called on a FastHeaderDispatcher")
}
func (f *fastHeaders) FastDispatchHeader(_ *Conn, h message.Header, _ message.Message) {
	f.headers <- h
}

// Fast dispatch sees the header too, on the loop for a peer's messages
// and from the queue for local ones.
func TestFastDispatchHeader(t *testing.T) {
	f := &fastHeaders{headers: make(chan message.Header, 4)}
	srv := newTestMessenger(t, osdName(0), true, Options{}, f)
	srv.SetDefaultPolicy(StatelessServer(0))
	cli := newTestMessenger(t, clientName(5), false, Options{}, newRecorder())
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&prioMsg{prio: message.PrioHigh, tid: 42}); err != nil {
		t.Fatal(err)
	}
	next := func() message.Header {
		select {
		case h := <-f.headers:
			return h
		case <-time.After(20 * time.Second):
			t.Fatal("nothing fast-dispatched")
			return message.Header{}
		}
	}
	if h := next(); h.Seq != 1 || h.Tid != 42 || h.Priority != message.PrioHigh || h.Src != clientName(5) {
		t.Errorf("header %+v", h)
	}
	if err := srv.LocalConnection().Send(&testMsg{}); err != nil {
		t.Fatal(err)
	}
	if h := next(); h.Seq != 0 || h.Src != osdName(0) || h.Priority != message.PrioDefault {
		t.Errorf("local header %+v", h)
	}
}

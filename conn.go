package msgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/fifo"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/internal/stack"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/perf"
)

// Conn is one session with a peer (Ceph's AsyncConnection driving
// ProtocolV2). It lives on one worker for good; there it owns one
// protocol Machine and at most one socket at a time, feeds the Machine
// what the socket reads, writes what the Machine produces, runs its
// timers and performs the lookups it asks for. Other goroutines reach it
// only through its worker's Exec and the few fields below that say so.
type Conn struct {
	// Immutable after construction.
	msgr    *Messenger
	id      uint64
	local   bool
	worker  stack.Worker
	release func() // the worker's load count
	log     *slog.Logger
	drainFn func()       // c.drain, allocated once
	perf    *perf.Logger // the worker's counters; nil when off
	trace   bool         // log has config.LevelTrace on: a line per message

	// regKey is the key this connection is registered under in
	// msgr.conns; guarded by msgr.mu.
	regKey string

	// Safe from any goroutine.
	rx     *rxBuffers // posted receive buffers (rxbuffers.go)
	info   atomic.Pointer[connInfo]
	closed atomic.Bool
	// down is set by MarkDown before the worker closes the connection, so
	// that no Send or GetConnection slips into a connection on its way out.
	down     atomic.Bool
	priv     atomic.Value
	kaAck    atomic.Int64 // unix nanos of the latest KEEPALIVE2_ACK's stamp
	doneCh   chan struct{}
	closeErr error // written before doneCh closes

	mu        sync.Mutex // guards the fields down to the next comment
	sendq     []*v2.OutMessage
	spare     []*v2.OutMessage
	kaReq     bool
	startReq  bool
	downReq   bool
	scheduled bool // drainFn is queued on the worker
	outMsgs   int  // messages sent and not yet acked or discarded
	outBytes  int64
	// waiters are the wake-up channels of the SendContext calls waiting
	// for room (from spaceChans); wakeLocked signals each.
	waiters []chan struct{}
	qclosed bool

	// proto is the protocol mach speaks; immutable.
	proto proto

	// Owned by the worker's context.
	// reading: onReadable is running; a Send made meanwhile on this loop
	// (a fast dispatcher's reply) sets drainLater instead of queuing a
	// drain task, and goes out in the read's own flush, carrying the ack.
	reading    bool
	drainLater bool
	// ackDue: the latest Ready asked for WriteAck (v2.Ready.AckDue); it
	// is made once the messages received are dispatched and their replies
	// framed, as Ceph's write event follows handle_message.
	ackDue     bool
	testPaused bool // tests stop reading mid-message (rxbuffers_test.go)
	mach       machine
	started    bool
	sock       stack.Socket
	sockUp     bool // connected: writes may go out
	sockFailed bool // SocketError already reported for this socket
	out        [][]byte
	spent      []*outMsg // released, recycled once out is empty
	later      []stepEvent
	applying   bool
	timers     [4]stack.Timer
	inq        fifo.Queue[inMsg]
	inWaiting  bool        // the head of inq waits for a throttle
	inCancel   func() bool // withdraws that wait
	// inWaitGen numbers the waits, so that the grant of a wait withdrawn
	// too late (a session reset) is not taken for a later wait's.
	inWaitGen  uint64
	delayTimer stack.Timer
	paused     bool
	inject     *injector
	handoffTo  *Conn
	finished   bool
	policy     Policy
	// authDone is the auth outcome of the current socket's exchange
	// (server side), published in info when the session opens.
	authDone sockAuth
}

// connInfo is a snapshot of what other goroutines may ask about the peer.
type connInfo struct {
	peer      encoding.EntityName
	addrs     encoding.EntityAddrVec
	features  uint64
	connected bool
	accepted  bool // the session was accepted (we are the server side)
	auth      AuthInfo
	authSrv   auth.ServerHandler // accepted only
}

// outMsg is a message handed to the Machine with what the connection
// keeps of it: its outbound budget, and room for a small front so that
// encoding one costs no allocation of its own. Its OutMessage's Ref
// points back to it. The Machine holds it until Acked or Discarded;
// then, once no buffer of it can be waiting to be written (c.out is
// empty: a lossy message is Acked as it is framed, before the write),
// it goes back to outMsgs for another Send.
type outMsg struct {
	v2.OutMessage
	size  int64
	front [outFrontInline]byte
}

// outMsgs recycles outMsgs (see recycleOut).
var outMsgs = sync.Pool{New: func() any { return new(outMsg) }}

// maxKeptSpent bounds the spent list's array kept between flushes.
const maxKeptSpent = 1024

// outFrontInline is the front an outMsg holds inline; a longer one is
// allocated by append as before.
const outFrontInline = 64

// stepKind says which Machine call a stepEvent makes.
type stepKind uint8

const (
	stepFunc   stepKind = iota // f
	stepSend                   // Send(om)
	stepCommit                 // Commit(n), after ReadBuffer
	stepStart
	stepKeepalive
	stepMarkDown
	stepWriteAck
)

// stepEvent is one Machine call for step to make. The frequent calls are
// tagged values rather than closures, which would capture their
// arguments on the heap on every call; the rest use f.
type stepEvent struct {
	kind stepKind
	n    int
	om   *v2.OutMessage
	f    func(time.Time) *v2.Ready
}

func (c *Conn) call(ev *stepEvent, now time.Time) *v2.Ready {
	switch ev.kind {
	case stepSend:
		return c.mach.Send(now, ev.om)
	case stepCommit:
		return c.mach.Commit(now, ev.n)
	case stepStart:
		return c.mach.Start(now)
	case stepKeepalive:
		return c.mach.SendKeepalive(now)
	case stepMarkDown:
		return c.mach.MarkDown(now)
	case stepWriteAck:
		return c.mach.WriteAck(now)
	}
	return ev.f(now)
}

// inMsg is a received message waiting for its throttles (or an injected
// delay) before dispatch. stage counts the throttles taken.
type inMsg struct {
	im        *v2.InMessage
	size      int64
	stage     int
	notBefore time.Time
}

// readSize is the least room a socket read gets; a big incoming message
// gets what it still needs, in one read, straight into its own buffer, and
// after a big message the next read gets that message's size (a stream of
// equal messages: one read each, no copy; Decoder.ReadSpace).
const readSize = 64 << 10

// shortReadBreak: a read shorter than its buffer and than this ends the
// read loop of one readable event.
const shortReadBreak = 16 << 10

func newConn(m *Messenger, w stack.Worker, release func(), mach machine, p proto, info connInfo, rx *rxBuffers) *Conn {
	c := &Conn{
		rx:      rx,
		msgr:    m,
		id:      m.connIDs.Add(1),
		worker:  w,
		release: release,
		doneCh:  make(chan struct{}),
		mach:    mach,
		proto:   p,
	}
	c.drainFn = c.drain
	c.log = m.log.With("conn", c.id)
	c.info.Store(&info)
	c.inject = newInjector(&m.opts, c.id)
	c.perf = m.perfFor(w)
	c.trace = c.log.Enabled(context.Background(), config.LevelTrace)
	c.perf.Inc(lMsgrCreatedConnections, 1)
	c.perf.Inc(lMsgrActiveConnections, 1)
	return c
}

func newClientConn(m *Messenger, addrs encoding.EntityAddrVec, peerType uint8) (*Conn, error) {
	p, err := m.pickProto(addrs)
	if err != nil {
		return nil, err
	}
	cfg := m.machineConfig()
	cfg.PeerType = peerType
	cfg.PeerAddrs = addrs
	rx := &rxBuffers{}
	cfg.RxBuffer = rx.claim
	mach, err := m.newMachine(p, cfg, true)
	if err != nil {
		return nil, err
	}
	w, release := m.stack.Pick()
	c := newConn(m, w, release, mach, p, connInfo{peer: encoding.EntityName{Type: peerType, Num: -1}, addrs: addrs}, rx)
	c.policy = m.policies.get(peerType)
	c.inject.setPeer(&m.opts, peerType)
	return c, nil
}

func newServerConn(m *Messenger, p proto) (*Conn, error) {
	cfg := m.machineConfig()
	ce := &connEnv{env: (*env)(m)}
	cfg.Env = ce
	rx := &rxBuffers{}
	cfg.RxBuffer = rx.claim
	mach, err := m.newMachine(p, cfg, false)
	if err != nil {
		return nil, err
	}
	w, release := m.stack.Pick()
	c := newConn(m, w, release, mach, p, connInfo{peer: encoding.EntityName{Num: -1}}, rx)
	// The Machine asks for an auth handler only once it runs, on c's
	// worker, after this (the Exec that attaches the socket orders it).
	ce.c = c
	return c, nil
}

// String names the connection for logs.
func (c *Conn) String() string {
	i := c.info.Load()
	return fmt.Sprintf("conn#%d(%v %v)", c.id, i.peer, i.addrs)
}

// Messenger returns the messenger the connection belongs to.
func (c *Conn) Messenger() *Messenger { return c.msgr }

// PeerName returns the peer's entity name (its number is -1 until the
// session has opened).
func (c *Conn) PeerName() encoding.EntityName { return c.info.Load().peer }

// PeerType returns the peer's entity type.
func (c *Conn) PeerType() uint8 { return c.info.Load().peer.Type }

// PeerAddrs returns the peer's addresses.
func (c *Conn) PeerAddrs() encoding.EntityAddrVec { return c.info.Load().addrs }

// Features returns the features in use with the peer, once connected.
func (c *Conn) Features() uint64 { return c.info.Load().features }

// IsConnected reports whether a session is ready right now: false from
// the moment its socket fails until a reconnect has opened it again.
func (c *Conn) IsConnected() bool { return c.info.Load().connected }

// IsMsgr1 reports whether the connection speaks msgr1 ("ceph v027")
// rather than msgr2. Over msgr1 a mon session is authenticated in MAuth
// messages, not in the handshake.
func (c *Conn) IsMsgr1() bool { return c.proto == protoV1 }

// IsLocal reports whether this is the messenger's connection to itself.
func (c *Conn) IsLocal() bool { return c.local }

// Priv and SetPriv hold the user's data for this connection (Ceph's
// Connection::priv).
func (c *Conn) Priv() any { return c.priv.Load() }

// SetPriv stores v; it must always be of the same concrete type.
func (c *Conn) SetPriv(v any) { c.priv.Store(v) }

// LastKeepaliveAck returns the stamp of the latest keepalive the peer
// acknowledged (zero if none).
func (c *Conn) LastKeepaliveAck() time.Time {
	if n := c.kaAck.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Done is closed once the connection is closed for good; Err says why.
func (c *Conn) Done() <-chan struct{} { return c.doneCh }

// Err returns why the connection closed (nil while open). It matches
// ErrMarkedDown, ErrProtocol, ErrSocket, ... with errors.Is.
func (c *Conn) Err() error {
	select {
	case <-c.doneCh:
		return c.closeErr
	default:
		return nil
	}
}

func (c *Conn) isClosed() bool { return c.closed.Load() || c.down.Load() }

// Send queues m for the peer and returns at once; it is safe from any
// goroutine. The message is encoded here, for the connection's features
// once connected (the messenger's otherwise); its data segment is written
// from m's buffer without a copy, and its crc is taken here, before it is
// written, so that buffer must not change until the message is acked
// (lossless) or written (lossy), or until DetachData for it has run.
// When the connection's outbound queue is full Send fails fast with
// ErrQueueFull; use SendContext to wait for room. After the connection
// closed it returns ErrConnClosed.
func (c *Conn) Send(m message.Message) error { return c.send(nil, m) }

// SendContext is Send that waits for room in the outbound queue until ctx
// ends.
func (c *Conn) SendContext(ctx context.Context, m message.Message) error {
	if ctx == nil {
		ctx = context.Background()
	}
	return c.send(ctx, m)
}

func (c *Conn) send(ctx context.Context, m message.Message) error {
	if c.local {
		return c.msgr.local.sendLocal(m)
	}
	if c.isClosed() {
		return ErrConnClosed
	}
	features := c.msgr.features
	info := c.info.Load()
	if info.features != 0 {
		features = info.features
	}
	// One recycled allocation holds the message, its budget and a small
	// front.
	o := outMsgs.Get().(*outMsg)
	om := &o.OutMessage
	om.Payload.Front = o.front[:0]
	if err := message.EncodeInto(m, features, &om.Header, &om.Payload); err != nil {
		return fmt.Errorf("msgr: encode message type %d: %w", m.Type(), err)
	}
	om.DataSum = c.preSum(info, om.Payload.Data)
	size := int64(len(om.Payload.Front) + len(om.Payload.Middle) + len(om.Payload.Data))
	o.size = size
	om.Ref = o
	maxMsgs, maxBytes := c.msgr.opts.OutboundQueueMessages, c.msgr.opts.OutboundQueueBytes
	c.mu.Lock()
	for {
		if c.qclosed || c.downReq || c.down.Load() {
			c.mu.Unlock()
			return ErrConnClosed
		}
		if c.outMsgs < maxMsgs && (c.outBytes+size <= maxBytes || c.outMsgs == 0) {
			break
		}
		if ctx == nil {
			c.mu.Unlock()
			return ErrQueueFull
		}
		ch := spaceChans.Get().(chan struct{})
		c.waiters = append(c.waiters, ch)
		c.mu.Unlock()
		var cerr error
		select {
		case <-ch:
		case <-ctx.Done():
			cerr = ctx.Err()
		}
		c.mu.Lock()
		c.unwaitLocked(ch)
		if cerr != nil {
			c.mu.Unlock()
			return fmt.Errorf("msgr: waiting for room to send: %w", cerr)
		}
	}
	c.outMsgs++
	c.outBytes += size
	c.sendq = append(c.sendq, om)
	return c.scheduleLocked()
}

// preSum takes data's crc here, in the sender's goroutine, for the
// framing the connection expects, so that its loop need not read the data
// once more (wire.PreSum): none when the current session is secure (no
// data crc). If the framing turns out to be another (a first session or
// a reconnect comes up secure) the loop ignores the sum. The sum stays
// right because the caller leaves the data alone until it is written:
// the rule Send states. Data of every size is summed: the sum costs the
// same here as on the loop. The loop's own Sends (fast dispatch) sum here
// too: one pass before the writes costs less than the encoder's chunk by
// chunk sums between them (4 MiB: 0.24-0.30 ms against 0.50-0.76 ms in
// the bench's profiles, issue 13).
func (c *Conn) preSum(info *connInfo, data []byte) wire.PreSum {
	if info.auth.ConMode == auth.ModeSecure {
		return wire.PreSum{}
	}
	return wire.TakePreSum(c.proto.dataSeed(), data)
}

// scheduleLocked queues a drain on the worker if none is pending, and
// unlocks c.mu. Called from this connection's own read handler it
// queues nothing: the handler drains before it flushes.
func (c *Conn) scheduleLocked() error {
	sched := !c.scheduled
	c.scheduled = true
	if sched && c.worker.InContext() && c.reading {
		c.drainLater = true
		sched = false
	}
	c.mu.Unlock()
	if sched {
		if err := c.worker.Exec(c.drainFn); err != nil {
			return fmt.Errorf("%w: %w", ErrConnClosed, err)
		}
	}
	return nil
}

// releaseOut gives back outbound budget of messages acked or discarded.
func (c *Conn) releaseOut(msgs []*v2.OutMessage) {
	var bytes int64
	for _, om := range msgs {
		if o, ok := om.Ref.(*outMsg); ok {
			bytes += o.size
			c.spent = append(c.spent, o)
		}
	}
	c.mu.Lock()
	if c.qclosed {
		// finish zeroed the budget and woke every waiter.
		c.mu.Unlock()
		return
	}
	c.outMsgs -= len(msgs)
	c.outBytes -= bytes
	c.wakeLocked()
	c.mu.Unlock()
}

// spaceChans holds wake-up channels (capacity 1) for SendContext calls
// waiting for room, so that waking one costs no allocation.
var spaceChans = sync.Pool{New: func() any { return make(chan struct{}, 1) }}

// wakeLocked makes every waiting SendContext call look again. A wake-up
// is only a hint: each checks for room (or a close) under mu.
func (c *Conn) wakeLocked() {
	for _, ch := range c.waiters {
		select {
		case ch <- struct{}{}:
		default: // already signalled
		}
	}
}

// unwaitLocked removes a waiter's channel and gives it back to the pool,
// emptied: only wakeLocked sends to it, under mu, and only while it is
// listed.
func (c *Conn) unwaitLocked(ch chan struct{}) {
	for i, x := range c.waiters {
		if x == ch {
			c.waiters = slices.Delete(c.waiters, i, i+1)
			break
		}
	}
	select {
	case <-ch:
	default:
	}
	spaceChans.Put(ch)
}

// SendKeepalive sends a KEEPALIVE2 (connecting first if needed); the
// answer shows in LastKeepaliveAck.
func (c *Conn) SendKeepalive() error {
	if c.local {
		return nil
	}
	c.mu.Lock()
	if c.qclosed {
		c.mu.Unlock()
		return ErrConnClosed
	}
	c.kaReq = true
	return c.scheduleLocked()
}

// Connect starts connecting now instead of at the first Send; it also
// wakes a lossless connection resting in standby after a fault.
func (c *Conn) Connect() error {
	if c.local {
		return nil
	}
	c.mu.Lock()
	if c.qclosed {
		c.mu.Unlock()
		return ErrConnClosed
	}
	c.startReq = true
	return c.scheduleLocked()
}

// MarkDown closes the connection for good: queued messages are dropped
// (outgoing ones, and received ones not yet dispatched: none is
// dispatched after MarkDown returns, but one already in a dispatcher),
// no reset is reported, and Send fails from now on. It returns at once;
// Done tells when the connection has closed.
func (c *Conn) MarkDown() {
	if c.local {
		return
	}
	c.mu.Lock()
	if c.qclosed {
		c.mu.Unlock()
		return
	}
	c.downReq = true
	c.down.Store(true)
	// SendContext waiters see the mark down at once.
	c.wakeLocked()
	if err := c.scheduleLocked(); err != nil {
		c.log.Debug("mark down on a stopped worker", "err", err)
	}
	// As Ceph's mark_down stops the connection on the caller's thread:
	// nothing it received is dispatched once this returns (dispatch
	// checks down), so a lossy peer's old and new connections cannot
	// deliver side by side.
	c.msgr.dq.discard(c)
}

// ---- everything below runs on the worker's context ----

// drain hands what other goroutines queued to the Machine, and flushes.
func (c *Conn) drain() {
	c.drainQueued()
	c.flushOut()
}

// drainQueued is drain without the flush.
func (c *Conn) drainQueued() {
	c.mu.Lock()
	q := c.sendq
	c.sendq = c.spare[:0]
	ka, start, down := c.kaReq, c.startReq, c.downReq
	c.kaReq, c.startReq, c.downReq = false, false, false
	c.scheduled = false
	c.mu.Unlock()
	if c.finished {
		c.releaseOut(q)
		clear(q)
		c.spare = q[:0]
		return
	}
	if down {
		c.stepEv(stepEvent{kind: stepMarkDown})
		c.releaseOut(q)
	} else {
		if start || (!c.started && (len(q) > 0 || ka)) {
			c.started = true
			c.stepEv(stepEvent{kind: stepStart})
		}
		c.perf.Inc(lMsgrSendMessages, uint64(len(q)))
		for _, om := range q {
			if c.trace {
				c.traceOut(om)
			}
			c.stepEv(stepEvent{kind: stepSend, om: om})
		}
		if ka {
			c.stepEv(stepEvent{kind: stepKeepalive})
		}
	}
	clear(q)
	c.spare = q[:0]
}

// step runs one Machine call and carries out its Ready. Calls made
// while a Ready is being carried out wait their turn, because the
// Machine must not be re-entered and its Ready is only valid until
// its next call.
func (c *Conn) step(f func(time.Time) *v2.Ready) {
	c.stepEv(stepEvent{f: f})
}

// stepEv is step for a tagged call.
func (c *Conn) stepEv(ev stepEvent) {
	if checkOwnership && !c.worker.InContext() {
		panic(fmt.Sprintf("msgr: %v stepped outside its worker", c))
	}
	if c.applying {
		c.later = append(c.later, ev)
		return
	}
	c.applying = true
	now := c.worker.Now()
	c.apply(c.call(&ev, now))
	// Calls made meanwhile, in order; the slice keeps its capacity.
	for i := 0; i < len(c.later); i++ {
		next := c.later[i]
		c.later[i] = stepEvent{}
		c.apply(c.call(&next, now))
	}
	c.later = c.later[:0]
	c.applying = false
	c.pumpIn()
	if !c.reading {
		// Outside a read the ACK goes at once; a read's goes in its
		// flush (flushPending).
		c.writeAck()
	}
}

// writeAck frames the ACK a Ready asked for, unless a message framed
// since carried it.
func (c *Conn) writeAck() {
	if c.ackDue {
		c.ackDue = false
		c.stepEv(stepEvent{kind: stepWriteAck})
	}
}

// apply carries out a Machine's Ready: before each event the frames,
// deliveries and acks that came before it (only that order matters: a
// CloseSocket drops the old socket's frames, a Reset the session's
// undispatched messages, an Established precedes its session's first
// message), then the lists' tails.
func (c *Conn) apply(r *v2.Ready) {
	c.ackDue = r.AckDue
	r.Walk(c.applyStep)
}

// applyStep carries out one step of a Ready's Walk.
func (c *Conn) applyStep(bufs [][]byte, delivered []*v2.InMessage, acked []*v2.OutMessage, a v2.Action) {
	c.out = append(c.out, bufs...)
	for _, im := range delivered {
		c.perf.Inc(lMsgrRecvMessages, 1)
		if c.trace {
			c.traceIn(im)
		}
		c.inq.Push(c.newInMsg(im))
	}
	if len(acked) > 0 {
		c.releaseOut(acked)
	}
	if a != nil {
		c.applyEvent(a)
	}
}

func (c *Conn) applyEvent(a v2.Action) {
	switch a := a.(type) {
	case v2.Dial:
		c.dial(a.Addr)
	case v2.CloseSocket:
		c.setConnected(false)
		if a.Handshake && !errors.Is(a.Err, v2.ErrReplaced) && !errors.Is(a.Err, v2.ErrMarkedDown) {
			c.msgr.handshakeFails.Add(1)
			c.log.Debug("handshake failed", "peer", a.Peer, "phase", a.Phase, "err", a.Err)
		}
		c.closeSocket(true)
	case v2.SetTimer:
		c.setTimer(a.Timer, a.At)
	case v2.StopTimer:
		c.stopTimer(a.Timer)
	case v2.LearnedAddr:
		c.msgr.learnedAddr(a.Addr)
	case v2.Established:
		c.established(a)
	case v2.Discarded:
		c.releaseOut(a.Msgs)
	case v2.Reset:
		c.setConnected(false)
		kind := itemReset
		if a.Remote {
			kind = itemRemoteReset
		}
		c.log.Debug("session reset", "remote", a.Remote, "err", a.Err)
		// The old session's messages not yet dispatched go with it,
		// as in Ceph's reset_session and _stop.
		c.dropUndispatched()
		c.msgr.dq.push(dispatchItem{kind: kind, c: c})
	case v2.Refused:
		c.log.Debug("connection refused", "err", a.Err)
		c.msgr.dq.push(dispatchItem{kind: itemRefused, c: c})
	case v2.KeepaliveAck:
		c.kaAck.Store(a.Stamp.UnixNano())
	case v2.Lookup:
		c.msgr.lookup(c, a.Query)
	case v2.HandOff:
		c.handOff(a.Pending)
	case v2.Closed:
		c.finish(a.Err)
	default:
		c.log.Error("unknown protocol action", "action", fmt.Sprintf("%T", a))
	}
}

func (c *Conn) established(a v2.Established) {
	old := c.info.Load()
	ni := &connInfo{peer: a.Peer, addrs: a.PeerAddrs, features: a.Features, connected: true, accepted: a.Accepted,
		auth: AuthInfo{GlobalID: a.AuthGlobalID, ConMode: a.ConMode}}
	if a.Accepted {
		ni.auth.Entity, ni.authSrv = c.authDone.entity, c.authDone.handler
	}
	c.info.Store(ni)
	if old.peer.Type != a.Peer.Type || !c.started {
		c.policy = c.msgr.policies.get(a.Peer.Type)
		c.inject.setPeer(&c.msgr.opts, a.Peer.Type)
	}
	c.started = true
	c.log.Debug("session open", "peer", a.Peer, "addrs", a.PeerAddrs, "accepted", a.Accepted, "reconnected", a.Reconnected)
	d := c.msgr.disp.Load()
	if a.Accepted {
		c.msgr.established(c)
		for _, x := range d.all {
			if h, ok := x.(FastAcceptHandler); ok {
				h.HandleFastAccept(c)
			}
		}
		c.msgr.dq.push(dispatchItem{kind: itemAccept, c: c})
		return
	}
	for _, x := range d.all {
		if h, ok := x.(FastConnectHandler); ok {
			h.HandleFastConnect(c)
		}
	}
	c.msgr.dq.push(dispatchItem{kind: itemConnect, c: c})
}

func (c *Conn) setConnected(on bool) {
	i := *c.info.Load()
	if i.connected == on {
		return
	}
	i.connected = on
	c.info.Store(&i)
}

// ---- sockets ----

// handler is the Conn as its socket's readiness handler; a distinct type
// keeps these methods off Conn's public API.
type handler Conn

func (h *handler) OnConnected(err error) { (*Conn)(h).onConnected(err) }
func (h *handler) OnReadable()           { (*Conn)(h).onReadable() }
func (h *handler) OnWritable()           { (*Conn)(h).flushOut() }

func (c *Conn) dialConfig() stack.DialConfig {
	return stack.DialConfig{NoDelay: !c.msgr.opts.TCPNagle, RecvBuf: c.msgr.opts.TCPRcvBuf}
}

func (c *Conn) dial(a encoding.EntityAddr) {
	c.closeSocket(false)
	s, err := c.worker.Connect(a.Addr, c.dialConfig(), (*handler)(c))
	if err != nil {
		c.step(func(now time.Time) *v2.Ready { return c.mach.SocketError(now, err) })
		return
	}
	c.sock, c.sockUp, c.sockFailed = s, false, false
}

func (c *Conn) onConnected(err error) {
	if err != nil {
		c.sock = nil // the stack closed it
		c.step(func(now time.Time) *v2.Ready { return c.mach.SocketError(now, err) })
	} else {
		c.sockUp = true
		c.step(func(now time.Time) *v2.Ready { return c.mach.Connected(now) })
	}
	c.flushOut()
}

// attach starts a server connection on an accepted socket.
func (c *Conn) attach(p stack.Pending) {
	s, err := p.Attach(c.worker, c.dialConfig(), (*handler)(c))
	if err != nil {
		c.log.Debug("attach accepted socket", "err", err)
		c.step(func(now time.Time) *v2.Ready { return c.mach.MarkDown(now) })
		return
	}
	c.sock, c.sockUp, c.sockFailed = s, true, false
	c.started = true
	remote := p.RemoteAddr()
	c.step(func(now time.Time) *v2.Ready { return c.mach.Accepted(now, remote) })
	c.flushOut()
}

// adopt takes over the socket of a connection that handed its session to
// us (ProtocolV2's reuse_connection, seen from the existing connection).
func (c *Conn) adopt(p stack.Pending, pending []byte, ad sockAuth) {
	c.closeSocket(false)
	// The session now runs on the socket the other connection
	// authenticated.
	c.authDone = ad
	s, err := p.Attach(c.worker, c.dialConfig(), (*handler)(c))
	if err != nil {
		c.socketLost(err)
		return
	}
	c.sock, c.sockUp, c.sockFailed = s, true, false
	c.msgr.handoffs.Add(1)
	c.step(func(now time.Time) *v2.Ready { return c.mach.Adopted(now, pending) })
	c.flushOut()
}

// socketLost tells a Machine waiting for a handed-off socket that it will
// not come.
func (c *Conn) socketLost(err error) {
	c.step(func(now time.Time) *v2.Ready { return c.mach.SocketError(now, err) })
	c.flushOut()
}

// handOff gives our socket to the connection that arbitrated our lookup.
func (c *Conn) handOff(pending []byte) {
	e := c.handoffTo
	c.handoffTo = nil
	ad := c.authDone
	s := c.sock
	c.sock, c.sockUp, c.out = nil, false, nil
	if e == nil {
		if s != nil {
			_ = s.Close()
		}
		return
	}
	var p stack.Pending
	err := ErrConnClosed
	if s != nil {
		p, err = s.Detach()
	}
	if err != nil {
		_ = e.worker.Exec(func() { e.socketLost(err) })
		return
	}
	if internal := c.msgr.opts.InjectInternalDelays; internal > 0 {
		// Widen the window in which the new owner can be marked down or
		// fault before the socket arrives.
		err = e.worker.Exec(func() {
			e.worker.AfterFunc(internal, func() { e.adopt(p, pending, ad) })
		})
	} else {
		err = e.worker.Exec(func() { e.adopt(p, pending, ad) })
	}
	if err != nil {
		_ = p.Close()
	}
}

// closeSocket drops the current socket, first writing out (without
// blocking) what is already queued for it when flush is set: a frame
// the Machine sent right before closing (WAIT, a reset) should reach the
// peer.
func (c *Conn) closeSocket(flush bool) {
	if c.sock == nil {
		// What is queued belongs to the next socket (Bufs after a
		// CloseSocket).
		return
	}
	if flush && c.sockUp && len(c.out) > 0 && !c.sockFailed {
		_, _ = c.sock.Writev(c.out[:c.writable()])
	}
	_ = c.sock.Close()
	clear(c.out)
	c.sock, c.sockUp, c.sockFailed, c.out, c.paused = nil, false, false, c.out[:0], false
	c.recycleOut()
}

func (c *Conn) sockFail(err error) {
	if c.sockFailed || c.sock == nil {
		return
	}
	c.sockFailed = true
	c.log.Debug("socket error", "err", err)
	c.step(func(now time.Time) *v2.Ready { return c.mach.SocketError(now, err) })
}

// maxReadsPerEvent bounds the reads one readable event performs, so that
// one busy connection cannot starve the others on its loop.
const maxReadsPerEvent = 16

func (c *Conn) onReadable() {
	c.reading = true
	c.readLoop()
	c.reading = false
	c.flushPending()
}

// flushPending drains what the read handler's dispatches queued (see
// scheduleLocked) and writes it out.
func (c *Conn) flushPending() {
	if c.drainLater {
		c.drainLater = false
		c.drainQueued()
	}
	c.writeAck()
	c.flushOut()
}

// flushEvery is how many bytes a read loop reads before it writes out
// what its dispatches queued meanwhile: the replies to big messages leave
// as each message is read, not after the event's last read (up to
// maxReadsPerEvent reads of up to 512 KiB), so that a sender waiting for
// them keeps its window full; small messages still answer in batches.
const flushEvery = 1 << 20

// While a big frame streams in, its socket is reported readable only
// once lowatMax more of it (or the rest of it) waits, not at each
// segment's arrival: a 4 MiB frame costs the receiver about 4 wake-ups
// instead of 20 or more, and the sender as many fewer wake-ups to make
// (on loopback the sender's write runs the receiver's wake-up). A frame
// of less than lowatLeast still to come is read as it arrives: two more
// system calls to set and clear the mark would cost what they save.
const (
	lowatLeast = 256 << 10
	lowatMax   = 1 << 20
)

// recvLowat sets s's low-water mark for what the Machine still awaits.
// The bytes a frame under way lacks are bytes the peer sends whatever
// we do, so no wait outlasts them (and the kernel reports the socket
// readable anyway once the receive window or its memory runs short).
func (c *Conn) recvLowat(s stack.Socket) {
	lw, ok := s.(stack.RecvLowater) // false for nil
	if !ok || c.sock != s || c.sockFailed {
		return
	}
	n := 0
	if a := c.mach.Awaiting(); a >= lowatLeast {
		n = min(a, lowatMax)
	}
	lw.SetRecvLowat(n)
}

// readLoop reads and decodes what the socket holds, within a budget.
func (c *Conn) readLoop() {
	s := c.sock
	// However the loop ends, the mark follows what the Machine awaits
	// now: a mark left from an earlier frame could outlast the stream.
	defer c.recvLowat(s)
	unflushed := 0
	for i := 0; i < maxReadsPerEvent && c.sock == s && s != nil && !c.paused && !c.testPaused && !c.sockFailed; i++ {
		if c.inject.socketFailure() {
			c.msgr.injected.Add(1)
			c.sockFail(fmt.Errorf("read: %w", ErrInjected))
			break
		}
		// Straight into the Machine's decoder (no copy); Commit must
		// follow before any other Machine call, as the read loop never
		// runs inside apply.
		rb := c.mach.ReadBuffer(readSize)
		n, err := s.Read(rb)
		if n > 0 {
			c.perf.Inc(lMsgrRecvBytes, uint64(n))
			var extra []byte
			if h := c.msgr.testRecvHook.Load(); h != nil {
				extra = (*h)(c, rb[:n])
			}
			c.stepEv(stepEvent{kind: stepCommit, n: n})
			if extra != nil {
				c.step(func(now time.Time) *v2.Ready { return c.mach.Received(now, extra) })
			}
			if unflushed += n; unflushed >= flushEvery && (c.drainLater || len(c.out) > 0) {
				unflushed = 0
				c.flushPending()
			}
		}
		if err != nil {
			// The read loop ends: the ReadBuffer (if nothing was
			// read) and the receive buffer go before the Machine
			// hears of the error.
			c.mach.Unread()
			if !errors.Is(err, stack.ErrWouldBlock) && c.sock == s {
				c.sockFail(err)
			}
			return
		}
		// A short, small read found the socket empty: skip the read that
		// would only say so (a syscall per message in ping-pong). The
		// stack fires OnReadable again if more arrives. Big frames keep
		// reading, since their bytes stream in while we read.
		if n < len(rb) && n < shortReadBreak {
			break
		}
	}
	// Between reads the connection holds only the bytes in flight: the
	// receive buffer goes back to the pool, or shrinks to a partial frame.
	c.mach.Unread()
}

// flushOut writes what the Machine produced, with writev and no copy;
// on a short write it waits for a writable event.
func (c *Conn) flushOut() {
	for c.sock != nil && c.sockUp && !c.sockFailed && len(c.out) > 0 {
		if c.inject.socketFailure() {
			c.msgr.injected.Add(1)
			c.sockFail(fmt.Errorf("write: %w", ErrInjected))
			return
		}
		n, err := c.sock.Writev(c.out[:c.writable()])
		c.perf.Inc(lMsgrSendBytes, uint64(max(n, 0)))
		c.consumeOut(n)
		if err != nil {
			if errors.Is(err, stack.ErrWouldBlock) {
				c.sock.WantWrite(true)
				return
			}
			c.sockFail(err)
			return
		}
	}
	if c.sock != nil && c.sockUp {
		c.sock.WantWrite(false)
	}
	c.recycleOut()
	if len(c.out) == 0 && !c.applying && c.mach != nil {
		// Nothing waits to be written: the memory the frames were
		// built in goes back to the pools.
		c.mach.Written()
	}
}

// recycleOut gives the released outMsgs back to outMsgs once c.out is
// empty: none of their bytes is waiting to be written any more, and the
// Machine forgot them when it released them.
func (c *Conn) recycleOut() {
	if len(c.out) > 0 || len(c.spent) == 0 {
		return
	}
	for i, o := range c.spent {
		*o = outMsg{}
		outMsgs.Put(o)
		c.spent[i] = nil
	}
	c.spent = c.spent[:0]
	if cap(c.spent) > maxKeptSpent {
		c.spent = nil
	}
}

// writeGate is a machine whose output may have to go out in steps
// (v2.Machine.Writable: crcs computed as big segments are written).
type writeGate interface{ Writable(bufs [][]byte) int }

// writable is how many of c.out's buffers may be written now.
func (c *Conn) writable() int {
	if g, ok := c.mach.(writeGate); ok {
		return g.Writable(c.out)
	}
	return len(c.out)
}

func (c *Conn) consumeOut(n int) {
	i := 0
	for i < len(c.out) && n >= len(c.out[i]) {
		n -= len(c.out[i])
		c.out[i] = nil
		i++
	}
	if i < len(c.out) && n > 0 {
		c.out[i] = c.out[i][n:]
	}
	if i == len(c.out) {
		c.out = c.out[:0]
		return
	}
	c.out = c.out[i:]
}

// ---- timers ----

func (c *Conn) setTimer(t v2.Timer, at time.Time) {
	c.stopTimer(t)
	if int(t) >= len(c.timers) || c.finished {
		return
	}
	d := time.Until(at)
	c.timers[t] = c.worker.AfterFunc(max(d, 0), func() {
		c.timers[t] = nil
		c.step(func(now time.Time) *v2.Ready { return c.mach.TimerFired(now, t) })
		c.flushOut()
	})
}

func (c *Conn) stopTimer(t v2.Timer) {
	if int(t) < len(c.timers) && c.timers[t] != nil {
		c.timers[t].Stop()
		c.timers[t] = nil
	}
}

// ---- receiving ----

func (c *Conn) newInMsg(im *v2.InMessage) inMsg {
	e := inMsg{im: im, size: int64(len(im.Payload.Front) + len(im.Payload.Middle) + len(im.Payload.Data))}
	if d := c.inject.delay(im.Header.Type); d > 0 {
		e.notBefore = time.Now().Add(d)
		c.msgr.delayed.Add(1)
	}
	return e
}

// nThrottles is how many budgets inRelease.budget lists.
const nThrottles = 4

// pumpIn moves received messages to dispatch in order, each once it holds
// its budgets and its injected delay (if any) is over. While one waits
// the socket is not read: TCP holds the sender back.
func (c *Conn) pumpIn() {
	for c.inq.Len() > 0 && !c.inWaiting {
		e := c.inq.Peek()
		if !e.notBefore.IsZero() {
			if d := time.Until(e.notBefore); d > 0 {
				if c.delayTimer == nil {
					c.delayTimer = c.worker.AfterFunc(d, func() {
						c.delayTimer = nil
						c.pumpIn()
						c.flushOut()
					})
				}
				break
			}
		}
		for e.stage < nThrottles {
			r := c.inRelease(e)
			t, n := r.budget(e.stage)
			if t == nil {
				e.stage++
				continue
			}
			// TryGet first: the callback costs an allocation.
			if !t.TryGet(n) {
				c.inWaitGen++
				gen := c.inWaitGen
				ok, cancel := t.Acquire(n, func() { c.throttleGranted(gen) })
				if !ok {
					c.inWaiting, c.inCancel = true, cancel
					break
				}
			}
			e.stage++
		}
		if c.inWaiting {
			break
		}
		msg, _ := c.inq.Pop()
		c.dispatch(&msg)
	}
	c.pauseRead(c.inq.Len() > 0)
}

// throttleGranted runs on whichever goroutine released the budget; gen
// is the wait's. A wait withdrawn meanwhile was accounted for by whoever
// withdrew it.
func (c *Conn) throttleGranted(gen uint64) {
	_ = c.worker.Exec(func() {
		if !c.inWaiting || c.inWaitGen != gen {
			return
		}
		c.inWaiting, c.inCancel = false, nil
		if e := c.inq.Peek(); e != nil {
			e.stage++
		}
		c.pumpIn()
		c.flushOut()
	})
}

func (c *Conn) pauseRead(on bool) {
	if c.paused == on || c.sock == nil {
		return
	}
	c.paused = on
	c.sock.PauseRead(on)
}

// inRelease is the budgets a received message took, to give back once
// it is dispatched or dropped (a value, not a closure: no allocation).
type inRelease struct {
	msgs, bytes *Throttle // the policy's, as when taken
	m           *Messenger
	stage       int
	size        int64
}

// inRelease returns what e holds.
func (c *Conn) inRelease(e *inMsg) inRelease {
	return inRelease{msgs: c.policy.ThrottlerMessages, bytes: c.policy.ThrottlerBytes, m: c.msgr, stage: e.stage, size: e.size}
}

// budget returns the i-th budget a received message takes, in order:
// the policy's message and byte throttles (Ceph's throttle_message),
// then the messenger's dispatch queue (throttle_dispatch_queue). nil:
// that throttle is off (or i is past the last).
func (r *inRelease) budget(i int) (*Throttle, int64) {
	switch i {
	case 0:
		return r.msgs, 1
	case 1:
		return r.bytes, r.size
	case 2:
		return r.m.dispatchMsgs, 1
	case 3:
		return r.m.dispatchBytes, r.size
	}
	return nil, 0
}

// release gives the budgets back; the zero inRelease holds none.
func (r *inRelease) release() {
	for i := range r.stage {
		t, n := r.budget(i)
		t.Put(n)
	}
}

func (c *Conn) dispatch(e *inMsg) {
	// The InMessage is ours alone: decode into its header in place, and
	// recycle it after, unless Decode took its payload's buffer, which
	// may live in it (v2.FreeInMessage).
	im := e.im
	rel := c.inRelease(e)
	if c.down.Load() {
		rel.release() // marked down: dropped, as MarkDown says
		v2.FreeInMessage(im)
		return
	}
	hp := &im.Header
	owner := im.Payload.Owner
	msg, err := c.decode(hp, &im.Payload)
	if owner == nil || im.Payload.Owner != nil {
		defer v2.FreeInMessage(im)
	}
	// The payload was valid for Decode only, unless Decode took it.
	releasePayload(&im.Payload)
	if err != nil {
		rel.release()
		// As Ceph's handle_message: an undecodable message faults the
		// connection. On a lossless one the peer resends it after the
		// reconnect and the fault repeats, as in Ceph.
		c.log.Warn("dropping undecodable message", "type", hp.Type, "err", err)
		c.sockFail(&v2.ProtocolError{State: "READY", Reason: "undecodable message", Err: err})
		return
	}
	if c.msgr.disp.Load().fastDispatch(c, hp, msg) {
		rel.release()
		return
	}
	c.msgr.dq.push(dispatchItem{kind: itemMessage, c: c, m: msg, h: *hp, rel: rel})
}

// releasePayload gives a received payload's pooled buffer back.
func releasePayload(p *message.Payload) {
	if r := p.Take(); r != nil {
		r.Release()
	}
}

// decode builds the message; a message type whose Decode panics on what
// the peer sent faults this connection instead of the process.
func (c *Conn) decode(h *message.Header, p *message.Payload) (m message.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &message.DecodeError{Type: h.Type, Version: h.Version, Err: fmt.Errorf("decode panicked: %v", r)}
		}
	}()
	return c.msgr.registry.Decode(h, c.info.Load().features, p)
}

// dropUndispatched drops the received messages not yet dispatched, those
// waiting for budget or a delay here and those in the dispatch queue, and
// gives their budgets back.
func (c *Conn) dropUndispatched() {
	if c.delayTimer != nil {
		c.delayTimer.Stop()
		c.delayTimer = nil
	}
	if c.inWaiting {
		if e := c.inq.Peek(); !c.inCancel() && e != nil {
			e.stage++ // granted meanwhile: give it back below
		}
		c.inWaiting, c.inCancel = false, nil
	}
	items := c.inq.Items()
	n := len(items)
	for i := range items {
		r := c.inRelease(&items[i])
		r.release()
		releasePayload(&items[i].im.Payload)
		v2.FreeInMessage(items[i].im)
	}
	c.inq = fifo.Queue[inMsg]{}
	n += c.msgr.dq.discard(c)
	if n > 0 {
		c.log.Debug("dropped undispatched messages", "n", n)
	}
}

// finish is the Machine's Closed: the connection is over.
func (c *Conn) finish(err error) {
	if c.finished {
		return
	}
	c.finished = true
	c.perf.Dec(lMsgrActiveConnections, 1)
	c.closeSocket(true)
	for t := range c.timers {
		c.stopTimer(v2.Timer(t))
	}
	// Ceph's _stop: what was read and not yet dispatched goes too.
	c.dropUndispatched()
	c.mu.Lock()
	c.qclosed = true
	q := c.sendq
	c.sendq = nil
	c.outMsgs, c.outBytes = 0, 0
	c.wakeLocked() // they find qclosed
	c.mu.Unlock()
	_ = q // never handed to the Machine: dropped with the connection
	c.setConnected(false)
	c.closeErr = err
	c.closed.Store(true)
	c.log.Debug("closed", "err", err)
	c.release()
	// Forgotten before Done closes, so that a waiter on Done sees the
	// messenger without it.
	c.msgr.forget(c)
	close(c.doneCh)
}

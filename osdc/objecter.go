// Package osdc is the client side of the OSD protocol, Ceph's Objecter: it
// places each object op on the primary OSD of its PG from the current
// OSDMap, keeps one session per OSD, tracks ops by tid, and resends them
// when the map moves their PG, when an OSD goes down or when a connection
// resets, until each one completes, fails, or its context ends.
//
// The Objecter does not own a messenger: it asks a Dialer for connections
// (lossy client connections, as Ceph's Objecter uses) and is fed what they
// receive through HandleMessage and HandleReset, and new maps through
// HandleOSDMap. package rados wires it to msgr and the MonClient.
package osdc

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
	"github.com/gomsgr/msgr/perf"
)

// Conn is one connection to an OSD: a lossy client connection. Send must
// not block (it queues); after a fault the owner calls HandleReset and the
// Conn is not used again.
type Conn interface {
	Send(m message.Message) error
	Close()
}

// RxPoster is a Conn that can read a reply's data straight into memory
// of the caller's (msgr's Conn.PostRxBuffer, Ceph's
// Connection::post_rx_buffer): the Objecter posts a Request's Into by tid
// when it sends the op there, and revokes it when the op completes or is
// sent again.
type RxPoster interface {
	PostRxBuffer(tid uint64, typ uint16, b *message.RxBuffer)
	RevokeRxBuffer(tid uint64, b *message.RxBuffer) (filled bool)
}

// Detacher is a Conn that can stop referring to the memory of messages
// sent on it that may not be written yet (msgr's Conn.DetachData): bytes
// still to be written from bufs are copied (the message is not withdrawn),
// and done is called once the Conn will never read bufs again. It must not
// block. The Objecter calls it when an op ends without a reply (cancel,
// timeout, Close) and when it sends an op to another connection, and the
// op completes (Done closes) only after done: so a request's data is the
// caller's again as soon as the request has completed, whatever happened
// to its sends.
type Detacher interface {
	DetachData(bufs [][]byte, done func())
}

// Keepaliver is a Conn that can probe its peer (msgr's SendKeepalive); it
// fails once the connection has closed.
type Keepaliver interface {
	SendKeepalive() error
}

// Dialer opens connections to OSDs. DialOSD must not block on the network:
// the connection is established in the background.
type Dialer interface {
	DialOSD(osd int32, addrs encoding.EntityAddrVec) (Conn, error)
}

// Config tunes an Objecter. Zero fields take Ceph's defaults.
type Config struct {
	// InflightOps is objecter_inflight_ops (1024) and InflightBytes
	// objecter_inflight_op_bytes (100 MiB): submitters wait while either
	// is exhausted.
	InflightOps   int64
	InflightBytes int64
	// OpTimeout is rados_osd_op_timeout (0: none). An op that takes longer
	// fails with ErrTimedOut (ETIMEDOUT).
	OpTimeout time.Duration
	// Features are the feature bits advertised in each MOSDOp
	// (encoding.FeaturesAll).
	Features uint64
	// ClientInc is the client incarnation (0 for librados).
	ClientInc uint32
	// RequestMap, if set, asks the monitors for the newest OSDMap and waits
	// for it to be handed to HandleOSDMap; the Objecter calls it before
	// failing an op whose pool its map does not know (a pool created by
	// someone else a moment ago).
	RequestMap func(ctx context.Context) error
	// ResetBackoff is the first wait before a session whose connection
	// reset is reopened (100 ms); it doubles on consecutive resets, up to
	// 3 s, and clears when a reply arrives.
	ResetBackoff time.Duration
	// Tick is objecter_tick_interval (5 s) and LaggyAfter objecter_timeout
	// (10 s): every Tick, a session with an op unanswered for LaggyAfter
	// gets a keepalive (if its Conn is a Keepaliver), so that a dead
	// connection is noticed; one that refuses the keepalive because it
	// has closed is treated as reset.
	Tick       time.Duration
	LaggyAfter time.Duration
	Logger     *slog.Logger
	// Now stamps writes' mtime (time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.InflightOps == 0 {
		c.InflightOps = 1024
	}
	if c.InflightBytes == 0 {
		c.InflightBytes = 100 << 20
	}
	if c.Features == 0 {
		c.Features = encoding.FeaturesAll
	}
	if c.ResetBackoff == 0 {
		c.ResetBackoff = 100 * time.Millisecond
	}
	if c.Tick == 0 {
		c.Tick = 5 * time.Second
	}
	if c.LaggyAfter == 0 {
		c.LaggyAfter = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

const maxResetBackoff = 3 * time.Second

// Request is one compound op on an object (or, with PG set, on a PG).
type Request struct {
	Pool      int64
	Namespace string
	Key       string // locator key: hashed instead of Oid when set
	Oid       string
	// PG, when set, targets that PG of the pool instead of an object
	// (listing); Oid is then empty.
	PG *uint32
	// Ops run in order, atomically, on the OSD.
	Ops []messages.OSDOp
	// Flags are added to the ones the Objecter sets (READ or WRITE,
	// ONDISK, KNOWN_REDIR), e.g. messages.FlagReturnVec. FlagWrite makes
	// a request a write even without a write op code (a class method
	// that writes).
	Flags uint32
	// Mtime stamps a write (zero: Config.Now()).
	Mtime time.Time
	// Snap is the snapshot a read reads (0: the head, SnapHead); SnapSeq
	// and Snaps are a write's snap context (self-managed snapshots).
	Snap    uint64
	SnapSeq uint64
	Snaps   []uint64
	// Into, for a request of one read op, is where the reply's data is
	// wanted: on a connection that can (an RxPoster; crc mode or msgr1,
	// big data that fits Into) the data is read from the socket straight
	// into Into, and Result.Ops[0].Data is then Into's memory; otherwise
	// it arrives in a buffer of the messenger's as for any request. Into
	// must be left alone until the request has completed (Do returned,
	// or Pending.Done closed); from then on msgr never touches it, the
	// request's end (cancel, timeout) included.
	//
	// The ops' Data are sent from the caller's memory, not copied: they
	// must not change until the request has completed; from then on they
	// are never read again (on a Detacher Conn: a send that may still be
	// queued when the op ends without a reply or moves to another
	// connection is detached first).
	Into []byte
}

// Result is a completed Request: each op with its result (Rval) and output
// (Data), and the object's version after the op.
type Result struct {
	Ops     []messages.OSDOp
	Version uint64
	Epoch   uint32
	Result  int32

	buf message.Releaser // the received buffer the ops' Data alias
}

// Release gives the buffer the ops' Data alias back to the messenger's
// pool (a big read's data arrives in a pooled buffer, not copied). Call it
// once done with the Data, which must not be touched after; not calling
// it is safe (the garbage collector takes the buffer).
func (r *Result) Release() {
	if b := r.buf; b != nil {
		r.buf = nil
		b.Release()
	}
}

// op is a Request in flight.
type op struct {
	tid   uint64
	req   *Request
	write bool
	flags uint32
	mtime encoding.UTime
	bytes int64

	// target, recomputed from each map
	loc         messages.ObjectLocator
	oid         string
	hobj        messages.HObject
	pg          osdmap.PG // folded
	rawHash     uint32
	osd         int32
	acting      []int32
	paused      bool
	poolMissing bool
	redirected  bool

	session *session
	// rx is Request.Into as posted on rxConn for the last send (nil
	// when not posted); revoked before the op is sent again and when it
	// completes, so that Into is never written after.
	rx      *message.RxBuffer
	rxConn  RxPoster
	rxFirst message.RxBuffer // rx of the first send (no allocation)
	// sentOn is the connection of the last send, while that send may
	// still refer to the ops' Data (hasData) from its queue: detached when
	// the op is sent elsewhere or ends without a reply.
	sentOn  Conn
	hasData bool
	// hold counts what must end before done closes: the op itself (until
	// complete) and each DetachData not yet done.
	hold      atomic.Int32
	completed bool      // complete ran; o.mu
	epoch     uint32    // map epoch of the last send
	sentAt    time.Time // of the last send
	attempts  int32

	done chan struct{}
	// onDone is what Pending.OnDone set, written while a hold of its own
	// kept the op open: the last unhold reads it.
	onDone func()
	res    *Result
	err    error
	budget *budget
	// Set by start before the op is sent: what releaseLocked gives back
	// (the budget, the op's place among its context's ops, its
	// OpTimeout context).
	hooked       bool
	watch        *ctxWatch
	wNext, wPrev *op // in watch's list
	stopTimeout  context.CancelFunc
	released     bool
	pending      Pending // what Start returns, without an allocation of its own
	// first is the message of the op's first send, in the op's own
	// allocation (the messenger encodes a message in Send and keeps
	// nothing of it); a resend gets a new one.
	first messages.MOSDOp
	// result is the Result handed out, in the op's allocation too.
	result Result
}

// session is one OSD's connection and the ops sent (or waiting to be sent)
// on it.
type session struct {
	osd      int32
	addrs    encoding.EntityAddrVec
	conn     Conn // nil while reopening
	ops      map[uint64]*op
	backoffs []backoff
	resets   int
	closed   bool
	timer    *time.Timer
}

// Objecter sends ops to OSDs. It is safe for use from any goroutine.
type Objecter struct {
	cfg    Config
	dial   Dialer
	budget *budget
	log    *slog.Logger
	perf   *perf.Logger // the "objecter" section

	mu       sync.Mutex
	osdmap   *osdmap.OSDMap
	mapCh    chan struct{} // closed and replaced on every new map
	sessions map[int32]*session
	byConn   map[Conn]*session
	homeless map[uint64]*op
	lastTid  uint64
	closed   bool
	retry    *time.Timer // retries parked ops whose dial failed
	stats    Stats
	pgCache  map[osdmap.PG]pgTarget // for osdmap; cleared with each new map
	tickStop chan struct{}
	tickDone chan struct{}
	lingers  lingerSet // watches and notifies (linger.go)
	// Ops completed under mu, finished (done closed, OnDone run) by
	// unlock once mu is released: an OnDone callback may start ops.
	fin     *op
	finMore []*op
	watches map[<-chan struct{}]*ctxWatch
}

// Stats counts what the Objecter did, for tests and monitoring.
type Stats struct {
	Ops      uint64 // ops started
	Sends    uint64 // MOSDOps sent, first sends and resends
	Resends  uint64 // of which resends (retry attempt > 0)
	Resets   uint64 // OSD connections that faulted
	Maps     uint64 // maps installed
	Backoffs uint64 // backoff blocks received
}

// Stats returns the counters so far.
func (o *Objecter) Stats() Stats {
	o.mu.Lock()
	defer o.unlock()
	return o.stats
}

// New returns an Objecter that dials OSDs through d. It sends nothing until
// HandleOSDMap gives it a map.
func New(d Dialer, cfg Config) *Objecter {
	cfg = cfg.withDefaults()
	o := &Objecter{
		cfg:      cfg,
		dial:     d,
		budget:   newBudget(cfg.InflightOps, cfg.InflightBytes),
		log:      cfg.Logger,
		mapCh:    make(chan struct{}),
		sessions: make(map[int32]*session),
		byConn:   make(map[Conn]*session),
		homeless: make(map[uint64]*op),
		tickStop: make(chan struct{}),
		tickDone: make(chan struct{}),
	}
	o.perf = o.newPerf()
	go o.ticker()
	return o
}

// ticker runs tick every Config.Tick until Close.
func (o *Objecter) ticker() {
	defer close(o.tickDone)
	t := time.NewTicker(o.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			o.tick()
		case <-o.tickStop:
			return
		}
	}
}

// tick probes sessions with laggy ops (Objecter::tick): a keepalive makes
// a dead connection fault, and a connection that has closed without its
// reset reaching us is reset here, so no op waits on it forever.
func (o *Objecter) tick() {
	o.mu.Lock()
	defer o.unlock()
	now := o.cfg.Now()
	for _, s := range o.sessions {
		if s.conn == nil {
			continue
		}
		laggy := false
		for _, p := range s.ops {
			if o.laggy(p, now) {
				laggy = true
				break
			}
		}
		if !laggy {
			continue
		}
		k, ok := s.conn.(Keepaliver)
		if !ok {
			continue
		}
		if err := k.SendKeepalive(); err != nil {
			o.log.Debug("osdc: laggy session's connection is gone", "osd", s.osd, "err", err)
			o.resetLocked(s.conn)
		}
	}
}

// Map returns the current OSDMap (nil before the first), read-only.
func (o *Objecter) Map() *osdmap.OSDMap {
	o.mu.Lock()
	defer o.unlock()
	return o.osdmap
}

// WaitForMap waits until the Objecter has a map of at least epoch (any
// map, for 0).
func (o *Objecter) WaitForMap(ctx context.Context, epoch uint32) (*osdmap.OSDMap, error) {
	for {
		o.mu.Lock()
		m, ch, closed := o.osdmap, o.mapCh, o.closed
		o.unlock()
		if closed {
			return nil, ErrClosed
		}
		if m != nil && m.Epoch >= epoch {
			return m, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// InFlight returns the ops and bytes currently holding budget.
func (o *Objecter) InFlight() (ops, bytes int64) { return o.budget.inFlight() }

// opBudget is Objecter::calc_op_budget: written bytes for writes, the
// extent for data reads, the name and value for attribute reads.
func opBudget(ops []messages.OSDOp) int64 {
	var n int64
	for i := range ops {
		o := &ops[i]
		switch {
		case messages.OSDOpIsWrite(o.Op):
			n += int64(len(o.Data))
		case o.Op&0x0f00 == 0x0200: // CEPH_OSD_OP_TYPE_DATA
			if o.Op == messages.OpRead || o.Op == messages.OpSparseRead {
				n += int64(min(o.Length(), 1<<40))
			}
		case o.Op&0x0f00 == 0x0300: // CEPH_OSD_OP_TYPE_ATTR
			n += int64(o.XattrNameLen()) + int64(o.XattrValueLen())
		}
	}
	return n
}

// Do runs req and waits for its result. It returns an *OSDError (matching
// its errno with errors.Is) when the OSD fails the op, the context's error
// (or cause) when ctx ends first, and ErrTimedOut after Config.OpTimeout.
// Result.Ops' Data stays valid after return.
func (o *Objecter) Do(ctx context.Context, req *Request) (*Result, error) {
	p, err := o.Start(ctx, req)
	if err != nil {
		return nil, err
	}
	<-p.Done()
	return p.Result()
}

// Pending is an op in flight, started by Start.
type Pending struct{ op *op }

// Done is closed when the op completes, fails or is cancelled.
func (p *Pending) Done() <-chan struct{} { return p.op.done }

// Result returns the op's outcome once Done is closed (before that it
// returns nil, nil).
func (p *Pending) Result() (*Result, error) {
	select {
	case <-p.op.done:
		return p.op.res, p.op.err
	default:
		return nil, nil
	}
}

// OnDone arranges for f to run once the op has completed (Done closed):
// at once, in this goroutine, if it already has; otherwise in the
// goroutine that completes it, often a connection's event loop (a reply
// is handled there), with no lock of the Objecter's held. So f must be
// short and must not block: it may read the Result and Start other ops,
// but only while in-flight budget is left (Config.InflightOps and
// InflightBytes), since Start waits for it. Call it at most once.
func (p *Pending) OnDone(f func()) {
	op := p.op
	for {
		h := op.hold.Load()
		if h == 0 {
			f()
			return
		}
		if op.hold.CompareAndSwap(h, h+1) {
			break
		}
	}
	op.onDone = f
	op.unhold()
}

// Wait waits for the op, or for ctx (which only stops the waiting: the op
// itself ends with the context given to Start).
func (p *Pending) Wait(ctx context.Context) (*Result, error) {
	select {
	case <-p.op.done:
		return p.op.res, p.op.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Start sends req and returns without waiting for the reply. The op is
// abandoned (it fails with ctx's error or cause) when ctx ends first, and
// fails with ErrTimedOut after Config.OpTimeout. Start itself waits only
// for in-flight budget and for a first map.
func (o *Objecter) Start(ctx context.Context, req *Request) (*Pending, error) {
	var stopTimeout context.CancelFunc
	if o.cfg.OpTimeout > 0 {
		ctx, stopTimeout = context.WithTimeoutCause(ctx, o.cfg.OpTimeout, ErrTimedOut)
	}
	p, err := o.start(ctx, req, stopTimeout)
	if err != nil {
		if stopTimeout != nil {
			stopTimeout()
		}
		return nil, err
	}
	return &p.pending, nil
}

// start takes budget, assigns a tid, targets and sends the op.
func (o *Objecter) start(ctx context.Context, req *Request, stopTimeout context.CancelFunc) (*op, error) {
	p := &op{req: req, oid: req.Oid, done: make(chan struct{}), osd: -1, budget: o.budget}
	p.pending.op = p
	p.hold.Store(1)
	p.loc = messages.ObjectLocator{Pool: req.Pool, Key: req.Key, Namespace: req.Namespace, Hash: -1}
	p.write = req.Flags&messages.FlagWrite != 0
	for i := range req.Ops {
		if messages.OSDOpIsWrite(req.Ops[i].Op) {
			p.write = true
		}
		if len(req.Ops[i].Data) > 0 {
			p.hasData = true
		}
	}
	p.flags = req.Flags | messages.FlagKnownRedir | messages.FlagOnDisk
	if p.write {
		p.flags |= messages.FlagWrite
		if req.Mtime.IsZero() {
			p.mtime = encoding.UTimeOf(o.cfg.Now())
		} else {
			p.mtime = encoding.UTimeOf(req.Mtime)
		}
	} else {
		p.flags |= messages.FlagRead
	}
	p.bytes = opBudget(req.Ops)
	if err := o.budget.get(ctx, p.bytes); err != nil {
		return nil, context.Cause(ctx)
	}
	if _, err := o.WaitForMap(ctx, 0); err != nil {
		o.budget.put(p.bytes)
		return nil, err
	}
	o.mu.Lock()
	o.calcTarget(p)
	if p.poolMissing && o.cfg.RequestMap != nil {
		// The pool may be newer than our map: ask for the latest first.
		o.unlock()
		if err := o.cfg.RequestMap(ctx); err != nil && ctx.Err() != nil {
			o.budget.put(p.bytes)
			return nil, context.Cause(ctx)
		}
		o.mu.Lock()
		o.calcTarget(p)
	}
	if o.closed {
		o.unlock()
		o.budget.put(p.bytes)
		return nil, ErrClosed
	}
	if p.poolMissing {
		o.unlock()
		o.budget.put(p.bytes)
		return nil, errnoOf(req.Pool, req.Oid, -2)
	}
	o.lastTid++
	p.tid = o.lastTid
	o.stats.Ops++
	o.countOp(p)
	p.hooked, p.stopTimeout = true, stopTimeout
	o.watchLocked(p, ctx)
	o.sendOrPark(p)
	o.unlock()
	return p, nil
}

// ctxWatch is the ops in flight started with one context, keyed by its
// Done channel (contexts that share it end together): one
// context.AfterFunc fails them all when it ends, instead of one per op,
// which would cost two allocations and the parent context's lock per op.
// Its fields are o.mu's.
type ctxWatch struct {
	ctx  context.Context
	stop func() bool
	head *op
}

// watchLocked adds p to the ops its context fails when it ends.
func (o *Objecter) watchLocked(p *op, ctx context.Context) {
	d := ctx.Done()
	if d == nil {
		return // it never ends (Background)
	}
	w := o.watches[d]
	if w == nil {
		w = &ctxWatch{ctx: ctx}
		w.stop = context.AfterFunc(ctx, func() { o.ctxEnded(w) })
		if o.watches == nil {
			o.watches = make(map[<-chan struct{}]*ctxWatch)
		}
		o.watches[d] = w
	}
	p.watch, p.wNext = w, w.head
	if w.head != nil {
		w.head.wPrev = p
	}
	w.head = p
}

// unwatchLocked takes p off its context's list, and drops the watch once
// it has no ops left.
func (o *Objecter) unwatchLocked(p *op) {
	w := p.watch
	if w == nil {
		return
	}
	if p.wPrev != nil {
		p.wPrev.wNext = p.wNext
	} else {
		w.head = p.wNext
	}
	if p.wNext != nil {
		p.wNext.wPrev = p.wPrev
	}
	p.watch, p.wNext, p.wPrev = nil, nil, nil
	if w.head == nil {
		w.stop()
		if d := w.ctx.Done(); o.watches[d] == w {
			delete(o.watches, d)
		}
	}
}

// ctxEnded fails the ops of a context that ended with its error or cause.
func (o *Objecter) ctxEnded(w *ctxWatch) {
	o.mu.Lock()
	defer o.unlock()
	cause := context.Cause(w.ctx)
	for w.head != nil {
		o.complete(w.head, nil, cause) // unwatches it
	}
}

// unlink removes p from its session or the homeless set.
func (o *Objecter) unlink(p *op) {
	if p.session != nil {
		delete(p.session.ops, p.tid)
		p.session = nil
	}
	delete(o.homeless, p.tid)
}

// complete ends p (o.mu held): its budget is returned and waiters wake,
// once its last send, if it may still be queued (no reply came), no
// longer refers to the ops' Data.
func (o *Objecter) complete(p *op, res *Result, err error) {
	p.revokeRx()
	if res == nil {
		p.detachSend()
	}
	o.unlink(p)
	p.res, p.err = res, err
	p.completed = true
	o.releaseLocked(p) // before waking the caller: its budget is back when it returns
	if o.fin == nil {
		o.fin = p
	} else {
		o.finMore = append(o.finMore, p)
	}
}

// unlock releases o.mu, then ends the hold of each op completed under
// it: done closes and OnDone callbacks run outside the lock, so that they
// may start other ops.
func (o *Objecter) unlock() {
	p, more := o.fin, o.finMore
	o.fin, o.finMore = nil, nil
	o.mu.Unlock()
	if p != nil {
		p.unhold()
	}
	for _, p := range more {
		p.unhold()
	}
}

// detachSend makes the connection of p's last send stop referring to the
// ops' Data (it may still hold the message, unwritten); p completes only
// once that is done. Cheap: a task on the connection's loop, and a copy
// of what is still queued.
func (p *op) detachSend() {
	c := p.sentOn
	p.sentOn = nil
	d, ok := c.(Detacher)
	if !ok {
		return
	}
	var bufs [][]byte
	for i := range p.req.Ops {
		if b := p.req.Ops[i].Data; len(b) > 0 {
			bufs = append(bufs, b)
		}
	}
	p.hold.Add(1)
	d.DetachData(bufs, p.unhold)
}

// unhold ends one of p's holds; the last closes done and runs onDone.
func (p *op) unhold() {
	if p.hold.Add(-1) == 0 {
		close(p.done)
		if f := p.onDone; f != nil {
			f()
		}
	}
}

// releaseLocked gives back p's budget and context hooks, once, after it
// completed and Start has installed them.
func (o *Objecter) releaseLocked(p *op) {
	if !p.hooked || p.released {
		return
	}
	p.released = true
	p.budget.put(p.bytes)
	o.unwatchLocked(p)
	if p.stopTimeout != nil {
		p.stopTimeout()
	}
}

// calcTarget recomputes p's PG, primary and acting set from the current
// map, and reports whether the op must be (re)sent: its primary, PG or
// acting set changed (a new interval), its pause state changed, or the
// pool demands a resend (last_force_op_resend).
func (o *Objecter) calcTarget(p *op) bool {
	m := o.osdmap
	pool := m.Pool(p.loc.Pool)
	if pool == nil {
		p.poolMissing = true
		return true
	}
	p.poolMissing = false
	var raw uint32
	if p.req.PG != nil {
		raw = *p.req.PG
	} else {
		key := p.loc.Key
		if key == "" {
			key = p.oid
		}
		raw = pool.HashKey(key, p.loc.Namespace)
	}
	pg := pool.RawPGToPG(osdmap.PG{Pool: p.loc.Pool, Seed: raw})
	acting, primary := o.actingLocked(pg)
	paused := o.pausedLocked(p, pool)
	changed := primary != p.osd || pg != p.pg || !slices.Equal(acting, p.acting) || paused != p.paused ||
		pool.LastForceOpResend > p.epoch && p.epoch != 0
	p.rawHash, p.pg, p.osd, p.acting, p.paused = raw, pg, primary, acting, paused // acting is shared, never modified
	p.hobj = messages.HObject{Key: p.loc.Key, Oid: p.oid, Snap: messages.SnapHead, Hash: raw, Namespace: p.loc.Namespace, Pool: p.loc.Pool}
	return changed
}

// pgTarget is a PG's acting set and primary in the current map.
type pgTarget struct {
	acting  []int32
	primary int32
}

// actingLocked returns pg's acting set and primary, computing them (CRUSH,
// temps, upmaps) once per PG per map: ops to a PG reuse the answer.
func (o *Objecter) actingLocked(pg osdmap.PG) ([]int32, int32) {
	if t, ok := o.pgCache[pg]; ok {
		return t.acting, t.primary
	}
	acting, primary := o.osdmap.PGToActing(pg)
	if o.pgCache == nil {
		o.pgCache = make(map[osdmap.PG]pgTarget)
	}
	o.pgCache[pg] = pgTarget{acting: acting, primary: primary}
	return acting, primary
}

// OSDMap and pool flags that hold ops (CEPH_OSDMAP_*, pg_pool_t::FLAG_FULL).
const (
	mapFlagFull    = 1 << 1
	mapFlagPauseRd = 1 << 2
	mapFlagPauseWr = 1 << 3
	poolFlagFull   = 1 << 1
)

// pausedLocked: reads wait while the cluster pauses reads, writes while it
// pauses writes or the cluster or pool is full (unless FULL_TRY/FORCE), as
// Objecter::target_should_be_paused.
func (o *Objecter) pausedLocked(p *op, pool *osdmap.Pool) bool {
	f := o.osdmap.Flags
	if !p.write {
		return f&mapFlagPauseRd != 0
	}
	if f&mapFlagPauseWr != 0 {
		return true
	}
	if p.flags&(messages.FlagFullTry|messages.FlagFullForce) != 0 {
		return false
	}
	return f&mapFlagFull != 0 || pool.Flags&poolFlagFull != 0
}

// sendOrPark sends p to its primary's session, or parks it until a map
// gives it a usable target.
func (o *Objecter) sendOrPark(p *op) {
	if p.poolMissing {
		o.complete(p, nil, errnoOf(p.loc.Pool, p.oid, -2))
		return
	}
	if p.osd < 0 || p.paused || !o.osdmap.IsUp(p.osd) {
		o.park(p)
		return
	}
	s := o.sessionLocked(p.osd)
	if s == nil {
		o.park(p)
		o.scheduleRetry()
		return
	}
	if p.session != s {
		o.unlink(p)
		p.session = s
		s.ops[p.tid] = p
	}
	o.sendLocked(s, p)
}

func (o *Objecter) park(p *op) {
	if p.session != nil {
		delete(p.session.ops, p.tid)
		p.session = nil
	}
	o.homeless[p.tid] = p
}

// scheduleRetry retargets parked ops shortly (after a failed dial).
func (o *Objecter) scheduleRetry() {
	if o.retry != nil || o.closed {
		return
	}
	o.retry = time.AfterFunc(o.cfg.ResetBackoff, func() {
		o.mu.Lock()
		defer o.unlock()
		o.retry = nil
		if !o.closed {
			o.retarget(o.parkedLocked(), true)
		}
	})
}

func addrsEqual(a, b encoding.EntityAddrVec) bool {
	return slices.EqualFunc(a, b, func(x, y encoding.EntityAddr) bool { return x == y })
}

// sessionLocked returns the open session to osd, opening one if needed;
// nil if the dial failed.
func (o *Objecter) sessionLocked(osd int32) *session {
	addrs := o.osdmap.Addrs(osd)
	if s := o.sessions[osd]; s != nil {
		if addrsEqual(s.addrs, addrs) {
			return s
		}
		o.closeSession(s) // the OSD restarted elsewhere
	}
	c, err := o.dial.DialOSD(osd, addrs)
	if err != nil {
		o.log.Debug("osdc: dial failed, retrying", "osd", osd, "addrs", addrs.String(), "err", err)
		return nil
	}
	s := &session{osd: osd, addrs: addrs, conn: c, ops: make(map[uint64]*op)}
	o.sessions[osd] = s
	o.byConn[c] = s
	o.perf.Inc(lOSDSessionOpen, 1)
	return s
}

// closeSession drops s and its connection; its ops become parked (the
// caller retargets them).
func (o *Objecter) closeSession(s *session) {
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.conn != nil {
		delete(o.byConn, s.conn)
		s.conn.Close()
		s.conn = nil
	}
	if o.sessions[s.osd] == s {
		o.perf.Inc(lOSDSessionClose, 1)
		delete(o.sessions, s.osd)
	}
	for _, p := range s.ops {
		p.session = nil
		o.homeless[p.tid] = p
	}
	clear(s.ops)
}

// sendLocked sends p on s unless the connection is being reopened or an
// OSD backoff covers p (it is then sent on reopen or unblock).
func (o *Objecter) sendLocked(s *session, p *op) {
	if s.conn == nil {
		return
	}
	spg := messages.PG{Pool: uint64(p.pg.Pool), Seed: p.pg.Seed}
	for i := range s.backoffs {
		if s.backoffs[i].covers(spg, &p.hobj) {
			return
		}
	}
	flags := p.flags
	if p.attempts > 0 {
		flags |= messages.FlagRetry
	}
	if p.redirected {
		flags |= messages.FlagRedirected
	}
	loc := p.loc
	hash := p.rawHash
	if p.req.PG != nil {
		loc.Hash = int64(p.pg.Seed)
		hash = p.pg.Seed
	}
	m := &p.first
	if p.attempts > 0 {
		m = new(messages.MOSDOp)
	}
	*m = messages.MOSDOp{
		Tid:          p.tid,
		PGID:         messages.SPG{PG: spg, Shard: messages.ShardNone},
		Hash:         hash,
		Epoch:        o.osdmap.Epoch,
		Flags:        flags,
		ClientInc:    o.cfg.ClientInc,
		Mtime:        p.mtime,
		Locator:      loc,
		Oid:          p.oid,
		Ops:          p.req.Ops,
		Snap:         snapOf(p.req),
		SnapSeq:      p.req.SnapSeq,
		Snaps:        p.req.Snaps,
		RetryAttempt: p.attempts,
		Features:     o.cfg.Features,
	}
	if p.attempts > 0 {
		o.stats.Resends++
	}
	o.stats.Sends++
	o.perf.Inc(lOpSendBytes, outBytes(p.req.Ops))
	p.attempts++
	p.epoch = o.osdmap.Epoch
	p.sentAt = o.cfg.Now()
	p.postRx(s.conn)
	if p.sentOn != s.conn {
		p.detachSend() // an earlier send may still wait in that queue
	}
	if err := s.conn.Send(m); err != nil {
		// The connection is failing; its reset will resend.
		o.log.Debug("osdc: send failed", "osd", s.osd, "tid", p.tid, "err", err)
	}
	if p.hasData {
		p.sentOn = s.conn
	}
}

// postRx posts the op's Into on c for the reply to this send, after
// revoking the post for an earlier send (whose reply the op no longer
// takes). Only single-read requests post.
func (p *op) postRx(c Conn) {
	p.revokeRx()
	if p.req.Into == nil || len(p.req.Ops) != 1 || p.req.Ops[0].Op != messages.OpRead {
		return
	}
	rp, ok := c.(RxPoster)
	if !ok {
		return
	}
	if p.attempts == 1 { // the first send: rxFirst was never posted
		p.rxFirst.Init(p.req.Into)
		p.rx = &p.rxFirst
	} else {
		p.rx = message.NewRxBuffer(p.req.Into)
	}
	p.rxConn = rp
	rp.PostRxBuffer(p.tid, messages.TypeOSDOpReply, p.rx)
}

// revokeRx takes the op's Into back from the connection it was posted
// on: after it, that connection never writes Into (it waits for a read
// into it under way).
func (p *op) revokeRx() {
	if p.rx != nil {
		p.rxConn.RevokeRxBuffer(p.tid, p.rx)
		p.rx, p.rxConn = nil, nil
	}
}

// snapOf is the snapshot a request reads: the head unless it names one.
func snapOf(r *Request) uint64 {
	if r.Snap == 0 {
		return messages.SnapHead
	}
	return r.Snap
}

// HandleMessage takes the OSD messages the Objecter handles (MOSDOpReply,
// MOSDBackoff) and reports whether m was one.
func (o *Objecter) HandleMessage(c Conn, m message.Message) bool {
	switch m := m.(type) {
	case *messages.MOSDOpReply:
		o.handleReply(c, m)
	case *messages.MOSDBackoff:
		o.handleBackoff(c, m)
	case *messages.MWatchNotify:
		o.handleWatchNotify(m)
	default:
		return false
	}
	return true
}

func (o *Objecter) handleReply(c Conn, m *messages.MOSDOpReply) {
	o.mu.Lock()
	defer o.unlock()
	s := o.byConn[c]
	if s == nil {
		return
	}
	s.resets = 0
	o.perf.Inc(lOpReply, 1)
	p := s.ops[m.Tid]
	if p == nil {
		return // cancelled, or answered by another OSD after a resend
	}
	if m.RetryAttempt >= 0 && m.RetryAttempt != p.attempts-1 {
		return // the reply to an earlier attempt; the latest is on its way
	}
	if m.Redirect != nil {
		// The OSD names another place for this op (cache tiering).
		if m.Redirect.Locator.Pool >= 0 {
			p.loc = m.Redirect.Locator
			p.loc.Hash = -1
		}
		if m.Redirect.Object != "" {
			p.oid = m.Redirect.Object
		}
		p.redirected = true
		o.unlink(p)
		p.osd = -1
		o.calcTarget(p)
		o.sendOrPark(p)
		return
	}
	if m.Result == -errnoEAGAIN {
		// Not the primary any more, or the PG is not active yet: resend to
		// the primary of our current map.
		o.unlink(p)
		p.osd = -1
		o.calcTarget(p)
		o.sendOrPark(p)
		return
	}
	res := &p.result
	*res = Result{Ops: m.Ops, Version: m.UserVersion, Epoch: m.Epoch, Result: m.Result, buf: m.TakeData()}
	o.complete(p, res, errnoOf(p.loc.Pool, p.oid, m.Result))
}

func (o *Objecter) handleBackoff(c Conn, m *messages.MOSDBackoff) {
	o.mu.Lock()
	defer o.unlock()
	s := o.byConn[c]
	if s == nil {
		return
	}
	switch m.Op {
	case messages.BackoffBlock:
		o.stats.Backoffs++
		s.backoffs = append(s.backoffs, backoff{pg: m.PGID.PG, id: m.ID, begin: m.Begin, end: m.End})
		ack := &messages.MOSDBackoff{PGID: m.PGID, Epoch: o.osdmap.Epoch, Op: messages.BackoffAckBlock, ID: m.ID, Begin: m.Begin, End: m.End}
		if err := s.conn.Send(ack); err != nil {
			o.log.Debug("osdc: backoff ack failed", "osd", s.osd, "err", err)
		}
	case messages.BackoffUnblock:
		var gone []backoff
		s.backoffs = slices.DeleteFunc(s.backoffs, func(b backoff) bool {
			if b.id == m.ID && b.pg == m.PGID.PG {
				gone = append(gone, b)
				return true
			}
			return false
		})
		for _, p := range sortedOps(s.ops) {
			spg := messages.PG{Pool: uint64(p.pg.Pool), Seed: p.pg.Seed}
			for i := range gone {
				if gone[i].covers(spg, &p.hobj) {
					o.sendLocked(s, p)
					break
				}
			}
		}
	}
}

func sortedOps(m map[uint64]*op) []*op {
	ops := make([]*op, 0, len(m))
	for _, p := range m {
		ops = append(ops, p)
	}
	slices.SortFunc(ops, func(a, b *op) int { return cmp.Compare(a.tid, b.tid) })
	return ops
}

// HandleReset tells the Objecter that c faulted. Its session is reopened
// (after a backoff if resets repeat) and every op on it is resent: a lossy
// connection loses whatever it had in flight.
func (o *Objecter) HandleReset(c Conn) {
	o.mu.Lock()
	defer o.unlock()
	o.resetLocked(c)
}

func (o *Objecter) resetLocked(c Conn) {
	s := o.byConn[c]
	if s == nil {
		return
	}
	o.lingers.kick(s.osd) // its watches re-register
	delete(o.byConn, c)
	c.Close()
	s.conn = nil
	o.stats.Resets++
	if len(s.ops) == 0 {
		o.closeSession(s)
		return
	}
	wait := o.cfg.ResetBackoff << min(s.resets, 5)
	if s.resets == 0 {
		wait = 0
	}
	wait = min(wait, maxResetBackoff)
	s.resets++
	s.timer = time.AfterFunc(wait, func() { o.reopen(s) })
}

func (o *Objecter) reopen(s *session) {
	o.mu.Lock()
	defer o.unlock()
	if s.closed || o.closed {
		return
	}
	o.closeSession(s)
	o.retarget(o.parkedLocked(), true)
}

func (o *Objecter) parkedLocked() []*op {
	return sortedOps(o.homeless)
}

// retarget recomputes targets and sends the ops that need it (all of them
// with force, e.g. after their session closed).
func (o *Objecter) retarget(ops []*op, force bool) {
	for _, p := range ops {
		changed := o.calcTarget(p)
		if force || changed || p.session == nil {
			o.sendOrPark(p)
		}
	}
}

// HandleOSDMap installs a newer map (older or equal epochs are ignored) and
// resends every op whose target it changes; sessions to OSDs that went down
// or moved are closed.
func (o *Objecter) HandleOSDMap(m *osdmap.OSDMap) {
	o.mu.Lock()
	defer o.unlock()
	if o.closed || (o.osdmap != nil && m.Epoch <= o.osdmap.Epoch) {
		return
	}
	o.osdmap = m
	o.pgCache = nil
	o.stats.Maps++
	close(o.mapCh)
	o.mapCh = make(chan struct{})
	for osd, s := range o.sessions {
		if !m.IsUp(osd) || !addrsEqual(m.Addrs(osd), s.addrs) {
			o.closeSession(s)
		}
	}
	var all []*op
	for _, s := range o.sessions {
		all = append(all, sortedOps(s.ops)...)
	}
	all = append(all, o.parkedLocked()...)
	slices.SortFunc(all, func(a, b *op) int { return cmp.Compare(a.tid, b.tid) })
	for _, p := range all {
		changed := o.calcTarget(p)
		if changed || p.session == nil {
			o.sendOrPark(p)
		}
	}
	o.lingers.kick(-1) // watches whose target moved re-register
}

// Close fails every op in flight with ErrClosed and closes all sessions.
func (o *Objecter) Close() {
	o.mu.Lock()
	if o.closed {
		o.unlock()
		return
	}
	o.closed = true
	close(o.tickStop)
	if o.retry != nil {
		o.retry.Stop()
	}
	for _, s := range o.sessions {
		o.closeSession(s)
	}
	o.lingers.closeAll()
	for _, p := range o.parkedLocked() {
		o.complete(p, nil, ErrClosed)
	}
	close(o.mapCh)
	o.mapCh = make(chan struct{})
	o.unlock()
	<-o.tickDone
}

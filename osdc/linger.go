package osdc

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
)

// Watch/notify: Ceph's linger ops. A watch is registered on an object's
// primary and lives there only while the client's connection does, so it
// is re-registered (WATCH_OP_RECONNECT) whenever that connection resets
// or a new map moves the object's PG or restarts its OSD, and pinged
// every tick so that the OSD keeps it; notifies arrive as MWatchNotify on
// the OSD connection. A notify waits for the OSD's NOTIFY_COMPLETE, which
// carries the watchers' acks.

// lingerSet holds the Objecter's watches and notifies in flight. Its lock
// is taken after the Objecter's (kick runs under o.mu), never before.
type lingerSet struct {
	mu       sync.Mutex
	last     uint64 // cookies: watches and notifies share the space
	watches  map[uint64]*Watch
	notifies map[uint64]chan *messages.MWatchNotify
}

func (l *lingerSet) nextCookie() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last++
	return l.last
}

// kick tells the watches on osd that its session reset, or all of them
// (osd < 0) that a new map came: each checks its target on its own
// goroutine.
func (l *lingerSet) kick(osd int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.watches {
		w.mu.Lock()
		if osd < 0 {
			w.mapChanged = true
		} else if w.osd == osd {
			w.reset = true
		}
		w.mu.Unlock()
		select {
		case w.kickCh <- struct{}{}:
		default:
		}
	}
}

// handleWatchNotify routes an OSD's MWatchNotify to its watch or notify.
func (o *Objecter) handleWatchNotify(m *messages.MWatchNotify) {
	l := &o.lingers
	l.mu.Lock()
	if m.Opcode == messages.WatchEventNotifyComplete {
		ch := l.notifies[m.Cookie]
		delete(l.notifies, m.Cookie)
		l.mu.Unlock()
		if ch != nil {
			ch <- m
		}
		return
	}
	w := l.watches[m.Cookie]
	l.mu.Unlock()
	if w == nil {
		o.log.Debug("osdc: watch event for an unknown watch", "cookie", m.Cookie, "op", m.Opcode)
		return
	}
	switch m.Opcode {
	case messages.WatchEventNotify:
		w.deliver(WatchEvent{NotifyID: m.NotifyID, Cookie: m.Cookie, NotifierID: m.NotifierGID, Payload: m.Payload})
	case messages.WatchEventDisconnect:
		// The OSD dropped the watch (it timed out): like librados, report
		// ENOTCONN; re-registering is the caller's choice.
		w.fail(&OSDError{Pool: w.req.Pool, Oid: w.req.Oid, Errno: syscall.ENOTCONN})
	}
}

// WatchEvent is a notify received on a watch (Err nil), or the watch's
// failure (Err set: it was disconnected or could not be re-registered).
type WatchEvent struct {
	NotifyID   uint64
	Cookie     uint64
	NotifierID uint64 // the notifying client's global id
	Payload    []byte
	Err        error
}

// maxQueuedEvents bounds the events a slow handler leaves waiting; beyond
// it notifies are dropped (their notifier sees this watcher time out, as
// with a watcher that does not answer).
const maxQueuedEvents = 4096

// Watch is a registered watch. Its goroutines: one keeps the
// registration (pings, re-registers after resets and map changes), one
// hands events to the handler in order.
type Watch struct {
	o       *Objecter
	req     Request // Pool, Namespace, Key, Oid
	cookie  uint64
	timeout uint32
	handler func(*Watch, WatchEvent)
	kickCh  chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup

	mu         sync.Mutex // guards what follows
	osd        int32      // where the last registration went
	addrs      encoding.EntityAddrVec
	reset      bool // osd's session reset since
	mapChanged bool
	gen        uint32
	confirmed  time.Time // the last registration or ping the OSD answered
	lastErr    error
	queue      []WatchEvent
	queued     chan struct{} // signals the delivery goroutine
	handling   bool          // the handler is running
	flushed    []chan struct{}
	closed     bool
}

// Reconnects counts the re-registrations so far (after resets, map
// changes and failed pings).
func (w *Watch) Reconnects() uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen
}

// Cookie is the watch's id on the OSD (librados' watch handle).
func (w *Watch) Cookie() uint64 { return w.cookie }

// Watch registers a watch on target's object (Pool, Namespace, Key, Oid)
// and calls handler, one event at a time, for each notify and failure
// (from its own goroutine; a handler that blocks selects on Done).
// timeout is how long the OSD keeps the watch while the client is
// unreachable (0: osd_client_watch_timeout, 30 s).
func (o *Objecter) Watch(ctx context.Context, target Request, timeout time.Duration, handler func(*Watch, WatchEvent)) (*Watch, error) {
	w := &Watch{
		o: o, req: Request{Pool: target.Pool, Namespace: target.Namespace, Key: target.Key, Oid: target.Oid},
		cookie: o.lingers.nextCookie(), timeout: uint32(timeout / time.Second), handler: handler,
		kickCh: make(chan struct{}, 1), stop: make(chan struct{}), queued: make(chan struct{}, 1), osd: -1,
	}
	// Known before the reply: a notify may follow the registration
	// closely.
	o.lingers.mu.Lock()
	if o.lingers.watches == nil {
		o.lingers.watches = make(map[uint64]*Watch)
	}
	o.lingers.watches[w.cookie] = w
	o.lingers.mu.Unlock()
	if err := w.register(ctx, messages.WatchOpWatch); err != nil {
		o.lingers.mu.Lock()
		delete(o.lingers.watches, w.cookie)
		o.lingers.mu.Unlock()
		return nil, err
	}
	w.done.Add(2)
	go w.keep()
	go w.deliverLoop()
	return w, nil
}

// target returns the primary that req's object maps to now, and its
// addresses.
func (o *Objecter) target(req *Request) (int32, encoding.EntityAddrVec) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.osdmap == nil {
		return -1, nil
	}
	p := &op{req: req, oid: req.Oid, osd: -1}
	p.loc = messages.ObjectLocator{Pool: req.Pool, Key: req.Key, Namespace: req.Namespace, Hash: -1}
	o.calcTarget(p)
	if p.osd < 0 {
		return -1, nil
	}
	return p.osd, o.osdmap.Addrs(p.osd)
}

// register sends a WATCH (first time) or RECONNECT op and records where it
// went.
func (w *Watch) register(ctx context.Context, watchOp uint8) error {
	osd, addrs := w.o.target(&w.req)
	w.mu.Lock()
	w.osd, w.addrs, w.reset, w.mapChanged = osd, addrs, false, false
	if watchOp == messages.WatchOpReconnect {
		w.gen++
	}
	gen := w.gen
	w.mu.Unlock()
	r := w.req
	r.Ops = []messages.OSDOp{messages.NewWatchOp(w.cookie, watchOp, gen, w.timeout)}
	_, err := w.o.Do(ctx, &r)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.lastErr = err
		return err
	}
	w.lastErr = nil
	w.confirmed = w.o.cfg.Now()
	return nil
}

// keep pings the watch every tick and re-registers it when its session
// reset or a map moved it, until Close.
func (w *Watch) keep() {
	defer w.done.Done()
	t := time.NewTicker(w.o.cfg.Tick)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-w.stop
		cancel()
	}()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.ping(ctx)
		case <-w.kickCh:
			w.mu.Lock()
			again, mapChanged, failed := w.reset, w.mapChanged, w.lastErr != nil
			w.mapChanged = false
			regOSD, regAddrs := w.osd, w.addrs
			w.mu.Unlock()
			// The target is computed without w.mu (o.mu comes first), and
			// after the flags were taken: a newer map kicks again.
			if mapChanged && !again {
				osd, addrs := w.o.target(&w.req)
				again = osd != regOSD || !addrsEqual(addrs, regAddrs)
			}
			if again && !failed {
				w.reconnect(ctx)
			}
		}
	}
}

// reconnect re-registers the watch; a failure breaks it (the OSD no longer
// has it: it timed out).
func (w *Watch) reconnect(ctx context.Context) {
	if err := w.register(ctx, messages.WatchOpReconnect); err != nil && ctx.Err() == nil {
		w.fail(err)
	}
}

func (w *Watch) ping(ctx context.Context) {
	w.mu.Lock()
	failed, gen := w.lastErr != nil, w.gen
	w.mu.Unlock()
	if failed {
		return
	}
	r := w.req
	r.Ops = []messages.OSDOp{messages.NewWatchOp(w.cookie, messages.WatchOpPing, gen, 0)}
	sent := w.o.cfg.Now()
	_, err := w.o.Do(ctx, &r)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		// ETIMEDOUT when the OSD has the watch but not on this
		// connection (a reset the reconnect has not followed yet),
		// ENOTCONN when it dropped it: re-registering tells which.
		w.reconnect(ctx)
		return
	}
	w.mu.Lock()
	if sent.After(w.confirmed) {
		w.confirmed = sent
	}
	w.mu.Unlock()
}

// fail records the watch's error and reports it once.
func (w *Watch) fail(err error) {
	w.mu.Lock()
	first := w.lastErr == nil
	w.lastErr = err
	w.mu.Unlock()
	if first {
		w.deliver(WatchEvent{Cookie: w.cookie, Err: err})
	}
}

func (w *Watch) deliver(ev WatchEvent) {
	w.mu.Lock()
	if w.closed || len(w.queue) >= maxQueuedEvents {
		w.mu.Unlock()
		w.o.log.Warn("osdc: watch event dropped", "cookie", w.cookie, "notify", ev.NotifyID)
		return
	}
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	select {
	case w.queued <- struct{}{}:
	default:
	}
}

func (w *Watch) deliverLoop() {
	defer w.done.Done()
	for {
		select {
		case <-w.stop:
			return
		case <-w.queued:
		}
		for {
			w.mu.Lock()
			if len(w.queue) == 0 || w.closed {
				w.handling = false
				for _, ch := range w.flushed {
					close(ch)
				}
				w.flushed = nil
				w.mu.Unlock()
				break
			}
			ev := w.queue[0]
			w.queue = w.queue[1:]
			w.handling = true
			w.mu.Unlock()
			w.handler(w, ev)
		}
	}
}

// flushedCh is closed once every event queued now has been handled.
func (w *Watch) flushedCh() chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan struct{})
	if (len(w.queue) == 0 && !w.handling) || w.closed {
		close(ch)
		return ch
	}
	w.flushed = append(w.flushed, ch)
	return ch
}

// WatchFlush waits until every watch has handed its queued events to its
// handler (librados' watch_flush).
func (o *Objecter) WatchFlush(ctx context.Context) error {
	o.lingers.mu.Lock()
	ws := make([]*Watch, 0, len(o.lingers.watches))
	for _, w := range o.lingers.watches {
		ws = append(ws, w)
	}
	o.lingers.mu.Unlock()
	for _, w := range ws {
		select {
		case <-w.flushedCh():
		case <-w.stop:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// Check returns how long ago the OSD last confirmed the watch, or the
// error that broke it (librados' watch_check).
func (w *Watch) Check() (time.Duration, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastErr != nil {
		return 0, w.lastErr
	}
	return w.o.cfg.Now().Sub(w.confirmed), nil
}

// Close unregisters the watch and waits for its goroutines; the handler
// is not called after it returns (call it from another goroutine than
// the handler's).
func (w *Watch) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.done.Wait()
		return ErrClosed
	}
	w.closed = true
	close(w.stop)
	w.mu.Unlock()
	w.done.Wait()
	w.o.lingers.mu.Lock()
	delete(w.o.lingers.watches, w.cookie)
	w.o.lingers.mu.Unlock()
	r := w.req
	r.Ops = []messages.OSDOp{messages.NewWatchOp(w.cookie, messages.WatchOpUnwatch, 0, 0)}
	_, err := w.o.Do(ctx, &r)
	return err
}

// NotifyAck acknowledges notify notifyID received on watch cookie of
// target's object, with a reply for the notifier.
func (o *Objecter) NotifyAck(ctx context.Context, target Request, notifyID, cookie uint64, reply []byte) error {
	r := Request{Pool: target.Pool, Namespace: target.Namespace, Key: target.Key, Oid: target.Oid}
	r.Ops = []messages.OSDOp{messages.NewNotifyAckOp(notifyID, cookie, reply)}
	_, err := o.Do(ctx, &r)
	return err
}

// DefaultNotifyTimeout is client_notify_timeout: how long the OSD waits
// for watchers' acks when Notify is given 0.
const DefaultNotifyTimeout = 10 * time.Second

// notifyGrace is how long after the OSD's own deadline a Notify waits for
// its NOTIFY_COMPLETE before giving up (a reply lost with a connection).
const notifyGrace = 30 * time.Second

// Notify sends payload to the watchers of target's object and waits until
// each acked or timeout (0: DefaultNotifyTimeout) passed. It returns the
// acks and the watchers that timed out; the error matches ETIMEDOUT when
// some did.
func (o *Objecter) Notify(ctx context.Context, target Request, payload []byte, timeout time.Duration) ([]messages.NotifyAck, []messages.NotifyTimeout, error) {
	if timeout <= 0 {
		timeout = DefaultNotifyTimeout
	}
	secs := uint32(max(timeout/time.Second, 1))
	cookie := o.lingers.nextCookie()
	ch := make(chan *messages.MWatchNotify, 1)
	o.lingers.mu.Lock()
	if o.lingers.notifies == nil {
		o.lingers.notifies = make(map[uint64]chan *messages.MWatchNotify)
	}
	o.lingers.notifies[cookie] = ch
	o.lingers.mu.Unlock()
	defer func() {
		o.lingers.mu.Lock()
		delete(o.lingers.notifies, cookie)
		o.lingers.mu.Unlock()
	}()
	r := Request{Pool: target.Pool, Namespace: target.Namespace, Key: target.Key, Oid: target.Oid}
	r.Ops = []messages.OSDOp{messages.NewNotifyOp(cookie, secs, payload)}
	if _, err := o.Do(ctx, &r); err != nil {
		return nil, nil, err
	}
	wait := time.NewTimer(time.Duration(secs)*time.Second + notifyGrace)
	defer wait.Stop()
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, nil, ErrClosed
		}
		acks, missed, err := messages.DecodeNotifyResult(m.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("osdc: %w", err)
		}
		return acks, missed, errnoOf(r.Pool, r.Oid, m.ReturnCode)
	case <-wait.C:
		return nil, nil, &OSDError{Pool: r.Pool, Oid: r.Oid, Errno: syscall.ETIMEDOUT}
	case <-ctx.Done():
		return nil, nil, context.Cause(ctx)
	}
}

// closeAll stops every watch's goroutines when the Objecter closes
// (o.mu held); a handler blocked on its own account ends when it selects
// on Done.
func (l *lingerSet) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.watches {
		w.mu.Lock()
		if !w.closed {
			w.closed = true
			close(w.stop)
		}
		w.mu.Unlock()
	}
	for _, ch := range l.notifies {
		close(ch)
	}
	clear(l.notifies)
}

// Done is closed when the watch is closed, or its Objecter: a handler
// that blocks (handing events to a channel) selects on it.
func (w *Watch) Done() <-chan struct{} { return w.stop }

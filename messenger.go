package msgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/event"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/internal/stack"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/perf"
)

// Config is what a Messenger is made with besides Options.
type Config struct {
	// Name is this entity: type (encoding.EntityType*) and number.
	Name encoding.EntityName
	// Nonce tells apart incarnations of the same address (Ceph uses a
	// random number or the pid); it goes in every address of ours.
	Nonce uint32
	// Stack is the transport (NewEventLoopStack, NewGoNetStack); nil
	// leases the process-wide event-loop pool "msgr" (GOMAXPROCS loops),
	// shared with every other messenger.
	Stack Stack
	// Registry decodes received messages; nil decodes every type as
	// *message.Raw.
	Registry *message.Registry
	// AuthClient and AuthServer make the handlers of one authentication
	// exchange (one per socket); nil means auth method none. The server
	// handler that authenticated a session stays reachable from its
	// connection (Conn.AuthServerHandler), e.g. to answer the ticket
	// renewals a client sends in MAuth.
	AuthClient func(peerType uint8) (auth.ClientHandler, error)
	AuthServer func(peerType uint8) (auth.ServerHandler, error)
	// Features are the feature bits offered (0: encoding.FeaturesAll).
	Features uint64
}

// Messenger is Ceph's AsyncMessenger: it owns the connections of one
// entity, the listening socket, the policies and the dispatch queue.
// Every method is safe from any goroutine; Bind, Shutdown's wait and
// Wait block, so they must not run on an event loop.
type Messenger struct {
	// Immutable after New.
	nonce    uint32
	opts     Options
	log      *slog.Logger
	stack    stack.Stack
	ownStack bool
	registry *message.Registry
	authCli  func(peerType uint8) (auth.ClientHandler, error)
	authSrv  func(peerType uint8) (auth.ServerHandler, error)
	features uint64
	gids     *auth.GlobalIDs
	policies *policySet
	dq       *dispatchQueue
	// Dispatch budget for messages read and not yet dispatched.
	dispatchBytes *Throttle
	dispatchMsgs  *Throttle
	preSession    *wire.Budget // receive memory of connections not yet established
	local         *Conn
	perfSections  []perf.Section // registered in opts.Perf
	// testRecvHook, set by tests, sees every chunk read from a socket (and
	// may change it in place); bytes it returns are fed to the Machine
	// right after, as if read next. Nil outside tests.
	testRecvHook atomic.Pointer[func(c *Conn, p []byte) (extra []byte)]

	// Safe from any goroutine.
	// name is ours; SetMyName changes it for connections made afterwards.
	name      atomic.Pointer[encoding.EntityName]
	disp      atomic.Pointer[dispatchers]
	globalSeq atomic.Uint64
	connIDs   atomic.Uint64
	injected  atomic.Uint64 // socket failures injected
	delayed   atomic.Uint64 // messages delayed by injection
	handoffs  atomic.Uint64 // sockets moved to an existing session
	// handshakeFails counts sockets dropped before their session opened.
	handshakeFails atomic.Uint64
	// acceptFails counts failed accepts (the listener backs off and retries).
	acceptFails atomic.Uint64
	done        chan struct{} // closed when shutdown completes

	mu sync.Mutex // guards everything below
	// addrs are ours; needAddr while the IP is not known (Ceph's
	// need_addr): the first peer's view of us fills it in.
	addrs     encoding.EntityAddrVec
	needAddr  bool
	bound     bool
	started   bool
	ready     bool
	stopping  bool
	procs     []*processor     // one per bound address
	conns     map[string]*Conn // registered sessions by peer addresses
	accepting map[*Conn]struct{}
	all       map[*Conn]struct{}  // every live connection
	allGone   chan struct{}       // closed when all empties during shutdown
	lookups   map[string][]func() // lookups waiting for an earlier one on the same key
	rng       *rand.Rand
	// closedHook, when set (tests), hears every connection that closes.
	closedHook func(c *Conn, err error)
}

// New makes a messenger for entity cfg.Name. Call Bind (servers), Start,
// then add a dispatcher.
func New(cfg Config, opts Options) (*Messenger, error) {
	opts = opts.withDefaults()
	m := &Messenger{
		nonce:     cfg.Nonce,
		opts:      opts,
		registry:  cfg.Registry,
		authCli:   cfg.AuthClient,
		authSrv:   cfg.AuthServer,
		features:  cfg.Features,
		gids:      auth.NewGlobalIDs(4100),
		policies:  newPolicySet(Policy{}),
		done:      make(chan struct{}),
		needAddr:  true,
		conns:     map[string]*Conn{},
		accepting: map[*Conn]struct{}{},
		all:       map[*Conn]struct{}{},
		lookups:   map[string][]func(){},
		rng:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	m.dq = newDispatchQueue(m.deliver)
	m.name.Store(&cfg.Name)
	m.log = opts.Logger.With("entity", cfg.Name.String())
	if m.registry == nil {
		m.registry = message.NewRegistry()
	}
	if m.features == 0 {
		m.features = encoding.FeaturesAll
	}
	m.dispatchBytes = NewThrottle("dispatch_throttle_bytes", opts.DispatchThrottleBytes)
	m.dispatchMsgs = NewThrottle("dispatch_queue_len", int64(opts.DispatchQueueLen))
	m.preSession = wire.NewBudget(opts.PreSessionMemory)
	m.disp.Store(&dispatchers{})
	if cfg.Stack != nil {
		m.stack = cfg.Stack
	} else {
		s, err := stack.NewEventLoop(nil, "msgr", event.Options{})
		if err != nil {
			return nil, err
		}
		m.stack, m.ownStack = s, true
	}
	m.local = newLocalConn(m)
	m.addPerf()
	return m, nil
}

// Name returns this entity's name.
func (m *Messenger) Name() encoding.EntityName { return *m.name.Load() }

// SetMyName changes this entity's name (a client learns its global id
// from the monitors); connections made afterwards use it.
func (m *Messenger) SetMyName(n encoding.EntityName) {
	m.name.Store(&n)
	m.local.setLocalAddrs(m.Addrs())
}

// Addrs returns this messenger's addresses (empty for a client that has
// not learnt its IP yet).
func (m *Messenger) Addrs() encoding.EntityAddrVec {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.addrs)
}

// Nonce returns the nonce given to New.
func (m *Messenger) Nonce() uint32 { return m.nonce }

// Options returns the options in use, defaults filled in.
func (m *Messenger) Options() Options { return m.opts }

// SetPolicy sets the policy for peers of entity type peerType.
func (m *Messenger) SetPolicy(peerType uint8, p Policy) { m.policies.set(peerType, p) }

// SetDefaultPolicy sets the policy for peer types without their own.
func (m *Messenger) SetDefaultPolicy(p Policy) { m.policies.setDefault(p) }

// SetPolicyThrottlers sets the byte and message throttles of peerType's
// policy (of the default policy when the type has none of its own).
func (m *Messenger) SetPolicyThrottlers(peerType uint8, bytes, msgs *Throttle) {
	m.policies.setThrottlers(peerType, bytes, msgs)
}

// GetPolicy returns the policy that applies to peers of type peerType.
func (m *Messenger) GetPolicy(peerType uint8) Policy { return m.policies.get(peerType) }

// Bind listens on addr (port 0: the kernel picks one), retrying a busy
// address ms_bind_retry_count times ms_bind_retry_delay apart. An
// unspecified IP (0.0.0.0) is replaced by the IP the first peer sees.
func (m *Messenger) Bind(ctx context.Context, addr netip.AddrPort) error {
	return m.bind(ctx, addr.Addr(), []uint16{addr.Port()})
}

// BindPortRange listens on ip at the first free port from
// ms_bind_port_min to ms_bind_port_max that is not in avoid (Ceph's
// Processor::bind with port 0 and avoid_ports).
func (m *Messenger) BindPortRange(ctx context.Context, ip netip.Addr, avoid ...uint16) error {
	var ports []uint16
	for p := m.opts.BindPortMin; p <= m.opts.BindPortMax && p <= 65535; p++ {
		if p > 0 && !slices.Contains(avoid, uint16(p)) {
			ports = append(ports, uint16(p))
		}
	}
	if len(ports) == 0 {
		return fmt.Errorf("%w: [%d, %d] minus %v", ErrNoPort, m.opts.BindPortMin, m.opts.BindPortMax, avoid)
	}
	return m.bind(ctx, ip, ports)
}

func (m *Messenger) bind(ctx context.Context, ip netip.Addr, ports []uint16) error {
	if m.stack.InContext() {
		return errors.New("msgr: Bind called on an event loop")
	}
	m.mu.Lock()
	if m.bound || m.started {
		m.mu.Unlock()
		return ErrAlreadyBound
	}
	if m.stopping {
		m.mu.Unlock()
		return ErrShutdown
	}
	m.mu.Unlock()
	// msgr2 first, on the ports asked for; msgr1 beside it (Ceph's
	// Processor per address of the vector).
	var protos []proto
	if !m.opts.NoMsgr2 {
		protos = append(protos, protoV2)
	}
	if m.opts.BindMsgr1 || m.opts.NoMsgr2 {
		protos = append(protos, protoV1)
	}
	var procs []*processor
	var addrs encoding.EntityAddrVec
	fail := func(err error) error {
		for _, p := range procs {
			p.stop()
		}
		return err
	}
	for i, pr := range protos {
		try := ports
		if i > 0 {
			// The second address: the rest of a range, or any port.
			try = nil
			for _, p := range ports {
				if p != 0 && p != addrs[0].Addr.Port() {
					try = append(try, p)
				}
			}
			if len(try) == 0 {
				try = []uint16{0}
			}
		}
		w, release := m.stack.Pick()
		l, err := m.listen(ctx, w, ip, try)
		if err != nil {
			release()
			return fail(err)
		}
		procs = append(procs, newProcessor(m, w, release, l, pr))
		bound := l.Addr()
		t := encoding.AddrTypeMsgr2
		if pr == protoV1 {
			t = encoding.AddrTypeLegacy
		}
		a := encoding.EntityAddr{Type: t, Nonce: m.nonce, Addr: bound}
		if ip.IsUnspecified() {
			// Keep the port; the IP comes from the first peer (learned_addr).
			a.Addr = netip.AddrPortFrom(netip.Addr{}, bound.Port())
		}
		addrs = append(addrs, a)
		m.log.Debug("bound", "addr", a)
	}
	m.mu.Lock()
	m.bound = true
	m.procs = procs
	m.needAddr = ip.IsUnspecified()
	m.addrs = addrs
	m.mu.Unlock()
	m.local.setLocalAddrs(m.Addrs())
	return nil
}

// listen binds the first free port of ports on ip, retrying busy ones
// ms_bind_retry_count times.
func (m *Messenger) listen(ctx context.Context, w stack.Worker, ip netip.Addr, ports []uint16) (stack.Listener, error) {
	var lastErr error
	for attempt := 0; attempt <= m.opts.BindRetryCount; attempt++ {
		if attempt > 0 {
			m.log.Warn("bind failed, retrying", "err", lastErr, "delay", m.opts.BindRetryDelay)
			t := time.NewTimer(m.opts.BindRetryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		for _, p := range ports {
			l, err := callOn(ctx, w, func() (stack.Listener, error) {
				return w.Listen(netip.AddrPortFrom(ip, p), stack.ListenConfig{Backlog: m.opts.TCPListenBacklog, RecvBuf: m.opts.TCPRcvBuf})
			})
			if err == nil {
				return l, nil
			}
			lastErr = err
			if !errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("msgr: bind %v: %w", netip.AddrPortFrom(ip, p), err)
			}
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrNoPort, lastErr)
}

// callOn runs f on w and waits for its result.
func callOn[T any](ctx context.Context, w stack.Worker, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	if err := w.Exec(func() {
		v, err := f()
		ch <- result{v, err}
	}); err != nil {
		var zero T
		return zero, err
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		// f still runs; a listener it opens must not leak.
		go func() {
			if r := <-ch; r.err == nil {
				if c, ok := any(r.v).(interface{ Close() error }); ok {
					_ = w.Exec(func() { _ = c.Close() })
				}
			}
		}()
		var zero T
		return zero, ctx.Err()
	}
}

// Start starts the dispatch goroutine; the messenger begins accepting
// once a dispatcher has been added too.
func (m *Messenger) Start() error {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return ErrShutdown
	}
	if m.started {
		m.mu.Unlock()
		return nil
	}
	m.started = true
	if !m.bound {
		// A client: no IP until a peer tells us (learned_addr).
		m.needAddr = true
	}
	ready := len(m.disp.Load().all) > 0
	m.mu.Unlock()
	m.dq.start()
	if ready {
		m.becomeReady()
	}
	return nil
}

// AddDispatcherHead puts d first in the chain; the first dispatcher added
// makes the messenger ready (the listener starts accepting), as in Ceph.
func (m *Messenger) AddDispatcherHead(d Dispatcher) { m.addDispatcher(d, true) }

// AddDispatcherTail puts d last in the chain.
func (m *Messenger) AddDispatcherTail(d Dispatcher) { m.addDispatcher(d, false) }

func (m *Messenger) addDispatcher(d Dispatcher, head bool) {
	m.mu.Lock()
	old := m.disp.Load()
	m.disp.Store(old.with(d, head))
	first := len(old.all) == 0
	started := m.started
	m.mu.Unlock()
	if first && started {
		m.becomeReady()
	}
}

// becomeReady is Ceph's AsyncMessenger::ready: start accepting.
func (m *Messenger) becomeReady() {
	m.mu.Lock()
	if m.ready || m.stopping {
		m.mu.Unlock()
		return
	}
	m.ready = true
	procs := m.procs
	m.mu.Unlock()
	for _, p := range procs {
		p.start()
	}
}

// GetConnection returns the connection to the peer at addrs of entity
// type peerType, making one if there is none: it returns at once and
// connects in the background when the first message (or keepalive) is
// sent. Our own addresses give the local connection.
func (m *Messenger) GetConnection(addrs encoding.EntityAddrVec, peerType uint8) (*Conn, error) {
	if _, err := m.pickProto(addrs); err != nil {
		return nil, err
	}
	key := addrs.String()
	m.mu.Lock()
	if err := m.usableLocked(); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if len(m.addrs) > 0 && key == m.addrs.String() {
		m.mu.Unlock()
		return m.local, nil
	}
	if c := m.conns[key]; c != nil && !c.isClosed() {
		m.mu.Unlock()
		return c, nil
	}
	m.mu.Unlock()
	// Made outside the lock: the Machine may ask the messenger things.
	c, err := newClientConn(m, addrs, peerType)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usableLocked(); err != nil {
		c.release()
		return nil, err
	}
	if e := m.conns[key]; e != nil && !e.isClosed() {
		c.release() // lost a race with another GetConnection; never started
		return e, nil
	}
	m.conns[key] = c
	c.regKey = key
	m.all[c] = struct{}{}
	return c, nil
}

func (m *Messenger) usableLocked() error {
	if m.stopping {
		return ErrShutdown
	}
	if !m.started {
		return ErrNotStarted
	}
	return nil
}

// LocalConnection returns the connection to ourselves (Ceph's
// get_loopback_connection): messages sent on it are dispatched here,
// without a socket.
func (m *Messenger) LocalConnection() *Conn { return m.local }

// MarkDown closes the connection to addrs, if any, dropping what it had
// queued; no reset is reported.
func (m *Messenger) MarkDown(addrs encoding.EntityAddrVec) {
	m.mu.Lock()
	c := m.conns[addrs.String()]
	m.mu.Unlock()
	if c != nil {
		c.MarkDown()
	}
}

// MarkDownAll closes every connection (Ceph's mark_down_all).
func (m *Messenger) MarkDownAll() {
	m.mu.Lock()
	cs := make([]*Conn, 0, len(m.all))
	for c := range m.all {
		cs = append(cs, c)
	}
	m.mu.Unlock()
	for _, c := range cs {
		c.MarkDown()
	}
}

// Shutdown stops the messenger: the listener closes, every connection is
// marked down, the dispatch queue is discarded, and the worker pool is
// released. It waits for all that until ctx ends, except when called from
// a dispatcher or an event loop, where waiting would deadlock: then it
// returns at once and Wait tells when it is done. Idempotent.
func (m *Messenger) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	first := !m.stopping
	m.stopping = true
	m.mu.Unlock()
	if first {
		go m.shutdown()
	}
	if m.stack.InContext() || m.inDispatch() {
		return nil
	}
	return m.Wait(ctx)
}

// Wait waits until Shutdown has completed, or ctx ends.
func (m *Messenger) Wait(ctx context.Context) error {
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats are counters for tests and monitoring.
type Stats struct {
	Conns            int    // live connections, accepting ones included
	Accepting        int    // accepted connections not yet established
	InjectedFailures uint64 // socket failures injected (ms_inject_socket_failures)
	InjectedDelays   uint64 // received messages delayed (ms_inject_delay_*)
	// HandOffs counts accepted sockets moved into the connection that
	// already had the peer's session (Ceph's reuse_connection).
	HandOffs uint64
	// HandshakeFailures counts sockets closed before a session opened on
	// them (each is logged at debug level with the peer, phase and reason).
	HandshakeFailures uint64
	// AcceptFailures counts failed accept calls (EMFILE and the like); the
	// listener backs off and keeps accepting.
	AcceptFailures uint64
	// Msgr1Conns counts the live connections that speak msgr1.
	Msgr1Conns int
}

// Stats returns the current counters.
func (m *Messenger) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	v1 := 0
	for c := range m.all {
		if c.proto == protoV1 {
			v1++
		}
	}
	return Stats{Conns: len(m.all), Accepting: len(m.accepting), InjectedFailures: m.injected.Load(), InjectedDelays: m.delayed.Load(), HandOffs: m.handoffs.Load(),
		HandshakeFailures: m.handshakeFails.Load(), AcceptFailures: m.acceptFails.Load(), Msgr1Conns: v1}
}

func (m *Messenger) inDispatch() bool {
	return m.dq.inDelivery()
}

func (m *Messenger) shutdown() {
	defer close(m.done)
	defer m.removePerf()
	m.mu.Lock()
	procs := m.procs
	m.procs = nil
	m.mu.Unlock()
	for _, p := range procs {
		p.stop()
	}
	m.MarkDownAll()
	// Wait for every connection's loop to finish closing it.
	m.mu.Lock()
	if len(m.all) > 0 {
		m.allGone = make(chan struct{})
	}
	gone := m.allGone
	m.mu.Unlock()
	if gone != nil {
		<-gone
	}
	m.local.closeLocal()
	m.dq.stop()
	if m.ownStack {
		if err := m.stack.Close(); err != nil {
			m.log.Warn("closing the event loops", "err", err)
		}
	}
	m.log.Debug("shut down")
}

// deliver hands a dispatch queue item to the dispatcher chain (slow
// dispatch: on the dispatch goroutine, off the loops).
func (m *Messenger) deliver(it dispatchItem) {
	defer it.done()
	if it.kind == itemMessage && it.c.down.Load() {
		return // marked down after it was queued (Conn.MarkDown)
	}
	if !m.disp.Load().deliver(it) && it.kind == itemMessage {
		m.log.Debug("unhandled message", "type", it.m.Type(), "conn", it.c)
	}
}

// forget removes a closed connection from every registry.
func (m *Messenger) forget(c *Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.regKey != "" && m.conns[c.regKey] == c {
		delete(m.conns, c.regKey)
	}
	delete(m.accepting, c)
	delete(m.all, c)
	if m.closedHook != nil {
		m.closedHook(c, c.closeErr)
	}
	if len(m.all) == 0 && m.allGone != nil {
		close(m.allGone)
		m.allGone = nil
	}
}

// register is called when an accepted connection establishes a session.
func (m *Messenger) established(c *Conn) {
	m.mu.Lock()
	delete(m.accepting, c)
	m.mu.Unlock()
}

// learnedAddr is Ceph's learned_addr: the peer sees us at a.
func (m *Messenger) learnedAddr(a encoding.EntityAddr) {
	m.mu.Lock()
	if !m.needAddr || !a.Addr.IsValid() {
		m.mu.Unlock()
		return
	}
	m.needAddr = false
	if len(m.addrs) == 0 {
		n := encoding.EntityAddr{Type: encoding.AddrTypeAny, Nonce: m.nonce, Addr: netip.AddrPortFrom(a.Addr.Addr(), 0)}
		m.addrs = encoding.EntityAddrVec{n}
	} else {
		out := slices.Clone(m.addrs)
		for i := range out {
			if !out[i].Addr.Addr().IsValid() || out[i].Addr.Addr().IsUnspecified() {
				out[i].Addr = netip.AddrPortFrom(a.Addr.Addr(), out[i].Addr.Port())
			}
		}
		m.addrs = out
	}
	addrs := slices.Clone(m.addrs)
	m.mu.Unlock()
	m.local.setLocalAddrs(addrs)
	m.log.Debug("learned my address", "addrs", addrs)
}

// machineConfig is the protocol configuration of a new connection.
func (m *Messenger) machineConfig() v2.Config {
	return v2.Config{
		Env:               (*env)(m),
		Me:                m.Name(),
		SupportedFeatures: m.features,
		InitialBackoff:    m.opts.InitialBackoff,
		MaxBackoff:        m.opts.MaxBackoff,
		HandshakeTimeout:  m.opts.ConnectionReadyTimeout,
		IdleTimeout:       m.opts.ConnectionIdleTimeout,
		PreSessionBudget:  m.preSession,
		StreamSums:        true, // Conn.flushOut asks Writable
	}
}

// env is the Messenger as a protocol Machine sees it (v2.Env).
type env Messenger

func (e *env) MyAddrs() encoding.EntityAddrVec {
	m := (*Messenger)(e)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addrs
}

func (e *env) NextGlobalSeq(atLeast uint64) uint64 {
	for {
		cur := e.globalSeq.Load()
		n := max(cur, atLeast) + 1
		if e.globalSeq.CompareAndSwap(cur, n) {
			return n
		}
	}
}

func (e *env) Policy(peerType uint8) v2.Policy {
	p := e.policies.get(peerType)
	return v2.Policy{Lossy: p.Lossy, Server: p.Server, Standby: p.Standby, ResetCheck: p.ResetCheck, FeaturesRequired: p.FeaturesRequired}
}

func (e *env) AuthClient(peerType uint8) (auth.ClientHandler, error) {
	if e.authCli != nil {
		return e.authCli(peerType)
	}
	m := (*Messenger)(e)
	name := m.Name()
	return &auth.NoneClient{Name: auth.EntityName{Type: uint32(name.Type), ID: strconv.FormatInt(max(name.Num, 0), 10)}, Mon: peerType == encoding.EntityTypeMon}, nil
}

func (e *env) AuthServer(peerType uint8) (auth.ServerHandler, error) {
	if e.authSrv != nil {
		return e.authSrv(peerType)
	}
	m := (*Messenger)(e)
	return &auth.NoneServer{Mon: m.Name().Type == encoding.EntityTypeMon, GlobalIDs: e.gids}, nil
}

func (e *env) Cookie() uint64 {
	m := (*Messenger)(e)
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if v := m.rng.Uint64(); v != 0 {
			return v
		}
	}
}

// lookup answers a server Machine's Lookup (see v2.Lookup): on c's loop,
// it finds the connection registered for the peer; if there is one, E,
// it asks E's Machine to arbitrate on E's loop, then resolves c's Machine
// on c's loop. Lookups for the same peer run one at a time, so that the
// registry cannot change between a lookup and its resolution.
func (m *Messenger) lookup(c *Conn, q *v2.Query) {
	key := q.PeerAddrs.String()
	m.mu.Lock()
	if waiting, busy := m.lookups[key]; busy {
		m.lookups[key] = append(waiting, func() {
			if err := c.worker.Exec(func() { m.lookup(c, q) }); err != nil {
				m.lookupDone(key)
			}
		})
		m.mu.Unlock()
		return
	}
	e := m.conns[key]
	if e == nil || e == c || e.isClosed() || e.proto != c.proto {
		// (Sessions of different protocols are never shared.)
		if !q.Reconnect {
			m.conns[key] = c
			c.regKey = key
		}
		m.mu.Unlock()
		c.step(func(now time.Time) *v2.Ready { return c.mach.Resolve(now, nil) })
		// A lookup that waited its turn runs from an Exec of its own, and
		// nothing else would write what Resolve produced.
		c.flushOut()
		return
	}
	m.lookups[key] = nil // busy
	m.mu.Unlock()
	arbitrate := func() {
		var v *v2.Verdict
		e.step(func(now time.Time) *v2.Ready {
			var r *v2.Ready
			v, r = e.mach.Arbitrate(now, q)
			return r
		})
		e.flushOut()
		if v != nil && v.Register {
			m.mu.Lock()
			// A lossy e that Arbitrate stopped has already forgotten
			// itself: the key is free then, and c must take it, or the
			// peer's next connection would find no one to stop and c
			// would go on delivering beside it.
			if cur := m.conns[key]; cur == e || cur == nil {
				m.conns[key] = c
				c.regKey = key
			}
			m.mu.Unlock()
		}
		err := c.worker.Exec(func() {
			c.handoffTo = e // for a HandOff action
			c.step(func(now time.Time) *v2.Ready { return c.mach.Resolve(now, v) })
			c.handoffTo = nil
			c.flushOut()
			m.lookupDone(key)
		})
		if err != nil {
			m.lookupDone(key)
		}
	}
	if err := e.worker.Exec(arbitrate); err != nil {
		m.lookupDone(key)
		c.step(func(now time.Time) *v2.Ready { return c.mach.Resolve(now, nil) })
		c.flushOut()
	}
}

// lookupDone lets the lookups that queued behind one proceed.
func (m *Messenger) lookupDone(key string) {
	m.mu.Lock()
	waiting := m.lookups[key]
	delete(m.lookups, key)
	m.mu.Unlock()
	for _, f := range waiting {
		f()
	}
}

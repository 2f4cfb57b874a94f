package mon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/monmap"
)

// Errors of the MonClient. Each is matched with errors.Is.
var (
	// ErrNoMonitor: no monitor answered before the context ended; the
	// error also wraps the last connection failure seen.
	ErrNoMonitor = errors.New("mon: no monitor reachable")
	// ErrAuthFailed: a monitor refused our credentials. It also matches
	// auth.ErrDenied.
	ErrAuthFailed = errors.New("mon: authentication failed")
	// ErrWrongFSID: the monitor belongs to another cluster than the
	// configuration's fsid.
	ErrWrongFSID = errors.New("mon: monitor's fsid differs from the configured one")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("mon: client closed")
)

// ResultError is a mon command's non-zero result: the errno and the
// status text the mon sent. errors.Is matches the syscall.Errno.
type ResultError struct {
	Code   int32 // negative errno, as the mon sends it
	Status string
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("Error %s: %s", errnoName(-e.Code), e.Status)
}

// Is matches syscall.Errno(-Code).
func (e *ResultError) Is(target error) bool {
	n, ok := target.(syscall.Errno)
	return ok && int32(n) == -e.Code
}

var errnoNames = map[int32]string{
	1: "EPERM", 2: "ENOENT", 5: "EIO", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 16: "EBUSY",
	17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 27: "EFBIG", 28: "ENOSPC", 34: "ERANGE",
	39: "ENOTEMPTY", 61: "ENODATA", 95: "EOPNOTSUPP", 110: "ETIMEDOUT", 125: "ECANCELED",
}

// errnoName is how the ceph CLI names an errno ("EINVAL").
func errnoName(n int32) string {
	if s, ok := errnoNames[n]; ok {
		return s
	}
	return fmt.Sprintf("errno %d", n)
}

// Options tune a Client; zero values take Ceph's defaults from the
// configuration.
type Options struct {
	// HuntInterval is how long to wait for a monitor before trying others
	// (mon_client_hunt_interval, 3 s), growing by HuntBackoff up to 10×.
	HuntInterval time.Duration
	// HuntParallel is how many monitors are tried at once
	// (mon_client_hunt_parallel, 3).
	HuntParallel int
	// Tick is how often tickets and keepalives are checked (1 s).
	Tick time.Duration
	// PingInterval and PingTimeout: a keepalive goes to the mon every
	// PingInterval, and a session with no keepalive answered for
	// PingTimeout is dropped for another mon (mon_client_ping_interval,
	// 10 s; mon_client_ping_timeout, 30 s).
	PingInterval time.Duration
	PingTimeout  time.Duration
	// Hostname goes in subscriptions (os.Hostname).
	Hostname string
	Logger   *slog.Logger

	// For Dial only, for a client that shares the MonClient's messenger
	// (librados' RadosClient, whose Objecter talks to the OSDs on it):
	// Registry is the messenger's (it must hold the mon messages; nil
	// registers only those), Messenger its options (Logger defaults to
	// Logger), and Setup, when set, runs once the Client and its started
	// messenger exist and before the hunt: to add handlers (OnOSDMap),
	// dispatchers and policies. Its error makes Dial fail.
	Registry  *message.Registry
	Messenger msgr.Options
	Setup     func(*Client) error
}

// Client is Ceph's MonClient: a session with one monitor at a time,
// found by hunting across the known monitors, authenticated by the
// messenger's auth handlers, carrying subscriptions (monmap, osdmap,
// config), mon commands, version queries and ticket renewal.
//
// A Client made with Dial owns its messenger. One made with NewClient
// shares a messenger: its owner must route the mon peers' messages and
// events to Dispatch, HandleConnect and HandleReset (or add the Client as
// a dispatcher).
type Client struct {
	m       *msgr.Messenger
	ownMsgr bool
	cfg     *config.Config
	cred    auth.Credentials
	opts    Options
	log     *slog.Logger

	mu        sync.Mutex
	closed    bool
	mons      []config.Mon // candidates: the initial list, then the monmap's
	next      int          // rotation through mons
	monmap    *monmap.MonMap
	fsid      encoding.UUID
	haveFSID  bool // from the configuration
	active    *msgr.Conn
	hunting   map[*msgr.Conn]bool
	backoff   float64
	retry     time.Duration // delay before rehunting when every candidate failed
	huntTimer *time.Timer
	lastErr   error
	fatal     error         // a definitive failure (auth, fsid)
	sessionCh chan struct{} // closed when a session is open
	mapCh     chan struct{} // closed at the first monmap
	subs      map[string]messages.SubscribeItem
	tid       uint64
	cmds      map[uint64]*pendingCmd
	versions  map[uint64]*pendingVersion
	config    map[string]string
	onOSDMap  func(*messages.MOSDMap)
	onConfig  func(map[string]string)
	renewing  bool
	renewals  int       // completed ticket renewals, for tests
	sessionAt time.Time // when the active session opened
	lastPing  time.Time // last keepalive sent
	started   bool
	tickStop  chan struct{}
	tickDone  chan struct{}
}

type pendingCmd struct {
	cmd  []string
	data []byte
	done chan *messages.MMonCommandAck
}

type pendingVersion struct {
	what string
	done chan *messages.MMonGetVersionReply
}

// Credentials builds the client's auth method from the configuration:
// cephx with the entity's key from its keyring (or `key`/`keyfile`), or
// none, in the order auth_client_required (or auth_supported) lists
// them, with the ms_mon_client_mode / ms_client_mode preferences.
func Credentials(cfg *config.Config) (auth.Credentials, error) {
	name, err := auth.ParseEntityName(cfg.Name)
	if err != nil {
		return nil, err
	}
	monModes, err := cfg.Modes("ms_mon_client_mode")
	if err != nil {
		return nil, err
	}
	modes, err := cfg.Modes("ms_client_mode")
	if err != nil {
		return nil, err
	}
	methods := cfg.AuthClientRequired()
	none := &auth.NoneSession{Name: name, MonModes: monModes, Modes: modes}
	for _, m := range methods {
		switch m {
		case "none":
			return none, nil
		case "cephx":
			key, err := loadKey(cfg, name)
			if err != nil {
				// As Ceph's AuthRegistry: without a key cephx is dropped
				// ("no keyring found ..., disabling cephx") and the next
				// method, if any, is used.
				if errors.Is(err, auth.ErrNoKey) && slices.Contains(methods, "none") {
					return none, nil
				}
				return nil, err
			}
			return cephx.NewSession(cephx.Config{Name: name, Key: key, MonModes: monModes, Modes: modes})
		}
	}
	return nil, fmt.Errorf("%w: no supported method in auth_client_required %q", ErrAuthFailed, methods)
}

func loadKey(cfg *config.Config, name auth.EntityName) (auth.CryptoKey, error) {
	if k, ok := cfg.Get("key"); ok && strings.TrimSpace(k) != "" {
		return auth.ParseKey(strings.TrimSpace(k))
	}
	if f, ok := cfg.Get("keyfile"); ok && strings.TrimSpace(f) != "" {
		b, err := os.ReadFile(strings.TrimSpace(f))
		if err != nil {
			return auth.CryptoKey{}, fmt.Errorf("mon: keyfile: %w", err)
		}
		return auth.ParseKeyFile(b)
	}
	path, ok := cfg.Keyring()
	if !ok {
		return auth.CryptoKey{}, fmt.Errorf("mon: %w: no keyring found for %s (keyring = %q)", auth.ErrNoKey, cfg.Name, cfg.KeyringPaths())
	}
	kr, err := auth.LoadKeyring(path)
	if err != nil {
		return auth.CryptoKey{}, err
	}
	k, err := kr.Key(name)
	if err != nil {
		return auth.CryptoKey{}, fmt.Errorf("mon: keyring %s: %w", path, err)
	}
	return k, nil
}

// AuthHook lets a Client hear that a monitor refused its credentials:
// the messenger reports an exchange that fails before a session opens
// only by closing the connection, so the Client watches the auth handlers
// themselves (Ceph's MonClient is the AuthClient for the same reason).
// Wrap the credentials given to the messenger, then Attach the Client.
type AuthHook struct {
	c atomic.Pointer[Client]
}

// Wrap returns cred with its mon handlers watched.
func (h *AuthHook) Wrap(cred auth.Credentials) auth.Credentials { return hookedCred{cred, h} }

// Attach makes failures reach c.
func (h *AuthHook) Attach(c *Client) { h.c.Store(c) }

func (h *AuthHook) failed(err error) {
	if c := h.c.Load(); c != nil {
		// Off the connection's event loop: failing marks connections down.
		go c.authFailed(err)
	}
}

type hookedCred struct {
	auth.Credentials
	h *AuthHook
}

func (hc hookedCred) ClientHandler(peerType uint32) (auth.ClientHandler, error) {
	ch, err := hc.Credentials.ClientHandler(peerType)
	if err != nil || peerType != uint32(encoding.EntityTypeMon) {
		return ch, err
	}
	return hookedHandler{ch, hc.h}, nil
}

// GlobalID passes through to the credentials.
func (hc hookedCred) GlobalID() uint64 {
	if g, ok := hc.Credentials.(interface{ GlobalID() uint64 }); ok {
		return g.GlobalID()
	}
	return 0
}

type hookedHandler struct {
	auth.ClientHandler
	h *AuthHook
}

func (hh hookedHandler) HandleReplyMore(p []byte) ([]byte, error) {
	out, err := hh.ClientHandler.HandleReplyMore(p)
	if err != nil {
		hh.h.failed(err)
	}
	return out, err
}

func (hh hookedHandler) HandleDone(gid uint64, mode uint32, p []byte) (auth.Result, error) {
	r, err := hh.ClientHandler.HandleDone(gid, mode, p)
	if err != nil {
		hh.h.failed(err)
	}
	return r, err
}

func (hh hookedHandler) HandleBadMethod(method uint32, result int32, methods, modes []uint32) (uint32, []uint32, []byte, error) {
	m, md, p, err := hh.ClientHandler.HandleBadMethod(method, result, methods, modes)
	if err != nil {
		hh.h.failed(err)
	}
	return m, md, p, err
}

func (c *Client) authFailed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.failLocked(fmt.Errorf("%w (%w): %w", ErrAuthFailed, auth.ErrDenied, err))
}

// NewMessenger makes a client messenger for cfg's entity with the mon
// message types registered, as Dial does.
func NewMessenger(cred auth.Credentials, reg *message.Registry, opts msgr.Options) (*msgr.Messenger, error) {
	if reg == nil {
		reg = message.NewRegistry()
		if err := messages.RegisterMon(reg); err != nil {
			return nil, err
		}
	}
	var nonce [4]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	m, err := msgr.New(msgr.Config{
		Name:       encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1},
		Nonce:      binary.LittleEndian.Uint32(nonce[:]),
		Registry:   reg,
		AuthClient: func(peerType uint8) (auth.ClientHandler, error) { return cred.ClientHandler(uint32(peerType)) },
	}, opts)
	if err != nil {
		return nil, err
	}
	// Ceph's clients talk to mons over lossy connections.
	m.SetPolicy(encoding.EntityTypeMon, msgr.LossyClient(0))
	return m, nil
}

// Dial connects to the cluster cfg describes: it builds the credentials
// and a messenger, hunts for a monitor, authenticates, and returns once
// the session is open and the monmap has arrived, or when ctx ends.
func Dial(ctx context.Context, cfg *config.Config, opts Options) (*Client, error) {
	cred, err := Credentials(cfg)
	if err != nil {
		return nil, err
	}
	hook := &AuthHook{}
	mopts := opts.Messenger
	if mopts.Logger == nil {
		mopts.Logger = opts.Logger
	}
	m, err := NewMessenger(hook.Wrap(cred), opts.Registry, mopts)
	if err != nil {
		return nil, err
	}
	if err := m.Start(); err != nil {
		return nil, err
	}
	c, err := NewClient(m, cfg, cred, opts)
	if err != nil {
		m.Shutdown(context.Background())
		return nil, err
	}
	c.ownMsgr = true
	hook.Attach(c)
	m.AddDispatcherHead(c)
	if opts.Setup != nil {
		if err := opts.Setup(c); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.Start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// NewClient makes a Client on a started messenger whose auth handlers
// come from cred. Call OnOSDMap / OnConfig, then Start.
func NewClient(m *msgr.Messenger, cfg *config.Config, cred auth.Credentials, opts Options) (*Client, error) {
	all, err := cfg.Mons()
	if err != nil {
		return nil, err
	}
	// Only msgr2 addresses can be dialed (msgr1 is not implemented).
	var mons []config.Mon
	for _, m := range all {
		if m.Addrs.Msgr2().Addr.IsValid() {
			mons = append(mons, m)
		}
	}
	if len(mons) == 0 {
		return nil, fmt.Errorf("%w: no msgr2 (v2) address among %d configured monitors", config.ErrNoMonHost, len(all))
	}
	if opts.HuntInterval <= 0 {
		if d, err := cfg.Duration("mon_client_hunt_interval"); err == nil && d > 0 {
			opts.HuntInterval = d
		} else {
			opts.HuntInterval = 3 * time.Second
		}
	}
	if opts.HuntParallel <= 0 {
		opts.HuntParallel = 3
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = durationOr(cfg, "mon_client_ping_interval", 10*time.Second)
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = durationOr(cfg, "mon_client_ping_timeout", 30*time.Second)
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Client{
		m: m, cfg: cfg, cred: cred, opts: opts, log: opts.Logger,
		mons: mons, next: mrand.IntN(len(mons)), hunting: map[*msgr.Conn]bool{}, backoff: 1,
		sessionCh: make(chan struct{}), mapCh: make(chan struct{}),
		subs: map[string]messages.SubscribeItem{messages.SubMonMap: {}},
		cmds: map[uint64]*pendingCmd{}, versions: map[uint64]*pendingVersion{},
		tickStop: make(chan struct{}), tickDone: make(chan struct{}),
	}
	id, ok, err := cfg.FSID()
	if err != nil {
		return nil, err
	}
	c.fsid, c.haveFSID = id, ok
	return c, nil
}

func durationOr(cfg *config.Config, key string, d time.Duration) time.Duration {
	if v, err := cfg.Duration(key); err == nil && v > 0 {
		return v
	}
	return d
}

// OnOSDMap sets the handler of MOSDMap messages (called on the dispatch
// goroutine). Subscribe to "osdmap" to receive them.
func (c *Client) OnOSDMap(f func(*messages.MOSDMap)) {
	c.mu.Lock()
	c.onOSDMap = f
	c.mu.Unlock()
}

// OnConfig sets the handler of the configuration the mons push
// (subscription "config").
func (c *Client) OnConfig(f func(map[string]string)) {
	c.mu.Lock()
	c.onConfig = f
	c.mu.Unlock()
}

// Start hunts for a monitor and waits until a session is open and the
// first monmap has arrived, or ctx ends.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if !c.started {
		c.started = true
		go c.ticker()
	}
	c.reopenLocked()
	c.mu.Unlock()
	return c.waitMap(ctx)
}

func (c *Client) waitMap(ctx context.Context) error {
	c.mu.Lock()
	ch := c.mapCh
	c.mu.Unlock()
	select {
	case <-ch:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.fatal
	case <-ctx.Done():
		return c.failure(ctx)
	}
}

// failure explains why ctx ended before a session: the definitive error
// if any, else ErrNoMonitor with the last connection error.
func (c *Client) failure(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal != nil {
		return c.fatal
	}
	if c.closed {
		return ErrClosed
	}
	if c.lastErr != nil {
		return fmt.Errorf("%w: %w (last error: %w)", ErrNoMonitor, context.Cause(ctx), c.lastErr)
	}
	return fmt.Errorf("%w: %w", ErrNoMonitor, context.Cause(ctx))
}

// failLocked records a definitive failure and wakes every waiter.
func (c *Client) failLocked(err error) {
	if c.fatal != nil {
		return
	}
	c.fatal = err
	c.log.Warn("mon: giving up", "err", err)
	c.stopHuntingLocked()
	closeOnce(c.mapCh)
	closeOnce(c.sessionCh)
	for tid, p := range c.cmds {
		delete(c.cmds, tid)
		close(p.done)
	}
	for h, p := range c.versions {
		delete(c.versions, h)
		close(p.done)
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// reopenLocked drops the current session and hunts: it connects to up
// to HuntParallel monitors at once; the first to open a session wins
// (MonClient::_reopen_session).
func (c *Client) reopenLocked() {
	if c.closed || c.fatal != nil {
		return
	}
	if c.active != nil {
		c.active.MarkDown()
		c.active = nil
		c.sessionCh = make(chan struct{})
	}
	c.stopHuntingLocked()
	n := min(c.opts.HuntParallel, len(c.mons))
	for i := 0; i < n; i++ {
		mon := c.mons[c.next%len(c.mons)]
		c.next++
		conn, err := c.m.GetConnection(mon.Addrs, encoding.EntityTypeMon)
		if err != nil {
			c.lastErr = fmt.Errorf("mon.%s %v: %w", mon.Name, mon.Addrs, err)
			continue
		}
		c.hunting[conn] = true
		go c.watch(conn)
		// MonClient asks for the monmap first; sending it also starts the
		// connection (and its authentication).
		if err := conn.Send(&messages.MMonGetMap{}); err != nil {
			c.lastErr = err
			delete(c.hunting, conn)
		}
	}
	wait := time.Duration(float64(c.opts.HuntInterval) * c.backoff)
	c.backoff = min(c.backoff*1.5, 10)
	c.armHuntLocked(wait)
}

func (c *Client) armHuntLocked(d time.Duration) {
	if c.huntTimer != nil {
		c.huntTimer.Stop()
	}
	c.huntTimer = time.AfterFunc(d, c.huntTimeout)
}

func (c *Client) stopHuntingLocked() {
	for conn := range c.hunting {
		conn.MarkDown()
		delete(c.hunting, conn)
	}
	if c.huntTimer != nil {
		c.huntTimer.Stop()
		c.huntTimer = nil
	}
}

func (c *Client) huntTimeout() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active == nil && !c.closed && c.fatal == nil {
		c.reopenLocked()
	}
}

// HandleConnect is msgr's ms_handle_connect: the first hunting
// connection whose session opens becomes the active one.
func (c *Client) HandleConnect(conn *msgr.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hunting[conn] || c.closed || c.fatal != nil {
		return
	}
	delete(c.hunting, conn)
	c.stopHuntingLocked()
	c.active = conn
	c.sessionAt, c.lastPing = time.Now(), time.Time{}
	// MonClient names the messenger client.<global id> once it has one,
	// so that OSDs and mons tell this client's connections apart.
	if n := c.m.Name(); n.Num < 0 {
		if gid := c.GlobalID(); gid > 0 {
			c.m.SetMyName(encoding.EntityName{Type: n.Type, Num: int64(gid)})
		}
	}
	c.backoff, c.retry = 1, 0
	c.log.Debug("mon: session open", "mon", conn.PeerAddrs().String())
	c.sendSubsLocked()
	// Ceph resends what the lost session left unanswered.
	for tid, p := range c.cmds {
		c.sendCmdLocked(tid, p)
	}
	for h, p := range c.versions {
		conn.Send(&messages.MMonGetVersion{Handle: h, What: p.what})
	}
	closeOnce(c.sessionCh)
}

// watch notices a connection that closes without a reset being reported
// (a session that never opened: refused, failed authentication).
func (c *Client) watch(conn *msgr.Conn) {
	select {
	case <-conn.Done():
		c.lost(conn)
	case <-c.tickStop:
	}
}

// HandleReset is msgr's ms_handle_reset for mon connections.
func (c *Client) HandleReset(conn *msgr.Conn) bool { return c.lost(conn) }

// HandleRefused is msgr's ms_handle_refused.
func (c *Client) HandleRefused(conn *msgr.Conn) bool { return c.lost(conn) }

func (c *Client) lost(conn *msgr.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := conn.Err()
	if c.hunting[conn] {
		delete(c.hunting, conn)
		c.noteFailureLocked(conn, err)
		if len(c.hunting) == 0 && c.active == nil && c.fatal == nil && !c.closed {
			// Every candidate failed: try the next ones soon, backing off.
			c.retry = min(max(2*c.retry, 100*time.Millisecond), c.opts.HuntInterval)
			c.armHuntLocked(c.retry)
		}
		return true
	}
	if conn != c.active {
		return false
	}
	c.log.Info("mon: session reset; hunting", "mon", conn.PeerAddrs().String(), "err", err)
	c.active = nil
	c.sessionCh = make(chan struct{})
	c.noteFailureLocked(conn, err)
	c.renewing = false
	c.reopenLocked()
	return true
}

func (c *Client) noteFailureLocked(conn *msgr.Conn, err error) {
	if err == nil {
		err = msgr.ErrConnClosed
	}
	c.lastErr = fmt.Errorf("%v: %w", conn.PeerAddrs(), err)
	if errors.Is(err, msgr.ErrAuth) || errors.Is(err, auth.ErrDenied) {
		c.failLocked(fmt.Errorf("%w (%w): %w", ErrAuthFailed, auth.ErrDenied, c.lastErr))
	}
}

// Dispatch takes the messages of the active mon session.
func (c *Client) Dispatch(conn *msgr.Conn, m message.Message) bool {
	if conn.PeerType() != encoding.EntityTypeMon {
		return false
	}
	c.mu.Lock()
	if conn != c.active {
		c.mu.Unlock()
		// A hunting loser's late message, or one from before a reset.
		switch m.(type) {
		case *messages.MMonMap, *messages.MOSDMap, *messages.MConfig, *messages.MMonCommandAck,
			*messages.MMonGetVersionReply, *messages.MAuthReply, *messages.MMonSubscribeAck:
			return true
		}
		return false
	}
	switch m := m.(type) {
	case *messages.MMonMap:
		c.handleMonMapLocked(m)
		c.mu.Unlock()
	case *messages.MOSDMap:
		f := c.onOSDMap
		if s, ok := c.subs[messages.SubOSDMap]; ok {
			if s.Flags&messages.SubscribeOnetime != 0 {
				delete(c.subs, messages.SubOSDMap)
			} else if last := uint64(m.Last()); last >= s.Start {
				s.Start = last + 1
				c.subs[messages.SubOSDMap] = s
			}
		}
		c.mu.Unlock()
		if f != nil {
			f(m)
		}
	case *messages.MConfig:
		c.config = m.Config
		f := c.onConfig
		c.mu.Unlock()
		if f != nil {
			f(m.Config)
		}
	case *messages.MMonCommandAck:
		p := c.cmds[m.Tid]
		delete(c.cmds, m.Tid)
		c.mu.Unlock()
		if p != nil {
			p.done <- m
		}
	case *messages.MMonGetVersionReply:
		p := c.versions[m.Handle]
		delete(c.versions, m.Handle)
		c.mu.Unlock()
		if p != nil {
			p.done <- m
		}
	case *messages.MAuthReply:
		c.handleAuthReplyLocked(m)
		c.mu.Unlock()
	case *messages.MMonSubscribeAck:
		c.mu.Unlock()
	default:
		c.mu.Unlock()
		return false
	}
	return true
}

func (c *Client) handleMonMapLocked(m *messages.MMonMap) {
	mm, err := m.Map()
	if err != nil {
		c.log.Warn("mon: bad monmap", "err", err)
		return
	}
	if c.haveFSID && mm.FSID != c.fsid {
		c.failLocked(fmt.Errorf("%w: %s has %s, configured %s", ErrWrongFSID, c.active.PeerAddrs(), mm.FSID, c.fsid))
		return
	}
	c.monmap = mm
	c.fsid = mm.FSID
	if s, ok := c.subs[messages.SubMonMap]; ok {
		s.Start = uint64(mm.Epoch) + 1
		c.subs[messages.SubMonMap] = s
	}
	// Hunt among the monmap's mons from now on.
	var mons []config.Mon
	for _, name := range mm.Ranks {
		if mi, ok := mm.Mon(name); ok && mi.PublicAddrs.Msgr2().Addr.IsValid() {
			mons = append(mons, config.Mon{Name: name, Addrs: mi.PublicAddrs, Priority: mi.Priority, Weight: mi.Weight})
		}
	}
	if len(mons) > 0 {
		c.mons = mons
	}
	select {
	case <-c.mapCh:
	default:
		// The first monmap: commands issued before it can go now.
		for tid, p := range c.cmds {
			c.sendCmdLocked(tid, p)
		}
	}
	closeOnce(c.mapCh)
}

// sendSubsLocked sends every wanted subscription (MonClient::_renew_subs).
func (c *Client) sendSubsLocked() {
	if c.active == nil || len(c.subs) == 0 {
		return
	}
	what := make(map[string]messages.SubscribeItem, len(c.subs))
	for k, v := range c.subs {
		what[k] = v
	}
	if err := c.active.Send(&messages.MMonSubscribe{What: what, Hostname: c.opts.Hostname}); err != nil {
		c.log.Warn("mon: subscribe", "err", err)
	}
}

// Subscribe asks for map what ("osdmap", "monmap", "config", "mgrmap")
// from epoch start (0: the latest); onetime ends the subscription after
// one delivery.
func (c *Client) Subscribe(what string, start uint64, onetime bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := messages.SubscribeItem{Start: start}
	if onetime {
		it.Flags = messages.SubscribeOnetime
	}
	if old, ok := c.subs[what]; ok && old == it {
		return
	}
	c.subs[what] = it
	c.sendSubsLocked()
}

// Unsubscribe drops a subscription (the mon keeps sending until the
// session ends; Ceph has no unsubscribe message for clients).
func (c *Client) Unsubscribe(what string) {
	c.mu.Lock()
	delete(c.subs, what)
	c.mu.Unlock()
}

// MonMap returns the latest monmap (nil before the first).
func (c *Client) MonMap() *monmap.MonMap {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.monmap
}

// FSID returns the cluster's fsid (the monmap's once known).
func (c *Client) FSID() encoding.UUID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fsid
}

// Config returns the configuration the mons pushed (subscription
// "config"), or nil.
func (c *Client) Config() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config
}

// GlobalID returns the id the mon gave this client (0 before auth).
func (c *Client) GlobalID() uint64 {
	if g, ok := c.cred.(interface{ GlobalID() uint64 }); ok {
		return g.GlobalID()
	}
	return 0
}

// Messenger returns the messenger the client runs on.
func (c *Client) Messenger() *msgr.Messenger { return c.m }

// ActiveMon returns the addresses of the monitor in session, if any.
func (c *Client) ActiveMon() (encoding.EntityAddrVec, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active == nil {
		return nil, false
	}
	return c.active.PeerAddrs(), true
}

// WaitSession waits until a session with a monitor is open.
func (c *Client) WaitSession(ctx context.Context) error {
	c.mu.Lock()
	ch, fatal, closed := c.sessionCh, c.fatal, c.closed
	c.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	if closed {
		return ErrClosed
	}
	select {
	case <-ch:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.fatal
	case <-ctx.Done():
		return c.failure(ctx)
	}
}

// CommandResult is a mon command's answer.
type CommandResult struct {
	Result int32  // 0 or a negative errno
	Status string // the status text (what ceph prints on stderr)
	Data   []byte // the output
}

// Command runs a mon command given as JSON strings (usually one) with
// optional input, waiting for the answer until ctx ends. A non-zero
// result comes back both in the CommandResult and as a *ResultError.
// Commands outlive sessions: one lost with a session is sent again on the
// next, as Ceph's MonClient does.
func (c *Client) Command(ctx context.Context, cmd []string, inbuf []byte) (*CommandResult, error) {
	p := &pendingCmd{cmd: cmd, data: inbuf, done: make(chan *messages.MMonCommandAck, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.fatal != nil {
		err := c.fatal
		c.mu.Unlock()
		return nil, err
	}
	c.tid++
	tid := c.tid
	c.cmds[tid] = p
	c.sendCmdLocked(tid, p)
	c.mu.Unlock()
	select {
	case ack, ok := <-p.done:
		if !ok {
			return nil, c.closedErr()
		}
		r := &CommandResult{Result: ack.Result, Status: ack.Status, Data: ack.Data}
		if ack.Result != 0 {
			return r, &ResultError{Code: ack.Result, Status: ack.Status}
		}
		return r, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.cmds, tid)
		c.mu.Unlock()
		return nil, fmt.Errorf("mon: command %s: %w", strings.Join(cmd, " "), c.ctxErr(ctx))
	}
}

// ctxErr explains a context that ended while waiting on the mons.
func (c *Client) ctxErr(ctx context.Context) error {
	c.mu.Lock()
	active := c.active != nil
	c.mu.Unlock()
	if active {
		return context.Cause(ctx)
	}
	return c.failure(ctx)
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal != nil {
		return c.fatal
	}
	return ErrClosed
}

func (c *Client) sendCmdLocked(tid uint64, p *pendingCmd) {
	if c.active == nil || c.monmap == nil {
		// Sent when a session opens; the mon checks the command's fsid,
		// so not before the monmap says what it is.
		return
	}
	m := messages.NewMMonCommand(tid, c.fsid, p.cmd, p.data)
	if err := c.active.Send(m); err != nil {
		c.log.Warn("mon: sending a command", "err", err)
	}
}

// GetVersion asks for the newest and oldest epochs the mons have of map
// what ("osdmap", "monmap", "mgrmap").
func (c *Client) GetVersion(ctx context.Context, what string) (newest, oldest uint64, err error) {
	p := &pendingVersion{what: what, done: make(chan *messages.MMonGetVersionReply, 1)}
	c.mu.Lock()
	if c.closed || c.fatal != nil {
		c.mu.Unlock()
		return 0, 0, c.closedErr()
	}
	c.tid++
	h := c.tid
	c.versions[h] = p
	if c.active != nil {
		c.active.Send(&messages.MMonGetVersion{Handle: h, What: what})
	}
	c.mu.Unlock()
	select {
	case r, ok := <-p.done:
		if !ok {
			return 0, 0, c.closedErr()
		}
		return r.MapVersion, r.OldestVersion, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.versions, h)
		c.mu.Unlock()
		return 0, 0, fmt.Errorf("mon: get_version %s: %w", what, c.ctxErr(ctx))
	}
}

// ticker renews tickets before they expire (MonClient::tick →
// _check_auth_tickets).
func (c *Client) ticker() {
	defer close(c.tickDone)
	t := time.NewTicker(c.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-c.tickStop:
			return
		case <-t.C:
			c.tick()
		}
	}
}

func (c *Client) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active == nil || c.closed {
		return
	}
	now := time.Now()
	// MonClient::tick: keepalives, and a mon that stopped answering them
	// is left for another.
	if now.Sub(c.lastPing) >= c.opts.PingInterval {
		c.lastPing = now
		c.active.SendKeepalive()
	}
	ref := c.sessionAt
	if ack := c.active.LastKeepaliveAck(); ack.After(ref) {
		ref = ack
	}
	if now.Sub(ref) > c.opts.PingTimeout {
		c.log.Warn("mon: no keepalive answer; hunting", "mon", c.active.PeerAddrs().String(), "silent", now.Sub(ref))
		c.lastErr = fmt.Errorf("%v: %w: no keepalive answer for %v", c.active.PeerAddrs(), msgr.ErrTimeout, now.Sub(ref))
		c.renewing = false
		c.reopenLocked()
		return
	}
	// _check_auth_tickets: renew before expiry, over MAuth.
	r, ok := c.cred.(auth.Renewer)
	if !ok || c.renewing || now.Before(r.NextRenewal()) {
		return
	}
	payload, ok, err := r.RenewalRequest()
	if err != nil {
		c.log.Warn("mon: ticket renewal", "err", err)
		return
	}
	if !ok {
		return
	}
	c.renewing = true
	c.sendAuthLocked(payload)
}

func (c *Client) sendAuthLocked(payload []byte) {
	var epoch uint32
	if c.monmap != nil {
		epoch = c.monmap.Epoch
	}
	m := &messages.MAuth{Paxos: messages.ClientPaxos, Protocol: auth.MethodCephX, Payload: payload, MonMapEpoch: epoch}
	if err := c.active.Send(m); err != nil {
		c.renewing = false
		c.log.Warn("mon: sending MAuth", "err", err)
	}
}

func (c *Client) handleAuthReplyLocked(m *messages.MAuthReply) {
	r, ok := c.cred.(auth.Renewer)
	if !ok || !c.renewing {
		return
	}
	next, err := r.HandleRenewalReply(m.Result, m.ResultBL)
	if err != nil {
		c.renewing = false
		c.log.Warn("mon: ticket renewal refused", "err", err, "msg", m.ResultMsg)
		return
	}
	if next != nil {
		c.sendAuthLocked(next)
		return
	}
	c.renewing = false
	c.renewals++
	c.log.Debug("mon: tickets renewed", "next", r.NextRenewal())
}

// Close ends the session, fails what waits, and shuts down the messenger
// if the client made it.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.stopHuntingLocked()
	if c.active != nil {
		c.active.MarkDown()
		c.active = nil
	}
	for tid, p := range c.cmds {
		delete(c.cmds, tid)
		close(p.done)
	}
	for h, p := range c.versions {
		delete(c.versions, h)
		close(p.done)
	}
	closeOnce(c.mapCh)
	closeOnce(c.sessionCh)
	started := c.started
	c.mu.Unlock()
	close(c.tickStop)
	if started {
		<-c.tickDone
	}
	if c.ownMsgr {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.m.Shutdown(ctx)
	}
	return nil
}

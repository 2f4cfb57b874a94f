package mon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/monmap"
	"github.com/gomsgr/msgr/perf"
)

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
//
// Inside, the Client uses its messenger and connections through the small
// Messenger and Conn interfaces (as osdc's Objecter does), so that its
// tests can play the monitor with fakes; the exported msgr-typed methods
// hand msgr's values to them.
type Client struct {
	m       Messenger
	msgr    *msgr.Messenger // the same, when it is msgr's (nil for fakes)
	ownMsgr bool
	cfg     *config.Config
	cred    auth.Credentials
	opts    Options
	log     *slog.Logger
	perf    *perf.Logger // the "monc" section

	mu        sync.Mutex
	closed    bool
	mons      []config.Mon // candidates: the initial list, then the monmap's
	next      int          // rotation through mons
	monmap    *monmap.MonMap
	fsid      encoding.UUID
	haveFSID  bool // from the configuration
	active    Conn
	hunting   map[Conn]bool
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
	reqs      map[uint64]*pendingReq // request.go
	config    map[string]string
	onOSDMap  func(*messages.MOSDMap)
	onConfig  func(map[string]string)
	renewing  bool
	auth1     map[Conn]*auth1 // msgr1 mon connections authenticating
	renewals  int             // completed ticket renewals, for tests
	sessionAt time.Time       // when the active session opened
	lastPing  time.Time       // last keepalive sent
	started   bool
	tickStop  chan struct{}
	tickDone  chan struct{}
}

// Dispatch takes the messages of the active mon session.
func (c *Client) Dispatch(conn *msgr.Conn, m message.Message) bool {
	if conn.PeerType() != encoding.EntityTypeMon {
		return false
	}
	return c.handleMessage(conn, m)
}

// handleMessage takes a message from a mon connection.
func (c *Client) handleMessage(conn Conn, m message.Message) bool {
	c.mu.Lock()
	if a, ok := m.(*messages.MAuthReply); ok && c.hunting[conn] && conn.IsMsgr1() {
		c.handleAuth1Locked(conn, a)
		c.mu.Unlock()
		return true
	}
	if conn != c.active {
		c.mu.Unlock()
		// A hunting loser's late message, or one from before a reset.
		switch m.(type) {
		case *messages.MMonMap, *messages.MOSDMap, *messages.MConfig, *messages.MMonCommandAck,
			*messages.MMonGetVersionReply, *messages.MAuthReply, *messages.MMonSubscribeAck, messages.MonReply:
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
	case messages.MonReply:
		c.handleReplyLocked(m)
	default:
		c.mu.Unlock()
		return false
	}
	return true
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

// Messenger returns the messenger the client runs on.
func (c *Client) Messenger() *msgr.Messenger { return c.msgr }

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
	return c.waitFor(ctx, ch)
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
	c.closeReqsLocked()
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
		return c.msgr.Shutdown(ctx)
	}
	return nil
}

// GlobalID returns the id the mon gave this client (0 before auth).
func (c *Client) GlobalID() uint64 {
	if g, ok := c.cred.(interface{ GlobalID() uint64 }); ok {
		return g.GlobalID()
	}
	return 0
}

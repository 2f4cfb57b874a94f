package rados

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/asok"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/mon"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/perf"
)

// client is the Backend Connect builds, as librados' RadosClient: one
// Messenger carrying the MonClient's session and the Objecter's OSD
// sessions.
type client struct {
	m      *msgr.Messenger
	mc     *mon.Client
	o      *osdc.Objecter
	dialer *osdDialer
	cmds   *cmdClient // mgr, OSD, PG and targeted mon commands
	feed   mapFeed
	log    *slog.Logger
	asok   *asok.Server // nil unless admin_socket is set
}

func seconds(cfg *config.Config, opt string) time.Duration {
	v, _ := cfg.Get(opt)
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f <= 0 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// integer reads a count option; 0 (the Objecter's default) when unset.
func integer(cfg *config.Config, opt string) int64 {
	v, _ := cfg.Get(opt)
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// dial connects to the cluster cfg describes: mon.Dial builds the
// messenger and the MonClient's session (hearing, through its auth hook, a
// monitor refuse our credentials), and setup adds the Objecter on the same
// messenger before the hunt starts.
func dial(ctx context.Context, cfg *config.Config) (Backend, error) {
	reg := message.NewRegistry()
	if err := messages.RegisterMon(reg); err != nil {
		return nil, err
	}
	if err := messages.RegisterOSD(reg); err != nil {
		return nil, err
	}
	if err := messages.RegisterCommand(reg); err != nil {
		return nil, err
	}
	// debug_ms, debug_monc and debug_objecter set each one's log level.
	opts := msgr.Options{Logger: cfg.SubsysLogger(slog.Default(), "ms")}
	if v, ok := cfg.Get("ms_inject_socket_failures"); ok {
		opts.InjectSocketFailures, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
	}
	asokPath := asok.ConfiguredPath(cfg)
	if asokPath != "" {
		opts.Perf = perf.NewCollection()
	}
	c := &client{log: slog.Default()}
	_, err := mon.Dial(ctx, cfg, mon.Options{
		Logger:    cfg.SubsysLogger(slog.Default(), "monc"),
		Registry:  reg,
		Messenger: opts,
		Setup:     func(mc *mon.Client) error { c.setup(mc, cfg); return nil },
	})
	if err != nil {
		if c.o != nil {
			c.o.Close()
		}
		if errors.Is(err, mon.ErrAuthFailed) {
			return nil, &AuthError{Err: err}
		}
		return nil, err
	}
	// We are client.<global id> from now on, as librados renames its
	// messenger after authenticating: OSDs learn the id from our
	// CLIENT_IDENT and build each op's reqid (name, incarnation, tid) from
	// it. Two clients sharing a name would see their ops taken for
	// duplicates of each other's.
	gid := c.mc.GlobalID()
	if gid == 0 {
		c.Shutdown()
		return nil, errors.New("rados: authenticated without a global id")
	}
	c.m.SetMyName(encoding.EntityName{Type: encoding.EntityTypeClient, Num: int64(gid)})
	c.mc.Subscribe(messages.SubOSDMap, 0, false)
	if _, err := c.o.WaitForMap(ctx, 0); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("rados: waiting for the first OSDMap: %w", err)
	}
	if asokPath != "" {
		c.openAdminSocket(asokPath, cfg, opts.Perf)
	}
	return c, nil
}

// setup readies the Objecter on the MonClient's messenger, before the
// MonClient hunts: the osdmaps it receives feed the Objecter.
func (c *client) setup(mc *mon.Client, cfg *config.Config) {
	c.mc, c.m = mc, mc.Messenger()
	// Ceph's clients use lossy connections to OSDs (librados' policy).
	c.m.SetPolicy(encoding.EntityTypeOSD, msgr.LossyClient(0))
	c.m.SetPolicy(encoding.EntityTypeMgr, msgr.LossyClient(0))
	c.dialer = &osdDialer{m: c.m}
	c.o = osdc.New(c.dialer, osdc.Config{
		OpTimeout:     seconds(cfg, "rados_osd_op_timeout"),
		Tick:          seconds(cfg, "objecter_tick_interval"),
		LaggyAfter:    seconds(cfg, "objecter_timeout"),
		InflightOps:   integer(cfg, "objecter_inflight_ops"),
		InflightBytes: integer(cfg, "objecter_inflight_op_bytes"),
		RequestMap:    c.WaitForLatestOSDMap,
		Logger:        cfg.SubsysLogger(slog.Default(), "objecter"),
	})
	c.mc.OnOSDMap(func(mm *messages.MOSDMap) {
		om, err := c.feed.add(mm)
		if err != nil {
			c.log.Warn("rados: osdmap", "err", err)
			return
		}
		if om != nil {
			c.o.HandleOSDMap(om)
		}
	})
	c.cmds = newCmdClient(c.m, mc, c.o)
	// In front of the MonClient's dispatcher, which mon.Dial added.
	c.m.AddDispatcherHead(&dispatcher{o: c.o, dialer: c.dialer, cmds: c.cmds})
}

// Objecter implements Backend.
func (c *client) Objecter() *osdc.Objecter { return c.o }

// MonCommand implements Backend.
func (c *client) MonCommand(ctx context.Context, cmd, inbuf []byte) ([]byte, string, error) {
	r, err := c.mc.Command(ctx, []string{string(cmd)}, inbuf)
	var re *mon.ResultError
	if errors.As(err, &re) {
		return r.Data, r.Status, MonError(re.Code, re.Status)
	}
	if err != nil {
		return nil, "", err
	}
	return r.Data, r.Status, nil
}

// MonRequest sends the mons a request answered by tid (statfs, pool
// stats, pool ops).
func (c *client) MonRequest(ctx context.Context, build func(tid uint64, fsid encoding.UUID) message.Message) (messages.MonReply, error) {
	return c.mc.Request(ctx, build)
}

// WaitForLatestOSDMap implements Backend: it asks the monitors for the
// newest osdmap epoch and waits until the Objecter has it.
func (c *client) WaitForLatestOSDMap(ctx context.Context) error {
	newest, _, err := c.mc.GetVersion(ctx, messages.SubOSDMap)
	if err != nil {
		return err
	}
	_, err = c.o.WaitForMap(ctx, uint32(newest))
	return err
}

// FSID implements Backend.
func (c *client) FSID() string { return c.mc.FSID().String() }

// InstanceID implements Backend.
func (c *client) InstanceID() uint64 { return c.mc.GlobalID() }

// Shutdown implements Backend.
func (c *client) Shutdown() {
	if c.asok != nil {
		c.asok.Close()
	}
	if c.cmds != nil {
		c.cmds.close()
	}
	if c.o != nil {
		c.o.Close()
	}
	// The MonClient owns the messenger (mon.Dial made it) and shuts it down.
	if err := c.mc.Close(); err != nil {
		c.log.Warn("rados: messenger shutdown", "err", err)
	}
}

// osdConn is an OSD connection as the Objecter sees it.
type osdConn struct {
	c *msgr.Conn
	d *osdDialer
}

func (o osdConn) Send(m message.Message) error { return o.c.Send(m) }

// PostRxBuffer and RevokeRxBuffer let the Objecter have a read's reply
// data land in the caller's buffer (osdc.RxPoster).
func (o osdConn) PostRxBuffer(tid uint64, typ uint16, b *message.RxBuffer) {
	o.c.PostRxBuffer(tid, typ, b)
}

func (o osdConn) RevokeRxBuffer(tid uint64, b *message.RxBuffer) bool {
	return o.c.RevokeRxBuffer(tid, b)
}

// DetachData lets the Objecter hand a request's data back to the caller
// while a send of it may still wait in the connection (osdc.Detacher).
func (o osdConn) DetachData(bufs [][]byte, done func()) { o.c.DetachData(bufs, done) }

// SendKeepalive lets the Objecter probe a session with laggy ops.
func (o osdConn) SendKeepalive() error { return o.c.SendKeepalive() }

// Close marks the connection down and remembers it until it has closed:
// msgr's GetConnection returns a connection to the same address until then,
// and a message sent on it would be dropped without a reset.
func (o osdConn) Close() {
	if _, dup := o.d.closing.LoadOrStore(o.c, struct{}{}); !dup {
		go func() {
			<-o.c.Done()
			o.d.closing.Delete(o.c)
		}()
	}
	o.c.MarkDown()
}

// errConnClosing: the only connection to the OSD is still closing; the
// Objecter parks the op and dials again shortly.
var errConnClosing = errors.New("rados: the OSD's previous connection is still closing")

type osdDialer struct {
	m       *msgr.Messenger
	closing sync.Map // *msgr.Conn marked down and not yet closed
}

func (d *osdDialer) DialOSD(_ int32, addrs encoding.EntityAddrVec) (osdc.Conn, error) {
	c, err := d.m.GetConnection(addrs, encoding.EntityTypeOSD)
	if err != nil {
		return nil, err
	}
	if _, ok := d.closing.Load(c); ok {
		return nil, errConnClosing
	}
	return osdConn{c, d}, nil
}

// conn wraps a connection the messenger hands us.
func (d *osdDialer) conn(c *msgr.Conn) osdConn { return osdConn{c, d} }

// dispatcher hands what OSDs send to the Objecter. Op replies and
// backoffs are taken on the connection's event loop, as Ceph's Objecter
// fast dispatches them: handling one only takes a lock and wakes a waiter.
type dispatcher struct {
	o      *osdc.Objecter
	dialer *osdDialer
	cmds   *cmdClient
}

func (d *dispatcher) CanFastDispatch(m message.Message) bool {
	switch m.(type) {
	case *messages.MOSDOpReply, *messages.MOSDBackoff:
		return true
	}
	return false
}

func (d *dispatcher) FastDispatch(c *msgr.Conn, m message.Message) {
	d.o.HandleMessage(d.dialer.conn(c), m)
}

func (d *dispatcher) Dispatch(c *msgr.Conn, m message.Message) bool {
	switch m := m.(type) {
	case *messages.MCommandReply:
		return d.cmds.handleReply(m.Tid, commandReply{r: m.Result, status: m.Status, data: m.Data})
	case *messages.MMgrMap:
		d.cmds.handleMgrMap(m)
		return true
	case *messages.MPing:
		d.cmds.handlePing(c, m)
		return true
	}
	if c.PeerType() != encoding.EntityTypeOSD {
		return false
	}
	return d.o.HandleMessage(d.dialer.conn(c), m)
}

func (d *dispatcher) HandleReset(c *msgr.Conn) bool {
	d.cmds.handleReset(c) // not consumed: the Objecter or MonClient may own c too
	if c.PeerType() != encoding.EntityTypeOSD {
		return false
	}
	d.o.HandleReset(d.dialer.conn(c))
	return true
}

package rados

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdmap"
)

// client is the Backend Connect builds, as librados' RadosClient: one
// Messenger carrying the monitor session and the Objecter's OSD sessions.
type client struct {
	m      *msgr.Messenger
	o      *osdc.Objecter
	dialer *osdDialer
	mon    *monSession
	cred   auth.Credentials
	log    *slog.Logger
}

// credentials builds the auth method the configuration asks for:
// cephx with the entity's key from the keyring, or none.
func credentials(cfg *config.Config) (auth.Credentials, error) {
	name, err := auth.ParseEntityName(cfg.Name)
	if err != nil {
		return nil, err
	}
	monModes, err := modes(cfg, "ms_mon_client_mode")
	if err != nil {
		return nil, err
	}
	osdModes, err := modes(cfg, "ms_client_mode")
	if err != nil {
		return nil, err
	}
	methods, _ := cfg.Get("auth_client_required")
	if !strings.Contains(methods, "cephx") {
		return &auth.NoneSession{Name: name, MonModes: monModes, Modes: osdModes}, nil
	}
	var kr *auth.Keyring
	var lastErr error
	paths, _ := cfg.Get("keyring")
	for _, p := range config.SplitList(cfg.Expand(paths)) {
		if kr, lastErr = auth.LoadKeyring(p); lastErr == nil {
			break
		}
	}
	if kr == nil {
		return nil, fmt.Errorf("rados: no keyring for %s (keyring = %q): %w", cfg.Name, paths, lastErr)
	}
	key, err := kr.Key(name)
	if err != nil {
		return nil, fmt.Errorf("rados: keyring: %w", err)
	}
	return cephx.NewSession(cephx.Config{Name: name, Key: key, MonModes: monModes, Modes: osdModes})
}

// modes reads an ms_*_mode option ("crc secure") as auth modes.
func modes(cfg *config.Config, opt string) ([]uint32, error) {
	v, _ := cfg.Get(opt)
	var out []uint32
	for _, m := range config.SplitList(v) {
		switch m {
		case "crc":
			out = append(out, auth.ModeCRC)
		case "secure":
			out = append(out, auth.ModeSecure)
		default:
			return nil, fmt.Errorf("%w: %s = %q", ErrInvalidInput, opt, v)
		}
	}
	return out, nil
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

// dial connects to the cluster cfg describes.
func dial(ctx context.Context, cfg *config.Config) (Backend, error) {
	mons, err := cfg.Mons()
	if err != nil {
		return nil, err
	}
	if len(mons) == 0 {
		return nil, fmt.Errorf("rados: %w", config.ErrNoConfig)
	}
	cred, err := credentials(cfg)
	if err != nil {
		return nil, err
	}
	reg := message.NewRegistry()
	if err := messages.RegisterMon(reg); err != nil {
		return nil, err
	}
	if err := messages.RegisterOSD(reg); err != nil {
		return nil, err
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	opts := msgr.Options{}
	if v, ok := cfg.Get("ms_inject_socket_failures"); ok {
		opts.InjectSocketFailures, _ = strconv.ParseUint(strings.TrimSpace(v), 10, 64)
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
	// Ceph's clients use lossy connections to both (librados' policy).
	m.SetPolicy(encoding.EntityTypeMon, msgr.LossyClient(0))
	m.SetPolicy(encoding.EntityTypeOSD, msgr.LossyClient(0))
	if err := m.Start(); err != nil {
		return nil, err
	}
	c := &client{m: m, cred: cred, log: slog.Default()}
	c.mon = newMonSession(m, mons, cfg)
	c.dialer = &osdDialer{m: m}
	c.o = osdc.New(c.dialer, osdc.Config{
		OpTimeout:     seconds(cfg, "rados_osd_op_timeout"),
		InflightOps:   integer(cfg, "objecter_inflight_ops"),
		InflightBytes: integer(cfg, "objecter_inflight_op_bytes"),
		RequestMap:    c.WaitForLatestOSDMap,
	})
	c.mon.onMap = c.o.HandleOSDMap
	m.AddDispatcherHead(&dispatcher{c: c})
	if err := c.mon.start(ctx); err != nil {
		c.Shutdown()
		return nil, err
	}
	// We are client.<global id> from now on, as librados renames its
	// messenger after authenticating: OSDs learn the id from our
	// CLIENT_IDENT and build each op's reqid (name, incarnation, tid) from
	// it. Two clients sharing a name would see their ops taken for
	// duplicates of each other's.
	gid := c.InstanceID()
	if gid == 0 {
		c.Shutdown()
		return nil, fmt.Errorf("rados: authenticated without a global id")
	}
	m.SetMyName(encoding.EntityName{Type: encoding.EntityTypeClient, Num: int64(gid)})
	if _, err := c.o.WaitForMap(ctx, 0); err != nil {
		c.Shutdown()
		return nil, fmt.Errorf("rados: waiting for the first OSDMap: %w", err)
	}
	return c, nil
}

// Objecter implements Backend.
func (c *client) Objecter() *osdc.Objecter { return c.o }

// MonCommand implements Backend.
func (c *client) MonCommand(ctx context.Context, cmd, inbuf []byte) ([]byte, string, error) {
	return c.mon.command(ctx, cmd, inbuf)
}

// WaitForLatestOSDMap implements Backend: it asks the monitor for the
// newest osdmap epoch and waits until the Objecter has it.
func (c *client) WaitForLatestOSDMap(ctx context.Context) error {
	newest, err := c.mon.newestOSDMap(ctx)
	if err != nil {
		return err
	}
	_, err = c.o.WaitForMap(ctx, newest)
	return err
}

// FSID implements Backend.
func (c *client) FSID() string { return c.mon.fsidString() }

// InstanceID implements Backend.
func (c *client) InstanceID() uint64 {
	type globalIDer interface{ GlobalID() uint64 }
	if g, ok := c.cred.(globalIDer); ok {
		return g.GlobalID()
	}
	return 0
}

// Shutdown implements Backend.
func (c *client) Shutdown() {
	c.o.Close()
	c.mon.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.m.Shutdown(ctx); err != nil {
		c.log.Warn("rados: messenger shutdown", "err", err)
	}
}

// osdConn is an OSD connection as the Objecter sees it.
type osdConn struct {
	c *msgr.Conn
	d *osdDialer
}

func (o osdConn) Send(m message.Message) error { return o.c.Send(m) }

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

// dispatcher routes what the messenger receives: OSD replies and backoffs
// to the Objecter (on the connection's event loop, as Ceph's Objecter fast
// dispatches them: it only takes a lock and wakes a waiter), monitor
// messages to the monitor session.
type dispatcher struct{ c *client }

func (d *dispatcher) CanFastDispatch(m message.Message) bool {
	switch m.(type) {
	case *messages.MOSDOpReply, *messages.MOSDBackoff:
		return true
	}
	return false
}

func (d *dispatcher) FastDispatch(c *msgr.Conn, m message.Message) {
	d.c.o.HandleMessage(d.c.dialer.conn(c), m)
}

func (d *dispatcher) Dispatch(c *msgr.Conn, m message.Message) bool {
	if c.PeerType() == encoding.EntityTypeOSD {
		return d.c.o.HandleMessage(d.c.dialer.conn(c), m)
	}
	if c.PeerType() == encoding.EntityTypeMon {
		return d.c.mon.handle(c, m)
	}
	return false
}

func (d *dispatcher) HandleReset(c *msgr.Conn) bool {
	switch c.PeerType() {
	case encoding.EntityTypeOSD:
		d.c.o.HandleReset(d.c.dialer.conn(c))
		return true
	case encoding.EntityTypeMon:
		d.c.mon.handleReset(c)
		return true
	}
	return false
}

// monSession is the little of MonClient that librados' data path needs:
// one monitor connection (reopened, rotating over the known monitors, when
// it resets), the osdmap subscription feeding the Objecter, mon commands,
// and the newest-version query.
type monSession struct {
	m     *msgr.Messenger
	mons  []config.Mon
	onMap func(*osdmap.OSDMap)
	feed  mapFeed
	fsid  encoding.UUID

	mu       sync.Mutex
	conn     *msgr.Conn
	next     int // index in mons of the next one to try
	tid      uint64
	cmds     map[uint64]chan *messages.MMonCommandAck
	versions map[uint64]chan uint64
	subFrom  uint64 // osdmap epoch to subscribe from
	closed   bool
	ready    chan struct{} // closed at the first MOSDMap
	readyOne sync.Once
}

func newMonSession(m *msgr.Messenger, mons []config.Mon, cfg *config.Config) *monSession {
	s := &monSession{m: m, mons: mons, cmds: map[uint64]chan *messages.MMonCommandAck{},
		versions: map[uint64]chan uint64{}, ready: make(chan struct{})}
	if id, ok, err := cfg.FSID(); ok && err == nil {
		s.fsid = id
	}
	return s
}

func (s *monSession) fsidString() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fsid.String()
}

// start opens the session and waits for the first map.
func (s *monSession) start(ctx context.Context) error {
	s.mu.Lock()
	err := s.openLocked()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rados: connecting to the monitors: %w", context.Cause(ctx))
	}
}

// openLocked connects to the next monitor and (re)subscribes.
func (s *monSession) openLocked() error {
	if s.closed {
		return ErrShutdown
	}
	mon := s.mons[s.next%len(s.mons)]
	s.next++
	c, err := s.m.GetConnection(mon.Addrs, encoding.EntityTypeMon)
	if err != nil {
		return err
	}
	s.conn = c
	sub := &messages.MMonSubscribe{What: map[string]messages.SubscribeItem{
		messages.SubMonMap: {Start: 0},
		messages.SubOSDMap: {Start: s.subFrom},
	}}
	if err := c.Send(sub); err != nil {
		return err
	}
	// Version queries in flight went with the old connection: ask again.
	// (Commands are failed by handleReset: resending one could run it
	// twice.)
	for h := range s.versions {
		c.Send(&messages.MMonGetVersion{Handle: h, What: messages.SubOSDMap})
	}
	return nil
}

func (s *monSession) handleReset(c *msgr.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c != s.conn || s.closed {
		return
	}
	for tid, ch := range s.cmds {
		ch <- &messages.MMonCommandAck{Tid: tid, Result: -int32(108), Status: "monitor connection reset"}
		delete(s.cmds, tid)
	}
	if err := s.openLocked(); err != nil {
		slog.Default().Warn("rados: reconnecting to a monitor", "err", err)
	}
}

func (s *monSession) handle(c *msgr.Conn, m message.Message) bool {
	switch m := m.(type) {
	case *messages.MOSDMap:
		om, err := s.feed.add(m)
		if err != nil {
			slog.Default().Warn("rados: osdmap", "err", err)
			return true
		}
		if om != nil {
			s.mu.Lock()
			s.subFrom = uint64(om.Epoch) + 1
			s.fsid = om.FSID
			s.mu.Unlock()
			s.onMap(om)
			s.readyOne.Do(func() { close(s.ready) })
		}
		return true
	case *messages.MMonCommandAck:
		s.mu.Lock()
		ch := s.cmds[m.Tid]
		delete(s.cmds, m.Tid)
		s.mu.Unlock()
		if ch != nil {
			ch <- m
		}
		return true
	case *messages.MMonGetVersionReply:
		s.mu.Lock()
		ch := s.versions[m.Handle]
		delete(s.versions, m.Handle)
		s.mu.Unlock()
		if ch != nil {
			ch <- m.MapVersion
		}
		return true
	case *messages.MMonMap, *messages.MMonSubscribeAck, *messages.MConfig:
		return true
	}
	return false
}

func (s *monSession) command(ctx context.Context, cmd, inbuf []byte) ([]byte, string, error) {
	ch := make(chan *messages.MMonCommandAck, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, "", ErrShutdown
	}
	s.tid++
	tid := s.tid
	s.cmds[tid] = ch
	err := s.conn.Send(messages.NewMMonCommand(tid, s.fsid, []string{string(cmd)}, inbuf))
	s.mu.Unlock()
	if err != nil {
		return nil, "", err
	}
	select {
	case ack := <-ch:
		return ack.Data, ack.Status, MonError(ack.Result, ack.Status)
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.cmds, tid)
		s.mu.Unlock()
		return nil, "", context.Cause(ctx)
	}
}

func (s *monSession) newestOSDMap(ctx context.Context) (uint32, error) {
	ch := make(chan uint64, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrShutdown
	}
	s.tid++
	h := s.tid
	s.versions[h] = ch
	err := s.conn.Send(&messages.MMonGetVersion{Handle: h, What: messages.SubOSDMap})
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	select {
	case v := <-ch:
		return uint32(v), nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.versions, h)
		s.mu.Unlock()
		return 0, context.Cause(ctx)
	}
}

func (s *monSession) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for tid, ch := range s.cmds {
		ch <- &messages.MMonCommandAck{Tid: tid, Result: -int32(108), Status: "shut down"}
		delete(s.cmds, tid)
	}
	if s.conn != nil {
		s.conn.MarkDown()
	}
}

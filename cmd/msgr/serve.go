package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/asok"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/cmd/msgr/internal/bench"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/perf"
)

func init() {
	register("serve", "a msgr2 server posing as a mon: logs the connections and messages of real Ceph clients", runServe)
}

const serveUsage = `usage: msgr serve [-c CONF] [--addr IP:PORT] [--auth none|cephx|"cephx none"] [-k KEYRING]
                  [--mode crc|secure|"secure crc"] [--name mon.a] [-v]
Listens (msgr2, or msgr1 with --addr v1:...) as entity NAME, a mon by default, so that the ceph CLI and librados
clients given -m v2:IP:PORT reach it. It authenticates them as a mon does: auth none,
or cephx with the keys and caps of KEYRING (which plays the mon's auth database), in the
connection modes allowed. It logs every connection, the entity that authenticated and
each message dispatched, and prints one line per message on stdout:
  msg peer=client.? addr=any:127.0.0.1:0/2581 entity=client.admin global_id=4096 seq=1 type=5 name=MON_GET_MAP len=0 front=0 middle=0 data=0 tid=0 prio=127
(peer and addr are what the client sent in CLIENT_IDENT: the ceph CLI is client.? until a
mon names it; entity and global_id are who authenticated on the connection; seq, tid and
prio come from the message header.)
It answers only cephx ticket renewals (MAuth), through the connection's cephx handler as a
mon does; a client waiting for a monmap eventually times out.
Options (a flag beats ceph.conf; without -c, Ceph's defaults apply):
  -c, --conf CONF      read ceph.conf: auth_supported / auth_service_required (clients) and
                       auth_cluster_required (mons, mgrs), ms_mon_service_mode (clients) and
                       ms_mon_cluster_mode (mons, mgrs), keyring, from NAME's sections
  --addr [v2:|v1:]IP:PORT  the address to listen on (default 127.0.0.1:3300; port 0: any);
                       v1: speaks msgr1 ("ceph v027"), over which clients authenticate to
                       a mon in MAuth messages, answered here as a mon does
  --auth METHODS       the auth methods allowed, in order, for every peer
  -k, --keyring PATH   the keyring (cephx); default: the keyring option
  --mode MODES         the connection modes allowed, for every peer (auth none: crc only)
  -n, --name NAME      this entity (default mon.a); cephx needs a mon
  --admin-socket PATH  serve "ceph daemon PATH perf dump", config show, dump_connections (or admin_socket in ceph.conf)
  -v                   debug logs, the messenger's included
Stops on SIGINT or SIGTERM.`

// serveConfig is what a server is made from: the flags and ceph.conf,
// resolved.
type serveConfig struct {
	name  encoding.EntityName // ourselves
	addr  netip.AddrPort
	msgr1 bool // listen for msgr1 ("ceph v027") instead of msgr2
	// Methods and modes allowed for client-like peers (Ceph's "service"
	// lists) and for mons and mgrs (the "cluster" lists).
	serviceMethods, clusterMethods []uint32
	serviceModes, clusterModes     []uint32
	keyring                        *auth.Keyring // nil unless cephx is allowed
	// cfg is the configuration read; asok the admin socket's path
	// (--admin-socket or admin_socket; "" for none).
	cfg  *config.Config
	asok string
}

// serveFlags are msgr serve's command line.
type serveFlags struct {
	conf, addr, auth, keyring, mode, name string
	adminSocket                           string
	verbose                               bool
}

func parseServeArgs(args []string) (serveFlags, error) {
	var f serveFlags
	fs := flag.NewFlagSet("msgr serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.conf, "c", "", "")
	fs.StringVar(&f.conf, "conf", "", "")
	fs.StringVar(&f.addr, "addr", "", "")
	fs.StringVar(&f.auth, "auth", "", "")
	fs.StringVar(&f.keyring, "k", "", "")
	fs.StringVar(&f.keyring, "keyring", "", "")
	fs.StringVar(&f.mode, "mode", "", "")
	fs.StringVar(&f.name, "n", "mon.a", "")
	fs.StringVar(&f.name, "name", "mon.a", "")
	fs.BoolVar(&f.verbose, "v", false, "")
	fs.StringVar(&f.adminSocket, "admin-socket", "", "")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// resolveServe turns the flags and the ceph.conf they name into a
// serveConfig, as a Ceph mon reads its options.
func resolveServe(f serveFlags) (serveConfig, error) {
	var sc serveConfig
	an, err := auth.ParseEntityName(f.name)
	if err != nil {
		return sc, fmt.Errorf("--name %q: %w", f.name, err)
	}
	sc.name = encoding.EntityName{Type: uint8(an.Type)}
	// A mon's number is its rank; names like mon.a have none, so 0 (the
	// rank of a single mon). Numeric ids (osd.3) are the number.
	if n, err := strconv.ParseInt(an.ID, 10, 64); err == nil && n >= 0 {
		sc.name.Num = n
	}

	file := config.NewFile()
	if f.conf != "" {
		if file, err = config.ReadFile(f.conf); err != nil {
			return sc, err
		}
	}
	cfg := config.New(file, an.String())
	if f.auth != "" {
		// auth_supported beats the *_required options, as in Ceph.
		cfg.Set("auth_supported", f.auth)
	}
	if f.mode != "" {
		cfg.Set("ms_mon_service_mode", f.mode)
		cfg.Set("ms_mon_cluster_mode", f.mode)
	}
	if f.keyring != "" {
		cfg.Set("keyring", f.keyring)
	}
	if f.adminSocket != "" {
		cfg.Set("admin_socket", f.adminSocket)
	}
	sc.cfg, sc.asok = cfg, asok.ConfiguredPath(cfg)

	addr := f.addr
	if addr == "" {
		addr = "127.0.0.1:3300"
	}
	// The form -m takes is accepted too: v2: (the default) or v1:, the
	// protocol the server speaks.
	if strings.HasPrefix(addr, "v1:") {
		sc.msgr1 = true
	}
	if sc.addr, err = netip.ParseAddrPort(strings.TrimPrefix(strings.TrimPrefix(addr, "v1:"), "v2:")); err != nil {
		return sc, fmt.Errorf("--addr %q: %w", addr, err)
	}

	methods := func(key string) ([]uint32, error) {
		v, _ := cfg.Get("auth_supported")
		if strings.TrimSpace(v) == "" {
			v, _ = cfg.Get(key)
		}
		var out []uint32
		for _, w := range config.SplitList(v) {
			var m uint32
			switch w {
			case "none":
				m = auth.MethodNone
			case "cephx":
				m = auth.MethodCephX
			default:
				return nil, fmt.Errorf("%w: %s: unknown auth method %q", config.ErrBadValue, key, w)
			}
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: %s: no auth method", config.ErrBadValue, key)
		}
		return out, nil
	}
	modes := func(key string) ([]uint32, error) {
		m, err := cfg.Modes(key)
		if err == nil && len(m) == 0 {
			err = fmt.Errorf("%w: %s: no connection mode", config.ErrBadValue, key)
		}
		return m, err
	}
	if sc.serviceMethods, err = methods("auth_service_required"); err != nil {
		return sc, err
	}
	if sc.clusterMethods, err = methods("auth_cluster_required"); err != nil {
		return sc, err
	}
	if sc.serviceModes, err = modes("ms_mon_service_mode"); err != nil {
		return sc, err
	}
	if sc.clusterModes, err = modes("ms_mon_cluster_mode"); err != nil {
		return sc, err
	}
	for _, p := range []struct {
		methods, modes []uint32
	}{{sc.serviceMethods, sc.serviceModes}, {sc.clusterMethods, sc.clusterModes}} {
		if slices.Equal(p.methods, []uint32{auth.MethodNone}) && !slices.Contains(p.modes, auth.ModeCRC) {
			return sc, fmt.Errorf("%w: auth none allows crc mode only, and the modes are %s", config.ErrBadValue, modeNames(p.modes))
		}
	}

	if slices.Contains(sc.serviceMethods, auth.MethodCephX) || slices.Contains(sc.clusterMethods, auth.MethodCephX) {
		if sc.name.Type != encoding.EntityTypeMon {
			return sc, fmt.Errorf("cephx: %s cannot authenticate clients; only a mon can (use --name mon.X or --auth none)", an)
		}
		paths, _ := cfg.Get("keyring")
		ko := auth.KeyOptions{Cluster: cfg.Cluster, Name: an, Keyring: paths}
		if sc.keyring, err = ko.Load(); err != nil {
			return sc, fmt.Errorf("cephx needs a keyring (-k): %w", err)
		}
		if len(sc.keyring.Names()) == 0 {
			return sc, fmt.Errorf("cephx: the keyring has no entity")
		}
	}
	return sc, nil
}

func modeNames(modes []uint32) string {
	var s []string
	for _, m := range modes {
		s = append(s, modeName(m))
	}
	return strings.Join(s, " ")
}

func modeName(m uint32) string {
	switch m {
	case auth.ModeCRC:
		return "crc"
	case auth.ModeSecure:
		return "secure"
	}
	return "mode" + strconv.FormatUint(uint64(m), 10)
}

func methodName(m uint32) string {
	switch m {
	case auth.MethodNone:
		return "none"
	case auth.MethodCephX:
		return "cephx"
	}
	return "method" + strconv.FormatUint(uint64(m), 10)
}

// msgNames names the message types a mon sees from clients.
var msgNames = map[uint16]string{
	messages.TypeMonMap:             "MON_MAP",
	messages.TypeMonGetMap:          "MON_GET_MAP",
	messages.TypeMonSubscribe:       "MON_SUBSCRIBE",
	messages.TypeMonSubscribeAck:    "MON_SUBSCRIBE_ACK",
	messages.TypeAuth:               "AUTH",
	messages.TypeAuthReply:          "AUTH_REPLY",
	messages.TypeMonGetVersion:      "MON_GET_VERSION",
	messages.TypeMonGetVersionReply: "MON_GET_VERSION_REPLY",
	messages.TypeOSDMap:             "OSD_MAP",
	messages.TypeOSDOp:              "OSD_OP",
	messages.TypeOSDOpReply:         "OSD_OPREPLY",
	messages.TypeMonCommand:         "MON_COMMAND",
	messages.TypeMonCommandAck:      "MON_COMMAND_ACK",
	messages.TypeOSDBackoff:         "OSD_BACKOFF",
	messages.TypeConfig:             "CONFIG",
}

func msgName(t uint16) string {
	if n, ok := msgNames[t]; ok {
		return n
	}
	return "UNKNOWN"
}

// authEvent is the outcome of one authentication exchange (one
// AUTH_REQUEST and what followed), as the server's handler saw it.
type authEvent struct {
	PeerType uint8  // from HELLO
	Method   uint32 // the client's method
	// Set when the exchange finished.
	Done     bool
	Entity   string // the authenticated principal, "client.admin"
	GlobalID uint64
	Mode     uint32
	// Err is the refusal (matching auth.ErrDenied) or another failure.
	Err error
}

// server is msgr serve: a Messenger with a logging dispatcher and the
// mon side of the auth methods allowed.
type server struct {
	m     *msgr.Messenger
	log   *slog.Logger
	out   io.Writer
	outMu sync.Mutex
	hooks serveHooks

	gids     *auth.GlobalIDs
	cephxSvc *cephx.Server // for clients; nil without cephx
	cephxCl  *cephx.Server // for mons and mgrs; nil without cephx
	sc       serveConfig
	asok     *asok.Server // nil without an admin socket
}

// serveHooks let tests observe the server; nil fields are skipped.
type serveHooks struct {
	// onAuth hears every authentication outcome, on the connection's
	// event loop: it must not block.
	onAuth func(authEvent)
	// onMessage hears every message once its line is printed, on the
	// dispatch goroutine.
	onMessage func(c *msgr.Conn, h message.Header)
}

// startServer makes, binds and starts the messenger; it accepts once
// it returns.
func startServer(ctx context.Context, sc serveConfig, log *slog.Logger, msgrLog *slog.Logger, out io.Writer, hooks serveHooks) (*server, error) {
	s := &server{log: log, out: out, hooks: hooks, gids: auth.NewGlobalIDs(4096), sc: sc}
	if sc.keyring != nil {
		var err error
		s.cephxSvc, err = cephx.NewServer(cephx.ServerConfig{Keyring: sc.keyring, GlobalIDs: s.gids, Modes: sc.serviceModes})
		if err != nil {
			return nil, err
		}
		s.cephxCl, err = cephx.NewServer(cephx.ServerConfig{Keyring: sc.keyring, GlobalIDs: s.gids, Modes: sc.clusterModes, Secrets: s.cephxSvc.Secrets()})
		if err != nil {
			return nil, err
		}
	}
	// Mons use nonce 0 (their addresses in the monmap have none); other
	// daemons a random one.
	var nonce uint32
	if sc.name.Type != encoding.EntityTypeMon {
		nonce = rand.Uint32() | 1
	}
	// MAuth decodes, for ticket renewals; every other type stays raw.
	reg := message.NewRegistry()
	if err := reg.Register(messages.TypeAuth, func() message.Message { return &messages.MAuth{} }); err != nil {
		return nil, err
	}
	var coll *perf.Collection
	if sc.asok != "" {
		coll = perf.NewCollection()
	}
	m, err := msgr.New(msgr.Config{Name: sc.name, Nonce: nonce, AuthServer: s.authServer, Registry: reg}, msgr.Options{Logger: msgrLog, NoMsgr2: sc.msgr1, Perf: coll})
	if err != nil {
		return nil, err
	}
	s.m = m
	// A mon's policies (Monitor::Monitor): stateless toward clients and
	// services, lossless with reset detection toward other mons.
	m.SetDefaultPolicy(msgr.StatelessServer(0))
	m.SetPolicy(encoding.EntityTypeMon, msgr.LosslessPeerReuse(0))
	if err := m.Bind(ctx, sc.addr); err != nil {
		_ = m.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	if err := m.Start(); err != nil {
		_ = m.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	m.AddDispatcherTail(serveDispatcher{s})
	if sc.asok != "" {
		cmds := append(asok.ConfigCommands(sc.cfg), m.AdminCommands()...)
		if s.asok, err = asok.Listen(sc.asok, asok.Options{Perf: coll, Logger: log, Commands: cmds}); err != nil {
			_ = m.Shutdown(context.WithoutCancel(ctx))
			return nil, err
		}
		log.Info("admin socket", "path", sc.asok)
	}
	log.Info("listening", "entity", sc.name, "addrs", m.Addrs(),
		"client_auth", methodList(sc.serviceMethods), "client_modes", modeNames(sc.serviceModes),
		"cluster_auth", methodList(sc.clusterMethods), "cluster_modes", modeNames(sc.clusterModes))
	return s, nil
}

func methodList(ms []uint32) string {
	var s []string
	for _, m := range ms {
		s = append(s, methodName(m))
	}
	return strings.Join(s, " ")
}

// Addr is where the server listens.
func (s *server) Addr() encoding.EntityAddrVec { return s.m.Addrs() }

// Close shuts the messenger down and waits until ctx ends for it.
func (s *server) Close(ctx context.Context) error {
	if s.asok != nil {
		s.asok.Close()
	}
	return s.m.Shutdown(ctx)
}

// authServer is the messenger's AuthServer: one handler per connection,
// for the methods and modes allowed to peers of that type (Ceph's
// AuthRegistry for a mon: mons and mgrs get the cluster lists, everyone
// else the service lists).
func (s *server) authServer(peerType uint8) (auth.ServerHandler, error) {
	h := &serveAuth{s: s, peerType: peerType, methods: s.sc.serviceMethods, modes: s.sc.serviceModes, cx: s.cephxSvc}
	if peerType == encoding.EntityTypeMon || peerType == encoding.EntityTypeMgr {
		h.methods, h.modes, h.cx = s.sc.clusterMethods, s.sc.clusterModes, s.cephxCl
	}
	s.log.Info("connection", "peer_type", encoding.EntityTypeName(peerType), "auth", methodList(h.methods), "modes", modeNames(h.modes))
	return h, nil
}

// serveAuth is one connection's auth.ServerHandler: it runs the method
// the client asks for, if allowed, and reports the outcome.
type serveAuth struct {
	s        *server
	peerType uint8
	methods  []uint32
	modes    []uint32
	cx       *cephx.Server
	method   uint32
	cur      auth.ServerHandler
}

// HandleRequest implements auth.ServerHandler. Every AUTH_REQUEST starts
// over: after a refusal the client may try again on the same socket.
func (h *serveAuth) HandleRequest(method uint32, preferred []uint32, payload []byte) (auth.ServerReply, error) {
	h.method, h.cur = method, nil
	if !slices.Contains(h.methods, method) {
		return h.report(auth.ServerReply{}, &auth.BadMethodError{
			Method: method, Result: -auth.EOPNOTSUPP, AllowedMethods: h.methods, AllowedModes: h.modes,
		})
	}
	switch method {
	case auth.MethodNone:
		// Ceph lets method none use crc only (AuthRegistry::get_supported_modes).
		var modes []uint32
		if slices.Contains(h.modes, auth.ModeCRC) {
			modes = []uint32{auth.ModeCRC}
		} else {
			return h.report(auth.ServerReply{}, &auth.BadMethodError{
				Method: method, Result: -auth.EOPNOTSUPP, AllowedMethods: h.methods, AllowedModes: h.modes,
			})
		}
		h.cur = &auth.NoneServer{Mon: h.s.sc.name.Type == encoding.EntityTypeMon, GlobalIDs: h.s.gids, AllowedModes: modes}
	case auth.MethodCephX:
		h.cur = h.cx.Handler()
	}
	rep, err := h.cur.HandleRequest(method, preferred, payload)
	return h.report(rep, err)
}

// HandleRequestMore implements auth.ServerHandler.
func (h *serveAuth) HandleRequestMore(payload []byte) (auth.ServerReply, error) {
	if h.cur == nil {
		return h.report(auth.ServerReply{}, fmt.Errorf("%w: AUTH_REQUEST_MORE before AUTH_REQUEST", auth.ErrUnexpected))
	}
	rep, err := h.cur.HandleRequestMore(payload)
	return h.report(rep, err)
}

// report logs the end of an exchange (done or refused), tells onAuth,
// and passes the handler's answer through.
func (h *serveAuth) report(rep auth.ServerReply, err error) (auth.ServerReply, error) {
	if err == nil && !rep.Done {
		return rep, nil
	}
	ev := authEvent{PeerType: h.peerType, Method: h.method, Err: err}
	if err != nil {
		var bm *auth.BadMethodError
		cause := ""
		if errors.As(err, &bm) {
			cause = bm.Cause()
		}
		h.s.log.Warn("auth refused", "peer_type", encoding.EntityTypeName(h.peerType), "method", methodName(h.method), "cause", cause, "err", err)
	} else {
		ev.Done, ev.Entity, ev.GlobalID, ev.Mode = true, rep.PeerName, rep.Result.GlobalID, rep.Result.ConMode
		h.s.log.Info("authenticated", "entity", rep.PeerName, "global_id", rep.Result.GlobalID,
			"method", methodName(h.method), "mode", modeName(rep.Result.ConMode))
	}
	if h.s.hooks.onAuth != nil {
		h.s.hooks.onAuth(ev)
	}
	return rep, err
}

// serveDispatcher logs sessions and messages and prints the messages.
type serveDispatcher struct{ s *server }

// Dispatch implements msgr.Dispatcher; the messenger calls DispatchHeader
// instead.
func (d serveDispatcher) Dispatch(c *msgr.Conn, m message.Message) bool {
	h := message.Header{Type: m.Type()}
	if r, ok := m.(*message.Raw); ok {
		h = r.Header
	}
	return d.DispatchHeader(c, h, m)
}

// DispatchHeader implements msgr.HeaderDispatcher: the line names the
// principal the connection authenticated and the header's seq, tid and
// priority.
func (d serveDispatcher) DispatchHeader(c *msgr.Conn, h message.Header, m message.Message) bool {
	size := uint64(h.FrontLen) + uint64(h.MiddleLen) + uint64(h.DataLen)
	ai := c.AuthInfo()
	entity := "-"
	if ai.Entity != (auth.EntityName{}) {
		entity = ai.Entity.String()
	}
	gid := c.PeerGlobalID()
	if st, ok := c.Priv().(*mauth1); ok && st.done {
		entity, gid = st.entity, st.gid
	}
	d.s.log.Info("message", "peer", c.PeerName(), "addr", c.PeerAddrs(), "entity", entity, "global_id", gid,
		"seq", h.Seq, "tid", h.Tid, "prio", h.Priority, "type", h.Type, "name", msgName(h.Type), "len", size, "version", h.Version)
	d.s.outMu.Lock()
	fmt.Fprintf(d.s.out, "msg peer=%v addr=%v entity=%s global_id=%d seq=%d type=%d name=%s len=%d front=%d middle=%d data=%d tid=%d prio=%d\n",
		c.PeerName(), c.PeerAddrs(), entity, gid, h.Seq, h.Type, msgName(h.Type), size, h.FrontLen, h.MiddleLen, h.DataLen, h.Tid, h.Priority)
	d.s.outMu.Unlock()
	if ma, ok := m.(*messages.MAuth); ok {
		d.s.answerMAuth(c, ma)
	}
	if d.s.hooks.onMessage != nil {
		d.s.hooks.onMessage(c, h)
	}
	return true
}

// answerMAuth answers a ticket request sent on an authenticated session
// (MonClient::_check_auth_tickets) as AuthMonitor does: the cephx handler
// that authenticated the connection handles it. Anything else is refused
// with -EOPNOTSUPP. Runs on the dispatch goroutine, which serialises the
// calls on the handler.
func (s *server) answerMAuth(c *msgr.Conn, ma *messages.MAuth) {
	st, _ := c.Priv().(*mauth1)
	if c.IsMsgr1() && (st == nil || !st.done) {
		s.answerMAuth1(c, ma, st)
		return
	}
	reply := &messages.MAuthReply{Protocol: ma.Protocol, GlobalID: c.PeerGlobalID()}
	var cx *cephx.ServerHandler
	if sa, ok := c.AuthServerHandler().(*serveAuth); ok {
		cx, _ = sa.cur.(*cephx.ServerHandler)
	}
	if st != nil {
		cx, _ = st.h.cur.(*cephx.ServerHandler)
		reply.GlobalID = st.gid
	}
	if ma.Protocol != auth.MethodCephX || cx == nil {
		reply.Result = -auth.EOPNOTSUPP
		reply.ResultMsg = "only cephx ticket requests on a cephx session are answered"
	} else {
		reply.ResultBL, reply.Result = cx.HandleTicketRequest(ma.Payload)
	}
	s.log.Info("ticket request", "entity", c.AuthInfo().Entity, "global_id", c.PeerGlobalID(),
		"method", methodName(ma.Protocol), "result", reply.Result, "reply_len", len(reply.ResultBL))
	if err := c.Send(reply); err != nil {
		s.log.Warn("ticket reply not sent", "peer", c.PeerName(), "err", err)
	}
}

// mauth1 is a msgr1 session's authentication (its Conn's Priv): over
// msgr1 a client presents no authorizer to a mon, and authenticates in
// MAuth messages instead.
type mauth1 struct {
	h      *serveAuth
	method uint32
	done   bool
	entity string
	gid    uint64
}

// answerMAuth1 is AuthMonitor's answer to MAuth on a msgr1 session not yet
// authenticated: the first (protocol 0) lists the client's methods and
// names it, and the exchange then runs as msgr2's AUTH_REQUEST(_MORE),
// through the same handlers; the replies carry what AUTH_REPLY_MORE and
// AUTH_DONE would, or the refusal's errno.
func (s *server) answerMAuth1(c *msgr.Conn, ma *messages.MAuth, st *mauth1) {
	var rep auth.ServerReply
	var err error
	if ma.Protocol == 0 {
		d := encoding.NewDecoder(ma.Payload)
		d.U8()
		n := d.U32()
		var offered []uint32
		for i := uint32(0); i < n && d.Err() == nil && i < 16; i++ {
			offered = append(offered, d.U32())
		}
		name := auth.DecodeEntityName(d)
		gid := d.U64()
		h, _ := s.authServer(c.PeerType())
		sa := h.(*serveAuth)
		st = &mauth1{h: sa}
		c.SetPriv(st)
		if derr := d.Err(); derr != nil {
			err = fmt.Errorf("%w: initial MAuth: %v", auth.ErrDenied, derr)
		} else {
			// The first of our methods the client offers.
			st.method = sa.methods[0]
			for _, m := range sa.methods {
				if slices.Contains(offered, m) {
					st.method = m
					break
				}
			}
			rep, err = sa.HandleRequest(st.method, []uint32{auth.ModeCRC}, auth.AppendMonRequest(nil, auth.MonRequest{Name: name, GlobalID: gid}))
		}
	} else if st == nil || ma.Protocol != st.method {
		err = fmt.Errorf("%w: MAuth with protocol %d before the exchange began", auth.ErrUnexpected, ma.Protocol)
	} else {
		rep, err = st.h.HandleRequestMore(ma.Payload)
	}
	reply := &messages.MAuthReply{GlobalID: rep.Result.GlobalID, ResultBL: rep.Payload}
	if st != nil {
		reply.Protocol = st.method
	}
	if err != nil {
		reply.Result = -auth.EACCES
		var bm *auth.BadMethodError
		if errors.As(err, &bm) && bm.Result < 0 {
			reply.Result = bm.Result
		}
		reply.ResultMsg = err.Error()
		reply.ResultBL = nil
	} else if rep.Done {
		st.done, st.entity, st.gid = true, rep.PeerName, rep.Result.GlobalID
	}
	if err := c.Send(reply); err != nil {
		s.log.Warn("MAuthReply not sent", "peer", c.PeerName(), "err", err)
	}
}

// HandleAccept implements msgr.AcceptHandler: a session opened.
func (d serveDispatcher) HandleAccept(c *msgr.Conn) {
	d.s.log.Info("session open", "peer", c.PeerName(), "addr", c.PeerAddrs(), "features", fmt.Sprintf("%#x", c.Features()))
}

// HandleReset implements msgr.ResetHandler: a session ended.
func (d serveDispatcher) HandleReset(c *msgr.Conn) bool {
	d.s.log.Info("session closed", "peer", c.PeerName(), "addr", c.PeerAddrs(), "err", c.Err())
	return true
}

func runServe(args []string, stdout, stderr io.Writer) int {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			fmt.Fprintln(stdout, serveUsage)
			return 0
		}
	}
	f, err := parseServeArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "msgr serve: %v\n%s\n", err, serveUsage)
		return 2
	}
	sc, err := resolveServe(f)
	if err != nil {
		fmt.Fprintf(stderr, "msgr serve: %v\n", err)
		return 1
	}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The messenger's own logs: warnings and up, everything with -v.
	msgrLevel := slog.LevelWarn
	if f.verbose {
		msgrLevel = slog.LevelDebug
	}
	msgrLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: msgrLevel})).With("component", "msgr")
	// As servers do: every connection costs a descriptor, and a soft
	// limit of 1024 is soon reached (the listener then backs off).
	if limit, err := bench.RaiseNoFile(); err != nil {
		log.Warn("cannot raise the open-file limit", "err", err)
	} else {
		log.Info("open-file limit", "nofile", limit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bindCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	s, err := startServer(bindCtx, sc, log, msgrLog, stdout, serveHooks{})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "msgr serve: %v\n", err)
		return 1
	}
	<-ctx.Done()
	stop()
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := s.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "msgr serve: shutdown: %v\n", err)
		return 1
	}
	return 0
}

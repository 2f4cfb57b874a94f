package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/event"
	"github.com/gomsgr/msgr/internal/stack"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/perf"
)

// The messenger workload, after Ceph's perf_msgr: clients send requests
// carrying Size bytes of data, the server answers each from its fast
// dispatcher with a small reply, as an OSD answers a write.

// Message types of the benchmark (not Ceph's).
const (
	ReqType   uint16 = 0x7e10
	ReplyType uint16 = 0x7e11
)

// benchReq is a request: its front says which client connection sent it
// and when; its data is the payload, sent without a copy and not kept by
// the receiver (only its length is).
type benchReq struct {
	Conn    uint32
	SentAt  int64
	Data    []byte // on send
	DataLen int    // on receive
}

func (*benchReq) Type() uint16              { return ReqType }
func (*benchReq) Version() (uint16, uint16) { return 1, 1 }

func (m *benchReq) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = binary.LittleEndian.AppendUint32(p.Front, m.Conn)
	p.Front = binary.LittleEndian.AppendUint64(p.Front, uint64(m.SentAt))
	p.Data = m.Data
	return nil
}

func (m *benchReq) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	if len(p.Front) != 12 {
		return fmt.Errorf("bench: request front of %d bytes", len(p.Front))
	}
	m.Conn = binary.LittleEndian.Uint32(p.Front)
	m.SentAt = int64(binary.LittleEndian.Uint64(p.Front[4:]))
	m.DataLen = len(p.Data)
	return nil
}

// benchReply answers a request: it echoes the request's connection and
// timestamp and says how many data bytes arrived.
type benchReply struct {
	Conn    uint32
	SentAt  int64
	DataLen uint64
}

func (*benchReply) Type() uint16              { return ReplyType }
func (*benchReply) Version() (uint16, uint16) { return 1, 1 }

func (m *benchReply) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = binary.LittleEndian.AppendUint32(p.Front, m.Conn)
	p.Front = binary.LittleEndian.AppendUint64(p.Front, uint64(m.SentAt))
	p.Front = binary.LittleEndian.AppendUint64(p.Front, m.DataLen)
	return nil
}

func (m *benchReply) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	if len(p.Front) != 20 {
		return fmt.Errorf("bench: reply front of %d bytes", len(p.Front))
	}
	m.Conn = binary.LittleEndian.Uint32(p.Front)
	m.SentAt = int64(binary.LittleEndian.Uint64(p.Front[4:]))
	m.DataLen = binary.LittleEndian.Uint64(p.Front[12:])
	return nil
}

func benchRegistry() *message.Registry {
	r := message.NewRegistry()
	_ = r.Register(ReqType, func() message.Message { return &benchReq{} })
	_ = r.Register(ReplyType, func() message.Message { return &benchReply{} })
	return r
}

// Stacks lists the messenger transports by name.
var Stacks = []string{"eventloop", "gonet"}

// NewStack makes the transport called name. Every messenger of one run
// shares it; the caller closes it after the messengers.
func NewStack(name string) (stack.Stack, error) {
	switch name {
	case "eventloop":
		return stack.NewEventLoop(nil, "msgr-bench", event.Options{})
	case "gonet":
		return stack.NewGoNet(), nil
	}
	return nil, fmt.Errorf("%w %q (have eventloop, gonet)", ErrStack, name)
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// Perf, set before any run (msgr bench --perf, --admin-socket), receives
// the bench messengers' perf counters; nil counts nothing.
var Perf *perf.Collection

// CheckMode reports whether the bench can run connection mode mode: crc
// and secure are msgr2's; v1 is msgr1 ("ceph v027", crc, auth none), run
// against the server's v1 address.
func CheckMode(mode string) error {
	switch mode {
	case "crc", "secure", "v1":
		return nil
	}
	return fmt.Errorf("%w: mode %q (have crc, secure, v1)", ErrSpec, mode)
}

// Authentication. The server is a mon-type entity that takes both auth
// methods: crc sessions authenticate with method none (like perf_msgr's
// dummy auth), secure sessions with cephx, which yields the connection
// secret AES-GCM needs. cephx uses one fixed key, derived from a published
// string so that `bench serve` and `bench client` agree without a keyring
// file: a benchmark on loopback, not a secret.
var benchAuthName = auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "bench"}

func benchKey() (auth.CryptoKey, error) {
	seed := sha256.Sum256([]byte("msgr bench cephx key; loopback only"))
	return auth.NewAESKey(bytes.NewReader(seed[:]), encoding.UTime{})
}

// methodServer answers method none or cephx, whichever the client asks.
type methodServer struct {
	none   *auth.NoneServer
	cephx  *cephx.Server
	cur    auth.ServerHandler
	onDone func(conMode uint32)
}

func (h *methodServer) done(r auth.ServerReply, err error) (auth.ServerReply, error) {
	if err == nil && r.Done {
		h.onDone(r.Result.ConMode)
	}
	return r, err
}

func (h *methodServer) HandleRequest(method uint32, preferred []uint32, payload []byte) (auth.ServerReply, error) {
	h.cur = h.none
	if method == auth.MethodCephX {
		h.cur = h.cephx.Handler()
	}
	return h.done(h.cur.HandleRequest(method, preferred, payload))
}

func (h *methodServer) HandleRequestMore(payload []byte) (auth.ServerReply, error) {
	if h.cur == nil {
		return auth.ServerReply{}, fmt.Errorf("%w: AUTH_REQUEST_MORE before AUTH_REQUEST", auth.ErrUnexpected)
	}
	return h.done(h.cur.HandleRequestMore(payload))
}

func newAuthServer(onDone func(conMode uint32)) (func(uint8) (auth.ServerHandler, error), error) {
	key, err := benchKey()
	if err != nil {
		return nil, err
	}
	kr := auth.NewKeyring()
	kr.Add(benchAuthName, key)
	kr.SetCaps(benchAuthName, "mon", "allow *")
	srv, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr})
	if err != nil {
		return nil, err
	}
	gids := auth.NewGlobalIDs(1 << 20)
	return func(uint8) (auth.ServerHandler, error) {
		return &methodServer{none: &auth.NoneServer{Mon: true, GlobalIDs: gids, AllowedModes: []uint32{auth.ModeCRC}}, cephx: srv, onDone: onDone}, nil
	}, nil
}

// newAuthClient returns the client auth for mode: nil (the messenger's
// method none) for crc, a cephx session asking for secure mode otherwise.
func newAuthClient(mode string) (func(uint8) (auth.ClientHandler, error), error) {
	if mode != "secure" {
		return nil, nil
	}
	key, err := benchKey()
	if err != nil {
		return nil, err
	}
	sess, err := cephx.NewSession(cephx.Config{Name: benchAuthName, Key: key,
		MonModes: []uint32{auth.ModeSecure}, Modes: []uint32{auth.ModeSecure}})
	if err != nil {
		return nil, err
	}
	return func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }, nil
}

// MsgrServer is the answering side: one messenger bound on loopback.
type MsgrServer struct {
	Stack string
	m     *msgr.Messenger
	st    stack.Stack
	n     atomic.Int64 // requests answered
	acc   atomic.Int64 // sessions accepted
	// secure counts authentications that chose secure mode.
	secure atomic.Int64
	// lossless counts sessions accepted from lossless clients.
	lossless atomic.Int64
}

// serverDispatcher answers requests on the loop (fast dispatch).
type serverDispatcher struct{ s *MsgrServer }

func (d serverDispatcher) Dispatch(*msgr.Conn, message.Message) bool { return false }
func (d serverDispatcher) HandleFastAccept(c *msgr.Conn) {
	d.s.acc.Add(1)
	if c.PeerType() == losslessPeer {
		d.s.lossless.Add(1)
	}
}
func (d serverDispatcher) CanFastDispatch(m message.Message) bool { return m.Type() == ReqType }
func (d serverDispatcher) FastDispatch(c *msgr.Conn, m message.Message) {
	req := m.(*benchReq)
	d.s.n.Add(1)
	_ = c.Send(&benchReply{Conn: req.Conn, SentAt: req.SentAt, DataLen: uint64(req.DataLen)})
}

// StartMsgrServer starts a server messenger on stackName, listening on
// addr (port 0: the kernel picks) for msgr2, and on a second port for
// msgr1.
func StartMsgrServer(ctx context.Context, stackName string, addr netip.AddrPort) (*MsgrServer, error) {
	st, err := NewStack(stackName)
	if err != nil {
		return nil, err
	}
	s := &MsgrServer{Stack: stackName, st: st}
	authSrv, err := newAuthServer(func(mode uint32) {
		if mode == auth.ModeSecure {
			s.secure.Add(1)
		}
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	m, err := msgr.New(msgr.Config{
		Name:       encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0},
		Nonce:      Nonce,
		Stack:      st,
		Registry:   benchRegistry(),
		AuthServer: authSrv,
	}, msgr.Options{Logger: quietLog, BindMsgr1: true, Perf: Perf})
	if err != nil {
		st.Close()
		return nil, err
	}
	m.SetDefaultPolicy(msgr.StatelessServer(0))
	m.SetPolicy(losslessPeer, msgr.StatefulServer(0))
	if err := m.Bind(ctx, addr); err != nil {
		_ = m.Shutdown(ctx)
		st.Close()
		return nil, err
	}
	if err := m.Start(); err != nil {
		_ = m.Shutdown(ctx)
		st.Close()
		return nil, err
	}
	m.AddDispatcherHead(serverDispatcher{s})
	s.m = m
	return s, nil
}

// Addrs are the server's addresses, for clients.
func (s *MsgrServer) Addrs() encoding.EntityAddrVec { return s.m.Addrs() }

// Sessions is the number of sessions accepted so far.
func (s *MsgrServer) Sessions() int64 { return s.acc.Load() }

// LosslessSessions is the number of sessions accepted from lossless
// clients (Spec.Lossless).
func (s *MsgrServer) LosslessSessions() int64 { return s.lossless.Load() }

// SecureSessions is the number of sessions authenticated in secure mode.
func (s *MsgrServer) SecureSessions() int64 { return s.secure.Load() }

// Answered is the number of requests answered so far.
func (s *MsgrServer) Answered() int64 { return s.n.Load() }

// Close shuts the messenger down, then its transport.
func (s *MsgrServer) Close(ctx context.Context) error {
	err := s.m.Shutdown(ctx)
	return errors.Join(err, s.st.Close())
}

// clientDispatcher routes replies to the running loop, or to the warm-up
// before it starts.
type clientDispatcher struct {
	loop   *atomic.Pointer[closedLoop]
	warm   *sync.WaitGroup
	size   uint64
	badMsg *atomic.Int64
}

func (d clientDispatcher) Dispatch(*msgr.Conn, message.Message) bool { return false }
func (d clientDispatcher) CanFastDispatch(m message.Message) bool    { return m.Type() == ReplyType }
func (d clientDispatcher) FastDispatch(_ *msgr.Conn, m message.Message) {
	r := m.(*benchReply)
	l := d.loop.Load()
	if l == nil {
		if r.DataLen != d.size {
			d.badMsg.Add(1)
		}
		d.warm.Done()
		return
	}
	l.answered(int(r.Conn), r.SentAt, r.DataLen == d.size)
}

// msgrClients are spec.Conns client messengers (one session each: a
// messenger keeps one session per peer) on one transport.
type msgrClients struct {
	st    stack.Stack
	ms    []*msgr.Messenger
	conns []*msgr.Conn
}

// losslessPeer is the entity type lossless clients (Spec.Lossless) take,
// so that the server, whose policies go by peer type, keeps their
// sessions (StatefulServer), as an OSD does its peers'.
const losslessPeer = encoding.EntityTypeOSD

func newMsgrClients(ctx context.Context, stackName, mode string, lossless bool, n int, d msgr.Dispatcher, server encoding.EntityAddrVec) (*msgrClients, error) {
	st, err := NewStack(stackName)
	if err != nil {
		return nil, err
	}
	cl := &msgrClients{st: st}
	clientType, policy := encoding.EntityTypeClient, msgr.LossyClient(0)
	if lossless {
		clientType, policy = losslessPeer, msgr.LosslessClient(0)
	}
	base := uint32(time.Now().UnixNano())
	for i := 0; i < n; i++ {
		authCli, err := newAuthClient(mode)
		if err != nil {
			cl.close(ctx)
			return nil, err
		}
		m, err := msgr.New(msgr.Config{
			Name:       encoding.EntityName{Type: clientType, Num: int64(1000 + i)},
			Nonce:      base + uint32(i),
			Stack:      st,
			Registry:   benchRegistry(),
			AuthClient: authCli,
		}, msgr.Options{Logger: quietLog, NoMsgr2: mode == "v1", Perf: Perf})
		if err != nil {
			cl.close(ctx)
			return nil, err
		}
		cl.ms = append(cl.ms, m)
		m.SetDefaultPolicy(policy)
		if err := m.Start(); err != nil {
			cl.close(ctx)
			return nil, err
		}
		if d != nil {
			m.AddDispatcherHead(d)
		}
		c, err := m.GetConnection(server, encoding.EntityTypeMon)
		if err != nil {
			cl.close(ctx)
			return nil, err
		}
		cl.conns = append(cl.conns, c)
	}
	return cl, nil
}

// close shuts every client down (in parallel), then the transport.
func (cl *msgrClients) close(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cl.ms))
	sem := make(chan struct{}, 64)
	for i, m := range cl.ms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = m.Shutdown(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errors.Join(errs...), cl.st.Close())
}

// RunMsgr measures spec against the messenger server at server: it opens
// spec.Conns client sessions on spec.Stack, warms each with one
// round-trip, then runs the closed loop.
func RunMsgr(ctx context.Context, server encoding.EntityAddrVec, spec Spec, probe *Probe) (res Result, err error) {
	if err := spec.Validate(); err != nil {
		return Result{}, err
	}
	if err := CheckMode(spec.Mode); err != nil {
		return Result{}, err
	}
	if spec.Mode == "v1" && !server.Legacy().Addr.IsValid() {
		return Result{}, fmt.Errorf("%w: mode v1 needs the server's msgr1 address (a server in this process)", ErrSpec)
	}
	payload := make([]byte, spec.Size)
	for i := range payload {
		payload[i] = byte(i)
	}
	var cur atomic.Pointer[closedLoop]
	var warm sync.WaitGroup
	var bad atomic.Int64
	d := clientDispatcher{loop: &cur, warm: &warm, size: uint64(spec.Size), badMsg: &bad}
	cl, err := newMsgrClients(ctx, spec.Stack, spec.Mode, spec.Lossless, spec.Conns, d, server)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if cerr := cl.close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("bench: closing clients: %w", cerr)
		}
	}()
	// Warm up: one round-trip per session opens it.
	warm.Add(len(cl.conns))
	for i, c := range cl.conns {
		if err := c.Send(&benchReq{Conn: uint32(i), Data: payload}); err != nil {
			return Result{}, fmt.Errorf("bench: warm-up send: %w", err)
		}
	}
	warmed := make(chan struct{})
	go func() { warm.Wait(); close(warmed) }()
	select {
	case <-warmed:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("%w: sessions not up: %w", ErrShort, ctx.Err())
	}
	if n := bad.Load(); n > 0 {
		return Result{}, fmt.Errorf("%w: %d warm-up replies do not match", ErrShort, n)
	}
	loop := newClosedLoop(spec, func(conn int, sentAt int64) error {
		return cl.conns[conn].Send(&benchReq{Conn: uint32(conn), SentAt: sentAt, Data: payload})
	})
	if probe == nil {
		probe = &Probe{}
	}
	settle()
	cur.Store(loop)
	probe.started(loop)
	loop.start()
	res, err = loop.wait(ctx)
	probe.ended()
	probe.finish(&res, loop.hist)
	return res, err
}

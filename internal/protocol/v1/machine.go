package v1

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// phase is the Machine's fine-grained state, after ProtocolV1's states.
type phase uint8

const (
	phNone phase = iota
	// Connecting side.
	phDialing   // START_CONNECT: Dial out
	phBackoff   // START_CONNECT, waiting out a backoff
	phConnected // CONNECTING_WAIT_BANNER_AND_IDENTIFY
	phConnReply // CONNECTING_SEND_CONNECT_MSG: waiting for the reply
	// Accepting side.
	phAccBanner  // ACCEPTING: waiting for the client's banner and address
	phAccConnect // ACCEPTING_WAIT_CONNECT_MSG(_AUTH)
	phLookup     // waiting for Resolve
	phAccSeq     // ACCEPTING_HANDLED_CONNECT_MSG: waiting for the client's in_seq
	phReplacing  // took over a Query's socket, waiting for Adopted
	phReady      // OPENED
	phStandby
	phWait
	phClosed
)

var phaseNames = [...]string{
	phNone: "NONE", phDialing: "START_CONNECT", phBackoff: "BACKOFF",
	phConnected: "CONNECTING_WAIT_BANNER_AND_IDENTIFY", phConnReply: "CONNECTING_SEND_CONNECT_MSG",
	phAccBanner: "ACCEPTING", phAccConnect: "ACCEPTING_WAIT_CONNECT_MSG",
	phLookup: "ACCEPTING_WAIT_CONNECT_MSG(lookup)", phAccSeq: "ACCEPTING_HANDLED_CONNECT_MSG",
	phReplacing: "REPLACING", phReady: "OPENED", phStandby: "STANDBY", phWait: "WAIT", phClosed: "CLOSED",
}

func (p phase) String() string {
	if int(p) < len(phaseNames) {
		return "v1 " + phaseNames[p]
	}
	return fmt.Sprintf("v1 phase(%d)", uint8(p))
}

func (p phase) connecting() bool { return p >= phDialing && p <= phConnReply }
func (p phase) accepting() bool  { return p >= phAccBanner && p <= phAccSeq }

// Limits of the v1 codec.
const (
	defaultMaxMessage = 512 << 20 // a message's bound when Config.MaxFrameSize is 0
	// maxAuthorizer bounds an authorizer or its reply (Ceph asserts
	// replies under 4096 bytes; cephx authorizers are ~200 bytes).
	maxAuthorizer = 64 << 10
)

const timerCount = int(v2.TimerIdle) + 1

// Machine is one connection's msgr1 state machine, used from one
// goroutine at a time (the connection's loop).
type Machine struct {
	cfg    Config
	env    v2.Env
	policy v2.Policy
	ph     phase

	// The peer.
	peerType   uint8
	peerNum    int64
	peerAddrs  encoding.EntityAddrVec
	target     encoding.EntityAddr // client: the v1 address dialled; server: the socket's peer
	supported  uint64
	features   uint64
	announced  bool // an Established went out
	onceReady  bool // ProtocolV1's once_ready
	maxBackoff time.Duration

	// The session (ProtocolV1's members of the same names).
	globalSeq     uint32
	connectSeq    uint32
	peerGlobalSeq uint32
	inSeq         uint64
	ackLeft       int
	replacing     bool
	resetFromPeer bool
	backoff       time.Duration
	keepalive     bool
	isClient      bool
	learnedIP     netip.Addr // a client's IP as its first server saw it
	lastActive    time.Time

	outq v2.OutQueue // the outbound messages and out_seq

	// The socket.
	hasSocket bool
	rx        rxBuf
	// Client auth: the handler of the current authorizer, the augmented
	// authorizer to send after a challenge, the method used.
	authC      auth.ClientHandler
	authMore   []byte
	authMethod uint32
	// Server auth: the handler, whether it challenged, and the last
	// authorizer it accepted with its reply (a client that retries the
	// connect on this socket presents it again).
	authS         auth.ServerHandler
	challenged    bool
	authedBytes   []byte
	authedReply   []byte
	authedResult  auth.Result
	authedMethod  uint32
	authedPresent bool
	sessKey       []byte // signs messages; nil: no signatures
	authGID       uint64
	conn          Connect      // server: the connect being handled
	reply         ConnectReply // client: the reply being handled
	msgAuth       bool         // MSG_AUTH negotiated: 21-byte footers

	// The message being read: its header, and once the header is in,
	// front+middle+data+footer (rxdest.go).
	inHdr    message.Header
	inHdrCRC uint32
	body     msgBody
	inMsg    bool

	// Server side while a Lookup is out.
	query        *v2.Query
	deferredErr  error
	deferredDown bool
	// Existing side between Arbitrate and Adopted: the reply to send on
	// the adopted socket.
	adoptReply *ConnectReply

	timers [timerCount]time.Time

	// rd is the event's Ready, built in place and handed out; its lists
	// are reused from one event to the next (a Ready is valid until the
	// next call). A lossy flush reports the messages it framed in
	// rd.Acked.
	rd v2.Ready
	// arena holds the small pieces written (message headers and
	// footers, ACK and KEEPALIVE frames) until the socket takes them.
	arena wire.Arena
	// readInto says where the last ReadBuffer pointed: the body or rx.
	readBody bool
}

func newMachine(cfg Config, client bool) (*Machine, error) {
	if cfg.Env == nil {
		return nil, errors.New("msgr1: Config.Env is nil")
	}
	m := &Machine{cfg: cfg, env: cfg.Env, peerNum: -1}
	m.supported = cfg.SupportedFeatures
	if m.supported == 0 {
		m.supported = encoding.FeaturesAll
	}
	if m.cfg.InitialBackoff <= 0 {
		m.cfg.InitialBackoff = v2.DefaultInitialBackoff
	}
	m.maxBackoff = cfg.MaxBackoff
	if m.maxBackoff <= 0 {
		m.maxBackoff = v2.DefaultMaxBackoff
	}
	if m.cfg.HandshakeTimeout == 0 {
		m.cfg.HandshakeTimeout = v2.DefaultHandshakeTimeout
	}
	if m.cfg.IdleTimeout == 0 {
		m.cfg.IdleTimeout = v2.DefaultIdleTimeout
	}
	if m.cfg.MaxFrameSize == 0 {
		m.cfg.MaxFrameSize = defaultMaxMessage
	}
	if client {
		m.target = cfg.PeerAddrs.Legacy()
		if m.target.Type != encoding.AddrTypeLegacy || !m.target.Addr.IsValid() {
			return nil, fmt.Errorf("%w in %v", ErrNoV1Addr, cfg.PeerAddrs)
		}
		m.peerType = cfg.PeerType
		m.peerAddrs = cfg.PeerAddrs
		m.policy = m.env.Policy(cfg.PeerType)
	}
	return m, nil
}

// ---- the Ready ----

// begin starts an event: the previous event's Ready is consumed by now.
func (m *Machine) begin() { m.rd.Reset() }

// end returns the event's Ready.
func (m *Machine) end() *v2.Ready {
	m.rd.AckDue = m.ph == phReady && m.hasSocket && m.ackLeft > 0 && !m.policy.Lossy
	return &m.rd
}

func (m *Machine) write(b []byte) { m.rd.Bufs = append(m.rd.Bufs, b) }

func (m *Machine) setTimer(t v2.Timer, at time.Time) {
	m.timers[t] = at
	m.rd.Emit(v2.SetTimer{Timer: t, At: at})
}

func (m *Machine) stopTimer(t v2.Timer) {
	if !m.timers[t].IsZero() {
		m.timers[t] = time.Time{}
		m.rd.Emit(v2.StopTimer{Timer: t})
	}
}

func (m *Machine) protoErr(reason string, err error) error {
	return &v2.ProtocolError{State: m.ph.String(), Reason: reason, Err: err}
}

// ---- events ----

// Start begins a client connection (or wakes one in standby).
func (m *Machine) Start(now time.Time) *v2.Ready {
	m.begin()
	switch {
	case m.ph == phNone && m.target.Type == encoding.AddrTypeLegacy && !m.hasSocket:
		m.startConnect(now)
	case m.ph == phStandby && !m.policy.Server:
		m.startConnect(now)
	}
	return m.end()
}

func (m *Machine) startConnect(now time.Time) {
	if m.target.Type != encoding.AddrTypeLegacy || m.target.Addr.Port() == 0 {
		m.stop(now, fmt.Errorf("%w: no v1 address to reconnect to %v", v2.ErrSocket, m.peerAddrs), true)
		return
	}
	m.ph = phDialing
	m.isClient = true
	m.hasSocket = true
	m.rd.Emit(v2.Dial{Addr: m.target})
	if m.cfg.HandshakeTimeout > 0 {
		m.setTimer(v2.TimerHandshake, now.Add(m.cfg.HandshakeTimeout))
	}
}

// Connected reports that the socket from Dial is up.
func (m *Machine) Connected(now time.Time) *v2.Ready {
	m.begin()
	if m.ph != phDialing {
		return m.end()
	}
	m.rx.reset()
	m.globalSeq = uint32(m.env.NextGlobalSeq(0))
	m.authMore = nil
	m.ph = phConnected
	m.lastActive = now
	m.write([]byte(Banner))
	return m.end()
}

// Accepted begins a server connection on a socket accepted from remote.
func (m *Machine) Accepted(now time.Time, remote netip.AddrPort) *v2.Ready {
	m.begin()
	if m.ph != phNone || m.hasSocket {
		return m.end()
	}
	m.hasSocket = true
	m.isClient = false
	m.target = encoding.EntityAddr{Type: encoding.AddrTypeLegacy, Addr: remote}
	m.rx.reset()
	m.ph = phAccBanner
	m.lastActive = now
	if m.cfg.HandshakeTimeout > 0 {
		m.setTimer(v2.TimerHandshake, now.Add(m.cfg.HandshakeTimeout))
	}
	b := make([]byte, 0, BannerLen+2*AddrLen)
	b = append(b, Banner...)
	b = AppendAddr(b, m.myAddr())
	b = AppendAddr(b, m.target)
	m.write(b)
	return m.end()
}

// myAddr is the messenger's legacy address (get_myaddr_legacy): its v1
// address, else its IP (as bound or as a peer saw it) with port 0 and
// the messenger's nonce.
func (m *Machine) myAddr() encoding.EntityAddr {
	addrs := m.env.MyAddrs()
	if a := addrs.Legacy(); a.Type == encoding.AddrTypeLegacy {
		return a
	}
	a := encoding.EntityAddr{Type: encoding.AddrTypeLegacy, Nonce: m.cfg.Nonce}
	for _, x := range addrs {
		if x.Addr.IsValid() && !x.Addr.Addr().IsUnspecified() {
			a.Addr = netip.AddrPortFrom(x.Addr.Addr(), 0)
			if x.Nonce != 0 {
				a.Nonce = x.Nonce
			}
			return a
		}
	}
	if m.learnedIP.IsValid() {
		a.Addr = netip.AddrPortFrom(m.learnedIP, 0)
	}
	return a
}

// Received feeds bytes read from the socket; p is not retained.
func (m *Machine) Received(now time.Time, p []byte) *v2.Ready {
	m.begin()
	if m.hasSocket && m.ph != phClosed && len(p) > 0 {
		m.lastActive = now
		m.rx.append(p)
		m.process(now)
	}
	return m.end()
}

// ReadBuffer returns where the next socket read goes: the receive buffer,
// or the rest of the message being read (its own buffer: no copy).
// Report the read with Commit at once, or Unread if it returned nothing.
func (m *Machine) ReadBuffer(min int) []byte {
	min = max(min, 1)
	if m.inMsg && m.body.active() && m.rx.len() == 0 && m.body.n < m.body.total && m.ph == phReady {
		m.readBody = true
		return m.body.room()
	}
	m.readBody = false
	if m.ph != phReady {
		// Handshake messages are a few hundred bytes: small reads, so
		// that connections being set up hold small buffers.
		return m.rx.space(1)
	}
	return m.rx.space(min)
}

// Commit reports n bytes read into the last ReadBuffer.
func (m *Machine) Commit(now time.Time, n int) *v2.Ready {
	m.begin()
	if n <= 0 || !m.hasSocket {
		m.body.unpin()
		m.readBody = false
		return m.end()
	}
	m.lastActive = now
	if m.readBody {
		m.body.commit(n)
	} else {
		m.rx.commit(n)
	}
	m.readBody = false
	if m.ph != phClosed {
		m.process(now)
	}
	return m.end()
}

// Written reports that every buffer of the Readies handed out so far has
// been written or dropped: the arena's chunk goes back to the pool. Never
// while a Ready is being carried out.
func (m *Machine) Written() { m.arena.Release() }

// Awaiting is how many bytes the message under way still needs beyond
// those read (0: none under way).
func (m *Machine) Awaiting() int {
	if m.ph != phReady || !m.inMsg || !m.body.active() {
		return 0
	}
	return max(m.body.total-m.body.n-m.rx.len(), 0)
}

// Unread ends a read loop: after a ReadBuffer whose read returned
// nothing, or after the last Commit. On an open session the receive
// buffer goes back to the pool, or shrinks to a partial message head, so
// that the session between reads holds only the bytes in flight (the
// handshake's handlers read in place, so its buffer stays).
func (m *Machine) Unread() {
	m.body.unpin()
	m.readBody = false
	if m.ph == phReady {
		m.rx.shrink()
	}
}

// Send queues msg.
func (m *Machine) Send(now time.Time, msg *v2.OutMessage) *v2.Ready {
	m.begin()
	if m.ph == phClosed {
		m.rd.Emit(v2.Discarded{Msgs: []*v2.OutMessage{msg}})
		return m.end()
	}
	m.outq.Push(msg)
	switch {
	case m.ph == phReady:
		m.flush(now)
	case m.ph == phStandby && !m.policy.Server:
		m.startConnect(now)
	}
	return m.end()
}

// SendKeepalive sends a KEEPALIVE2 stamped now (KEEPALIVE to a peer
// without MSGR_KEEPALIVE2).
func (m *Machine) SendKeepalive(now time.Time) *v2.Ready {
	m.begin()
	if m.ph != phClosed {
		m.keepalive = true
		if m.ph == phReady {
			m.flush(now)
		}
	}
	return m.end()
}

// TimerFired reports that t expired.
func (m *Machine) TimerFired(now time.Time, t v2.Timer) *v2.Ready {
	m.begin()
	if int(t) >= timerCount || m.timers[t].IsZero() {
		return m.end()
	}
	m.timers[t] = time.Time{}
	switch t {
	case v2.TimerBackoff:
		if m.ph == phBackoff {
			m.startConnect(now)
		}
	case v2.TimerHandshake:
		if (m.ph.connecting() && m.ph != phBackoff) || (m.ph.accepting() && m.ph != phLookup) || m.ph == phReplacing {
			m.fault(now, fmt.Errorf("%w: handshake not done after %v", v2.ErrTimeout, m.cfg.HandshakeTimeout))
		}
	case v2.TimerIdle:
		if m.ph != phReady {
			break
		}
		if idle := now.Sub(m.lastActive); idle >= m.cfg.IdleTimeout {
			m.fault(now, fmt.Errorf("%w: idle for %v", v2.ErrTimeout, idle))
		} else {
			m.setTimer(v2.TimerIdle, m.lastActive.Add(m.cfg.IdleTimeout))
		}
	}
	return m.end()
}

// SocketError reports that the socket failed.
func (m *Machine) SocketError(now time.Time, err error) *v2.Ready {
	m.begin()
	switch m.ph {
	case phLookup:
		if m.deferredErr == nil {
			m.deferredErr = err
		}
	case phReplacing:
		m.fault(now, fmt.Errorf("%w: adopting a socket: %w", v2.ErrSocket, err))
	case phNone, phClosed, phStandby, phBackoff:
	default:
		if m.ph == phDialing && errors.Is(err, syscall.ECONNREFUSED) {
			m.rd.Emit(v2.Refused{Err: err})
		}
		m.fault(now, fmt.Errorf("%w: %w", v2.ErrSocket, err))
	}
	return m.end()
}

// MarkDown closes the connection for good.
func (m *Machine) MarkDown(now time.Time) *v2.Ready {
	m.begin()
	if m.ph == phLookup {
		m.deferredDown = true
		return m.end()
	}
	m.stop(now, v2.ErrMarkedDown, false)
	return m.end()
}

// State returns the Machine's coarse state.
func (m *Machine) State() v2.State {
	switch {
	case m.ph == phNone:
		return v2.StateNone
	case m.ph == phBackoff:
		return v2.StateBackoff
	case m.ph.connecting():
		return v2.StateConnecting
	case m.ph.accepting() || m.ph == phReplacing:
		return v2.StateAccepting
	case m.ph == phReady:
		return v2.StateReady
	case m.ph == phStandby:
		return v2.StateStandby
	case m.ph == phWait:
		return v2.StateWait
	}
	return v2.StateClosed
}

// ---- faults ----

// dropSocket forgets the current socket and everything tied to it.
func (m *Machine) dropSocket(err error) {
	if m.hasSocket {
		m.rd.Emit(v2.CloseSocket{Err: err})
		m.hasSocket = false
	}
	// Frames queued after the last event were for this socket.
	m.rd.DropPendingBufs()
	m.rx.release()
	m.body.reset()
	m.inMsg = false
	m.authC, m.authMore, m.authS, m.sessKey = nil, nil, nil, nil
	m.challenged, m.authedPresent, m.authedBytes, m.authedReply = false, false, nil, nil
	m.adoptReply = nil
	m.stopTimer(v2.TimerHandshake)
	m.stopTimer(v2.TimerIdle)
}

// fault is ProtocolV1::fault.
func (m *Machine) fault(now time.Time, err error) {
	if m.ph == phClosed || m.ph == phNone {
		return
	}
	if m.policy.Lossy && m.ph != phDialing && m.ph != phBackoff {
		m.stop(now, err, true)
		return
	}
	m.dropSocket(err)
	m.requeueSent()
	if !m.onceReady && m.queueEmpty() && m.ph.accepting() && !m.replacing {
		m.stop(now, err, true)
		return
	}
	m.replacing = false
	m.resetFromPeer = false
	if m.policy.Standby && m.queueEmpty() && !m.keepalive && m.ph != phWait {
		m.ph = phStandby
		return
	}
	if m.ph.connecting() || m.ph == phWait {
		switch {
		case m.ph == phWait:
			m.backoff = m.maxBackoff
		case m.backoff == 0:
			m.backoff = m.cfg.InitialBackoff
		default:
			m.backoff = min(2*m.backoff, m.maxBackoff)
		}
		m.ph = phBackoff
		m.setTimer(v2.TimerBackoff, now.Add(m.backoff))
		return
	}
	m.backoff = 0
	if m.policy.Server {
		m.ph = phStandby
		return
	}
	// An open (or accepting) session broke: reconnect at once.
	m.connectSeq++
	m.startConnect(now)
}

// stop is ProtocolV1::stop plus the reset report Ceph queues with it.
func (m *Machine) stop(now time.Time, err error, report bool) {
	if m.ph == phClosed {
		return
	}
	m.dropSocket(err)
	m.discardAll()
	m.stopTimer(v2.TimerBackoff)
	m.ph = phClosed
	if report && m.announced {
		m.rd.Emit(v2.Reset{Err: err})
	}
	m.rd.Emit(v2.Closed{Err: err})
}

// sessionReset is ProtocolV1::session_reset: the session is gone.
func (m *Machine) sessionReset() {
	m.discardAll()
	if m.announced {
		m.rd.Emit(v2.Reset{Remote: true, Err: v2.ErrSessionReset})
	}
	m.outq.ResetSeq(0)
	if encoding.HasFeatures(m.features, encoding.FeatureMsgAuth) {
		// A random start, so that crcs are not predictable.
		m.outq.ResetSeq(m.env.Cookie() & 0x7fffffff)
	}
	m.inSeq, m.connectSeq, m.ackLeft = 0, 0, 0
	m.onceReady = false
}

// ---- the outbound queue ----

func (m *Machine) queueEmpty() bool { return m.outq.Waiting() == 0 }

func (m *Machine) requeueSent() { m.outq.Requeue() }

// discardRequeuedUpTo drops requeued messages the peer already has.
func (m *Machine) discardRequeuedUpTo(seq uint64) {
	m.rd.Acked = m.outq.DiscardRequeuedUpTo(seq, m.rd.Acked)
}

func (m *Machine) discardAll() {
	if all := m.outq.DiscardAll(nil); len(all) > 0 {
		m.rd.Emit(v2.Discarded{Msgs: all})
	}
}

func (m *Machine) handleAck(seq uint64) {
	m.rd.Acked = m.outq.Ack(seq, m.rd.Acked)
}

// ready is ProtocolV1::ready: the session is open on this socket.
func (m *Machine) ready(now time.Time) {
	m.replacing = false
	m.ph = phReady
	m.announced = true
	m.onceReady = true
	m.lastActive = now
	m.stopTimer(v2.TimerHandshake)
	if m.cfg.IdleTimeout > 0 {
		m.setTimer(v2.TimerIdle, now.Add(m.cfg.IdleTimeout))
	}
	m.flush(now)
}

func (m *Machine) established() {
	m.rd.Emit(v2.Established{
		Peer:         encoding.EntityName{Type: m.peerType, Num: m.peerNum},
		PeerAddrs:    m.peerAddrs,
		Features:     m.features,
		Accepted:     !m.isClient,
		Reconnected:  m.connectSeq > 1,
		AuthGlobalID: m.authGID,
		ConMode:      auth.ModeCRC,
	})
}

package v2

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// phase is the Machine's fine-grained state, after ProtocolV2's states.
type phase uint8

const (
	phNone phase = iota
	// Connecting side (Ceph's START_CONNECT .. SESSION_RECONNECTING).
	phDialing
	phBackoff
	phBannerConnecting
	phHelloConnecting
	phAuthConnecting
	phAuthConnectingSign
	phSessionConnecting
	phSessionReconnecting
	// Accepting side (START_ACCEPT .. SESSION_ACCEPTING).
	phBannerAccepting
	phHelloAccepting
	phAuthAccepting
	phAuthAcceptingMore
	phAuthAcceptingSign
	phSessionAccepting
	phLookup    // waiting for Resolve
	phReplacing // took over a Query's stream, waiting for Adopted
	phReady
	phStandby
	phWait // got WAIT; becomes phBackoff in fault
	phClosed
)

var phaseNames = [...]string{
	phNone: "NONE", phDialing: "START_CONNECT", phBackoff: "BACKOFF",
	phBannerConnecting: "BANNER_CONNECTING", phHelloConnecting: "HELLO_CONNECTING",
	phAuthConnecting: "AUTH_CONNECTING", phAuthConnectingSign: "AUTH_CONNECTING_SIGN",
	phSessionConnecting: "SESSION_CONNECTING", phSessionReconnecting: "SESSION_RECONNECTING",
	phBannerAccepting: "BANNER_ACCEPTING", phHelloAccepting: "HELLO_ACCEPTING",
	phAuthAccepting: "AUTH_ACCEPTING", phAuthAcceptingMore: "AUTH_ACCEPTING_MORE",
	phAuthAcceptingSign: "AUTH_ACCEPTING_SIGN", phSessionAccepting: "SESSION_ACCEPTING",
	phLookup: "SESSION_ACCEPTING(lookup)", phReplacing: "REPLACING", phReady: "READY",
	phStandby: "STANDBY", phWait: "WAIT", phClosed: "CLOSED",
}

func (p phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return fmt.Sprintf("phase(%d)", uint8(p))
}

func (p phase) connecting() bool { return p >= phDialing && p <= phSessionReconnecting }
func (p phase) accepting() bool  { return p >= phBannerAccepting && p <= phLookup }

// msgr2Required is what msgr2 requires of every peer (ProtocolV2's
// msgr2_required).
const msgr2Required = encoding.FeatureMsgAddr2

// flagLossy is CEPH_MSG_CONNECT_LOSSY in the ident frames.
const flagLossy = 1

// Ceph's defaults of the options a Machine honours (a zero Config field
// takes them); the messenger's Options default to the same values.
const (
	DefaultInitialBackoff   = 200 * time.Millisecond // ms_initial_backoff
	DefaultMaxBackoff       = 15 * time.Second       // ms_max_backoff
	DefaultHandshakeTimeout = 10 * time.Second       // ms_connection_ready_timeout
	DefaultIdleTimeout      = 900 * time.Second      // ms_connection_idle_timeout
)

// Machine is one connection's msgr2 state machine. It is used from one
// goroutine at a time (the connection's loop); see the package comment.
type Machine struct {
	cfg    Config
	env    Env
	policy Policy
	ph     phase

	// The peer.
	peerType   uint8
	peerGID    int64
	peerAddrs  encoding.EntityAddrVec
	target     encoding.EntityAddr // client: where we dial; server: the socket's peer
	features   uint64              // connection features, once identified
	authGID    uint64
	conMode    uint32
	supported  uint64
	required   uint64
	announced  bool // an Established went out: resets are worth reporting
	maxBackoff time.Duration

	// The session (ProtocolV2's members of the same names).
	clientCookie    uint64
	serverCookie    uint64
	globalSeq       uint64
	connectSeq      uint64
	peerGlobalSeq   uint64
	messageSeq      uint64 // server: the client's in_seq from its reconnect
	inSeq           uint64
	ackLeft         int
	reconnecting    bool
	replacing       bool
	backoff         time.Duration
	backoffFromWait bool
	isClient        bool // this socket was dialled by us
	keepalive       bool // a KEEPALIVE2 is due
	lastActive      time.Time

	// Outbound messages and out_seq.
	outq OutQueue

	// The socket.
	hasSocket bool
	st        *stream
	authC     auth.ClientHandler
	authS     auth.ServerHandler
	sessKey   []byte

	// Server side while a Lookup is out.
	query        *Query
	lookupBuf    []byte
	deferredErr  error
	deferredDown bool
	// Existing side between Arbitrate and Adopted.
	adopt *stream

	timers [timerCount]time.Time // zero: not armed

	// rd is the event's Ready, built in place and handed out; its lists
	// are reused from one event to the next (a Ready is valid until the
	// next call).
	rd Ready
	// ctlTmp is the payload scratch of writeControl.
	ctlTmp [16]byte

	// Between ReadBuffer and Commit: the decoder read into, or nil when
	// the read went to readScratch (no decoder, or a Lookup out).
	readDec     *wire.Decoder
	readScratch []byte
	handedOver  int // messages delivered in their frame's own buffer (tests)
}

const timerCount = int(TimerIdle) + 1

func newMachine(cfg Config, client bool) (*Machine, error) {
	if cfg.Env == nil {
		return nil, errors.New("msgr2: Config.Env is nil")
	}
	m := &Machine{cfg: cfg, env: cfg.Env, peerGID: -1}
	m.supported = cfg.SupportedFeatures
	if m.supported == 0 {
		m.supported = encoding.FeaturesAll
	}
	m.required = cfg.RequiredFeatures
	if m.cfg.InitialBackoff <= 0 {
		m.cfg.InitialBackoff = DefaultInitialBackoff
	}
	m.maxBackoff = cfg.MaxBackoff
	if m.maxBackoff <= 0 {
		m.maxBackoff = DefaultMaxBackoff
	}
	if m.cfg.HandshakeTimeout == 0 {
		m.cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if m.cfg.IdleTimeout == 0 {
		m.cfg.IdleTimeout = DefaultIdleTimeout
	}
	if client {
		m.target = inferTarget(cfg.PeerAddrs)
		if m.target.Type == encoding.AddrTypeNone {
			return nil, fmt.Errorf("msgr2: no msgr2 address to connect to in %v", cfg.PeerAddrs)
		}
		m.peerType = cfg.PeerType
		m.peerAddrs = cfg.PeerAddrs
		m.policy = m.env.Policy(cfg.PeerType)
	}
	return m, nil
}

// inferTarget picks the address to dial among a peer's: the first that is
// not msgr1 (Ceph's _infer_target_addr).
func inferTarget(v encoding.EntityAddrVec) encoding.EntityAddr {
	for _, a := range v {
		if a.Type != encoding.AddrTypeLegacy && a.Type != encoding.AddrTypeNone {
			return a
		}
	}
	return encoding.EntityAddr{}
}

func (m *Machine) limits() wire.Limits {
	if m.cfg.MaxFrameSize == 0 {
		return wire.Limits{}
	}
	return wire.Limits{MaxSegmentLen: m.cfg.MaxFrameSize, MaxFrameLen: uint64(m.cfg.MaxFrameSize) + 4096}
}

// begin starts an event: the previous event's Ready is consumed by now.
func (m *Machine) begin() { m.rd.Reset() }

// end returns the event's Ready.
func (m *Machine) end() *Ready {
	m.rd.AckDue = m.ph == phReady && m.st != nil && m.ackLeft > 0 && !m.policy.Lossy
	return &m.rd
}

func (m *Machine) setTimer(t Timer, at time.Time) {
	m.timers[t] = at
	m.rd.Emit(SetTimer{Timer: t, At: at})
}

func (m *Machine) stopTimer(t Timer) {
	if !m.timers[t].IsZero() {
		m.timers[t] = time.Time{}
		m.rd.Emit(StopTimer{Timer: t})
	}
}

func (m *Machine) protoErr(reason string, err error) error {
	return &ProtocolError{State: m.ph.String(), Reason: reason, Err: err}
}

// writeFrame queues a control frame on the current socket.
func (m *Machine) writeFrame(now time.Time, f wire.ControlFrame) bool {
	out, err := m.st.control(m.rd.Bufs, f)
	if err != nil {
		m.fault(now, m.protoErr("encoding "+f.Tag().String(), err))
		return false
	}
	m.rd.Bufs = out
	return true
}

// writeControl is writeFrame for a frame whose payload is encoded in
// payload: without a ControlFrame value to box, the per-message frames
// (ACK, KEEPALIVE2, KEEPALIVE2_ACK) cost no allocation.
func (m *Machine) writeControl(now time.Time, tag wire.Tag, payload []byte) bool {
	out, err := m.st.controlPayload(m.rd.Bufs, tag, payload)
	if err != nil {
		m.fault(now, m.protoErr("encoding "+tag.String(), err))
		return false
	}
	m.rd.Bufs = out
	return true
}

// ---- events ----

// Start begins a client connection: it returns a Dial. Calling it on a
// Machine in standby (or with a lazy connection) starts connecting.
func (m *Machine) Start(now time.Time) *Ready {
	m.begin()
	switch {
	case m.ph == phNone && m.target.Type != encoding.AddrTypeNone && !m.hasSocket:
		m.startConnect(now)
	case m.ph == phStandby && !m.policy.Server:
		if m.serverCookie != 0 {
			m.connectSeq++
		}
		m.startConnect(now)
	}
	return m.end()
}

func (m *Machine) startConnect(now time.Time) {
	if m.target.Type == encoding.AddrTypeNone {
		m.stop(now, fmt.Errorf("%w: no address to reconnect to %v", ErrSocket, m.peerAddrs), true)
		return
	}
	m.ph = phDialing
	m.isClient = true
	m.hasSocket = true
	m.rd.Emit(Dial{Addr: m.target})
	if m.cfg.HandshakeTimeout > 0 {
		m.setTimer(TimerHandshake, now.Add(m.cfg.HandshakeTimeout))
	}
}

// Connected reports that the socket from Dial is up.
func (m *Machine) Connected(now time.Time) *Ready {
	m.begin()
	if m.ph != phDialing {
		return m.end()
	}
	m.st = newStream(m.limits(), m.cfg.PreSessionBudget, m.cfg.StreamSums)
	m.globalSeq = m.env.NextGlobalSeq(0)
	m.ph = phBannerConnecting
	m.lastActive = now
	m.writeBanner()
	return m.end()
}

// Accepted begins a server connection on a socket accepted from remote.
func (m *Machine) Accepted(now time.Time, remote netip.AddrPort) *Ready {
	m.begin()
	if m.ph != phNone || m.hasSocket {
		return m.end()
	}
	m.hasSocket = true
	m.isClient = false
	m.target = encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: remote}
	m.st = newStream(m.limits(), m.cfg.PreSessionBudget, m.cfg.StreamSums)
	m.ph = phBannerAccepting
	m.lastActive = now
	if m.cfg.HandshakeTimeout > 0 {
		m.setTimer(TimerHandshake, now.Add(m.cfg.HandshakeTimeout))
	}
	m.writeBanner()
	return m.end()
}

func (m *Machine) writeBanner() {
	sup := wire.SupportedFeatures
	if m.cfg.DisableRev1 {
		sup &^= wire.FeatureRevision1
	}
	b := wire.AppendBanner(nil, wire.Banner{Supported: sup})
	m.st.txLog = append(m.st.txLog, b...)
	m.rd.Bufs = append(m.rd.Bufs, b)
}

// Received feeds bytes read from the socket. p is not retained.
func (m *Machine) Received(now time.Time, p []byte) *Ready {
	m.begin()
	switch {
	case m.ph == phLookup:
		m.lookupBuf = append(m.lookupBuf, p...)
	case m.st != nil && len(p) > 0:
		m.lastActive = now
		m.st.dec.Feed(p)
		m.process(now)
		m.releaseRx()
	}
	return m.end()
}

// ReadBuffer returns a buffer for the next socket read, of at least min
// bytes, or exactly what a big incoming message still needs, or, between
// frames after a big message, that message's size: the read then lands
// where it is decoded (no copy), and a big message is read straight into
// the buffer it is delivered in. Report the bytes read with
// Commit, at once: no other Machine method may run in between. The buffer
// must not be used after Commit.
//
// The read goes into the decoder
// when the Machine decodes (readDec remembers which), else a scratch
// buffer whose bytes commit hands to received.
func (m *Machine) ReadBuffer(min int) []byte {
	min = max(min, 1)
	if m.ph != phLookup && m.st != nil {
		if b := m.st.dec.ReadSpace(min); len(b) > 0 {
			m.readDec = m.st.dec
			return b
		}
		// The decoder failed (its budget refused more room): a read
		// into the scratch buffer makes the failure come out of
		// received.
	}
	m.readDec = nil
	if len(m.readScratch) < min {
		m.readScratch = make([]byte, min)
	}
	return m.readScratch
}

// Commit reports n > 0 bytes read into the last ReadBuffer; it is
// Received for those bytes. A reader goes on until a read returns nothing
// and then calls Unread, which is when an idle session's buffer goes back.
func (m *Machine) Commit(now time.Time, n int) *Ready {
	dec := m.readDec
	m.readDec = nil
	if dec == nil {
		// No decoder to read into (or a Lookup out): the bytes are in
		// the scratch buffer.
		p := m.readScratch[:min(max(n, 0), len(m.readScratch))]
		m.readScratch = nil
		return m.Received(now, p)
	}
	m.begin()
	// The stream cannot change between ReadBuffer and Commit (both run
	// on the connection's loop, back to back); if it did, the bytes
	// belonged to a socket no longer ours.
	if m.st != nil && m.st.dec == dec && n > 0 {
		m.lastActive = now
		dec.Commit(n)
		m.process(now)
	} else {
		dec.Commit(0) // ends the read: an RxBuffer it pinned is let go
	}
	return m.end()
}

// Awaiting is how many bytes the big frame under way still needs beyond
// those read (0: none under way; small frames are not counted).
func (m *Machine) Awaiting() int {
	if m.st == nil || m.st.dec == nil {
		return 0
	}
	return m.st.dec.Awaiting()
}

// Unread ends a read loop: after a ReadBuffer whose read returned
// nothing (would block, EOF or an error), or after the last Commit. The
// receive buffer goes back to the pool if the Machine has nothing
// buffered, or shrinks to the frame under way, so that a session between
// reads holds only the bytes in flight. It changes no state and hands out
// no Ready.
func (m *Machine) Unread() {
	if m.readDec == nil || m.st != nil && m.st.dec == m.readDec {
		m.releaseRx()
	}
	m.readDec, m.readScratch = nil, nil
}

// Writable returns how many of bufs, the Ready Bufs not yet
// written to the current socket, in order (partly written ones trimmed),
// may be written now; call it before each write (with Config.StreamSums;
// without, it returns len(bufs)). In crc mode a big segment goes out
// while its crc is computed chunk by chunk (the crc travels in the
// epilogue, after the data): Writable sums the chunk about to be written
// and holds back what follows the next unsummed one. A big secure frame
// is listed with placeholders that Writable replaces in bufs with the
// chunks it seals: the driver writes bufs[:n] as Writable left them. It
// also gives back the staging buffers of secure frames already written.
func (m *Machine) Writable(bufs [][]byte) int {
	if m.st == nil {
		return len(bufs)
	}
	return m.st.sums.Writable(bufs)
}

// Written reports that every buffer of the Readies handed out so far has
// been written to the socket or dropped, none waiting in the driver: the
// memory behind them (the crc-mode arena's chunk, secure frames' staging
// buffers) goes back to the pools, so that a session with nothing to write
// holds none. Call it when the driver's output empties, never while a
// Ready is being carried out. It hands out no Ready.
func (m *Machine) Written() {
	if m.st != nil {
		m.st.written()
	}
}

// releaseRx gives the decoder's receive buffer back to the shared pool
// when everything read is decoded (else shrinks it to the frame under
// way), so that a session between reads holds none. It runs where bytes
// were decoded outside a read loop (Received, after a Lookup, Adopted)
// and where a read loop ends (Unread), not after every Commit: a
// connection keeps its buffer from one read to the next of a loop. No
// frame's bytes outlive their handling: messages are copied or detached,
// control frames decoded into values, and the handlers of handshake
// frames keep no payload (the next read would overwrite it as well).
func (m *Machine) releaseRx() {
	if m.st != nil {
		m.st.dec.Release()
	}
}

// process handles every whole banner and frame buffered in the stream.
func (m *Machine) process(now time.Time) {
	for m.st != nil && m.ph != phLookup && m.ph != phClosed {
		st := m.st
		if !st.bannerIn {
			bn, raw, err := st.dec.Banner()
			if err != nil {
				m.fault(now, m.protoErr("banner", err))
				return
			}
			if raw == nil {
				break
			}
			st.rxLog = append(st.rxLog, raw...)
			m.handleBanner(now, bn)
			continue
		}
		f, err := st.dec.Next()
		if err != nil {
			m.fault(now, m.protoErr("frame", err))
			return
		}
		if f == nil {
			break
		}
		if st.preAuth {
			st.rxLog = append(st.rxLog, f.Raw...)
		}
		m.handleFrame(now, f)
	}
	if m.ph == phReady {
		m.flushMessages(now) // the ACK waits for WriteAck (Ready.AckDue)
	}
}

// WriteAck frames the ACK still owed for the messages received, if no
// frame has carried it since (Ceph's write_event after handle_message).
func (m *Machine) WriteAck(now time.Time) *Ready {
	m.begin()
	if m.ph == phReady && m.st != nil {
		m.writeAck(now)
	}
	return m.end()
}

// Send queues msg. It is framed at once when the session is open, or when
// it next opens; on a lossy connection that is closed it is Discarded.
func (m *Machine) Send(now time.Time, msg *OutMessage) *Ready {
	m.begin()
	if m.ph == phClosed {
		m.rd.Emit(Discarded{Msgs: []*OutMessage{msg}})
		return m.end()
	}
	m.outq.Push(msg)
	switch {
	case m.ph == phReady:
		m.flush(now)
	case m.ph == phStandby && !m.policy.Server:
		if m.serverCookie != 0 {
			m.connectSeq++
		}
		m.startConnect(now)
	}
	return m.end()
}

// SendKeepalive sends a KEEPALIVE2 stamped now (or when the session next
// opens); its answer comes back as a KeepaliveAck.
func (m *Machine) SendKeepalive(now time.Time) *Ready {
	m.begin()
	if m.ph != phClosed {
		m.keepalive = true
		if m.ph == phReady {
			m.flush(now)
		}
	}
	return m.end()
}

// TimerFired reports that t expired. Stale firings are ignored.
func (m *Machine) TimerFired(now time.Time, t Timer) *Ready {
	m.begin()
	if int(t) >= timerCount || m.timers[t].IsZero() {
		return m.end()
	}
	m.timers[t] = time.Time{}
	switch t {
	case TimerBackoff:
		if m.ph == phBackoff {
			m.startConnect(now)
		}
	case TimerHandshake:
		if (m.ph.connecting() && m.ph != phBackoff) || (m.ph.accepting() && m.ph != phLookup) || m.ph == phReplacing {
			m.fault(now, fmt.Errorf("%w: handshake not done after %v", ErrTimeout, m.cfg.HandshakeTimeout))
		}
	case TimerIdle:
		if m.ph != phReady {
			break
		}
		if idle := now.Sub(m.lastActive); idle >= m.cfg.IdleTimeout {
			m.fault(now, fmt.Errorf("%w: idle for %v", ErrTimeout, idle))
		} else {
			m.setTimer(TimerIdle, m.lastActive.Add(m.cfg.IdleTimeout))
		}
	}
	return m.end()
}

// SocketError reports that the socket failed (read/write error, EOF, or
// a failed dial). It is a fault: what follows depends on the policy.
func (m *Machine) SocketError(now time.Time, err error) *Ready {
	m.begin()
	switch m.ph {
	case phLookup:
		if m.deferredErr == nil {
			m.deferredErr = err
		}
	case phReplacing:
		// The socket handed to us never arrived.
		m.fault(now, fmt.Errorf("%w: adopting a socket: %w", ErrSocket, err))
	case phNone, phClosed, phStandby, phBackoff:
		// No socket of ours: a late report about one already closed.
	default:
		m.onSocketError(now, err)
	}
	return m.end()
}

func (m *Machine) onSocketError(now time.Time, err error) {
	if m.ph == phDialing && errors.Is(err, syscall.ECONNREFUSED) {
		m.rd.Emit(Refused{Err: err})
	}
	m.fault(now, fmt.Errorf("%w: %w", ErrSocket, err))
}

// MarkDown closes the connection for good: queued messages are Discarded,
// and the Machine ends with Closed (no Reset callback: the caller asked).
func (m *Machine) MarkDown(now time.Time) *Ready {
	m.begin()
	if m.ph == phLookup {
		m.deferredDown = true
		return m.end()
	}
	m.stop(now, ErrMarkedDown, false)
	return m.end()
}

// State returns the Machine's coarse state.
func (m *Machine) State() State {
	switch {
	case m.ph == phNone:
		return StateNone
	case m.ph == phBackoff && m.backoff == m.maxBackoff && m.backoffFromWait:
		return StateWait
	case m.ph == phBackoff:
		return StateBackoff
	case m.ph.connecting():
		return StateConnecting
	case m.ph.accepting() || m.ph == phReplacing:
		return StateAccepting
	case m.ph == phReady:
		return StateReady
	case m.ph == phStandby:
		return StateStandby
	case m.ph == phWait:
		return StateWait
	}
	return StateClosed
}

// Peer returns the peer's entity name (type known after HELLO, number
// after ident) and addresses.
func (m *Machine) Peer() (encoding.EntityName, encoding.EntityAddrVec) {
	return encoding.EntityName{Type: m.peerType, Num: m.peerGID}, m.peerAddrs
}

// Queued returns how many messages are queued or sent but not acked.
func (m *Machine) Queued() int { return m.outq.Len() }

// EachQueued calls f with every message the Machine holds (queued, or
// sent and not acked), for a driver that replaces a payload's memory with
// a copy of the same bytes; f must not call the Machine.
func (m *Machine) EachQueued(f func(*OutMessage)) { m.outq.Each(f) }

// SumAll computes every crc still waiting for its chunk to be written
// and seals every secure chunk still to seal (see Writable): after it no
// frame reads the payload it was built from, and the driver may replace
// any of the buffers it holds to write with a copy of the same bytes.
func (m *Machine) SumAll() {
	if m.st != nil {
		m.st.sums.SumAll()
	}
}

// Seqs returns out_seq and in_seq, for dumps.
func (m *Machine) Seqs() (out, in uint64) { return m.outq.Seq(), m.inSeq }

// ---- faults ----

// dropSocket forgets the current socket (and its codec and auth state).
func (m *Machine) dropSocket(err error) {
	if m.hasSocket {
		hs := m.ph.connecting() || m.ph.accepting() || m.ph == phReplacing
		m.rd.Emit(CloseSocket{Err: err, Phase: m.ph.String(), Peer: m.target, Handshake: hs})
		m.hasSocket = false
	}
	// Frames queued after the last event were for this socket.
	m.rd.DropPendingBufs()
	for _, st := range [...]*stream{m.st, m.adopt} {
		if st != nil {
			st.dec.SetBudget(nil)
		}
	}
	m.st, m.adopt = nil, nil
	m.authC, m.authS, m.sessKey = nil, nil, nil
	m.stopTimer(TimerHandshake)
	m.stopTimer(TimerIdle)
}

// fault is ProtocolV2::_fault: what a socket or protocol failure does,
// by policy.
func (m *Machine) fault(now time.Time, err error) {
	if m.ph == phClosed || m.ph == phNone {
		return
	}
	if m.policy.Lossy && !m.ph.connecting() {
		m.stop(now, err, true)
		return
	}
	m.dropSocket(err)
	m.requeueSent()
	if m.queueEmpty() && m.ph.accepting() && !m.replacing {
		m.stop(now, err, true)
		return
	}
	m.replacing = false
	m.reconnecting = false
	if m.policy.Standby && m.queueEmpty() && !m.keepalive && m.ph != phWait {
		m.ph = phStandby
		return
	}
	if m.policy.Server {
		m.ph = phStandby
		return
	}
	if !m.ph.connecting() && m.ph != phWait && m.ph != phSessionAccepting && m.ph != phLookup {
		// An open session broke: reconnect at once.
		m.connectSeq++
		m.backoff = 0
		m.backoffFromWait = false
		m.startConnect(now)
		return
	}
	m.backoffFromWait = m.ph == phWait
	switch {
	case m.ph == phWait:
		m.backoff = m.maxBackoff
	case m.backoff == 0:
		m.backoff = m.cfg.InitialBackoff
	default:
		m.backoff = min(2*m.backoff, m.maxBackoff)
	}
	if m.serverCookie != 0 {
		m.connectSeq++
	}
	m.ph = phBackoff
	m.setTimer(TimerBackoff, now.Add(m.backoff))
}

// stop is ProtocolV2::stop, plus the reset report Ceph queues after it.
func (m *Machine) stop(now time.Time, err error, report bool) {
	if m.ph == phClosed {
		return
	}
	m.dropSocket(err)
	m.discardAll()
	m.stopTimer(TimerBackoff)
	m.ph = phClosed
	if report && m.announced {
		m.rd.Emit(Reset{Err: err})
	}
	m.rd.Emit(Closed{Err: err})
}

// resetSession is ProtocolV2::reset_session: the peer lost our session.
func (m *Machine) resetSession() {
	m.discardAll()
	m.rd.Emit(Reset{Remote: true, Err: ErrSessionReset})
	m.outq.ResetSeq(0)
	m.inSeq = 0
	m.clientCookie, m.serverCookie = 0, 0
	m.connectSeq, m.peerGlobalSeq, m.messageSeq = 0, 0, 0
	m.ackLeft = 0
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
		m.rd.Emit(Discarded{Msgs: all})
	}
}

// flush writes what is due on an open session: a keepalive, the requeued
// messages, the queue by priority, then an ACK if one is owed.
func (m *Machine) flush(now time.Time) {
	if m.flushMessages(now) {
		m.writeAck(now)
	}
}

// flushMessages is flush without the ACK; false if it could not write.
func (m *Machine) flushMessages(now time.Time) bool {
	if m.ph != phReady || m.st == nil {
		return false
	}
	if m.keepalive {
		m.keepalive = false
		ka := wire.Keepalive2{Timestamp: encoding.UTimeOf(now)}
		if !m.writeControl(now, ka.Tag(), ka.AppendPayload(m.ctlTmp[:0])) {
			return false
		}
	}
	lossyDone := len(m.rd.Acked) // lossy: framed messages go to acked
	for msg := m.outq.Next(); msg != nil; msg = m.outq.Next() {
		h := &msg.Header
		h.AckSeq = m.inSeq
		m.ackLeft = 0
		h.FrontLen = uint32(len(msg.Payload.Front))
		h.MiddleLen = uint32(len(msg.Payload.Middle))
		h.DataLen = uint32(len(msg.Payload.Data))
		out, err := m.st.message(m.rd.Bufs, h, &msg.Payload, msg.DataSum)
		if err != nil {
			// Put it back so that a lossless session keeps it.
			m.outq.Unsend(msg)
			// As before, lossy messages framed so far are not reported.
			clear(m.rd.Acked[lossyDone:])
			m.rd.Acked = m.rd.Acked[:lossyDone]
			m.fault(now, fmt.Errorf("%w: encoding message seq %d: %w", ErrProtocol, h.Seq, err))
			return false
		}
		m.rd.Bufs = out
		if m.policy.Lossy {
			m.rd.Acked = append(m.rd.Acked, msg)
		} else {
			m.outq.Sent(msg)
		}
	}
	return true
}

// writeAck frames an ACK if one is owed.
func (m *Machine) writeAck(now time.Time) {
	if m.ackLeft > 0 && !m.policy.Lossy {
		m.ackLeft = 0
		ack := wire.Ack{Seq: m.inSeq}
		m.writeControl(now, ack.Tag(), ack.AppendPayload(m.ctlTmp[:0]))
	}
}

func (m *Machine) handleAck(seq uint64) {
	if m.policy.Lossy {
		return
	}
	m.rd.Acked = m.outq.Ack(seq, m.rd.Acked)
}

// detach takes over the buffer of the frame just decoded, if it has one
// of its own.
func (m *Machine) detach() *wire.Buf {
	if m.st == nil {
		return nil
	}
	return m.st.dec.Detach()
}

// ready is ProtocolV2::ready: the session is open on this socket.
func (m *Machine) ready(now time.Time) {
	m.reconnecting = false
	m.replacing = false
	m.ph = phReady
	if m.st != nil {
		m.st.dec.Establish()
		if m.cfg.RxBuffer != nil {
			m.st.dec.SetRouter(m.routeData)
		}
	}
	m.announced = true
	m.lastActive = now
	m.stopTimer(TimerHandshake)
	if m.cfg.IdleTimeout > 0 {
		m.setTimer(TimerIdle, now.Add(m.cfg.IdleTimeout))
	}
	m.flush(now)
}

func (m *Machine) established(reconnected bool) {
	m.rd.Emit(Established{
		Peer:         encoding.EntityName{Type: m.peerType, Num: m.peerGID},
		PeerAddrs:    m.peerAddrs,
		Features:     m.features,
		Accepted:     !m.isClient,
		Reconnected:  reconnected,
		AuthGlobalID: m.authGID,
		ConMode:      m.conMode,
	})
}

// routeData is the decoder's wire.Router: Config.RxBuffer asked with the
// header's tid and type.
func (m *Machine) routeData(hdr []byte, n int) *message.RxBuffer {
	var h message.Header
	if message.DecodeHeader2(&h, hdr) != nil {
		return nil
	}
	return m.cfg.RxBuffer(h.Tid, h.Type, n)
}

// inMessage builds the InMessage for a MESSAGE frame from the current
// stream's decoder. A big frame that arrived in a buffer of its own is
// taken over (wire.Decoder.Detach): the payload aliases it, no copy.
// Otherwise the frame's buffers belong to the decoder, so the segments are
// copied (once), from wire.MinPooledCopy bytes on into a pooled buffer that
// Payload.Owner gives back after Decode (message.Payload's rule).
func (m *Machine) inMessage(f *wire.Frame) (*InMessage, error) {
	in := NewInMessage()
	if err := message.DecodeHeader2(&in.Header, f.Segment(wire.SegHeader)); err != nil {
		return nil, err
	}
	front, middle, data := f.Segment(wire.SegFront), f.Segment(wire.SegMiddle), f.Segment(wire.SegData)
	if f.DataRouted {
		// The data is in an RxBuffer's memory (Config.RxBuffer), the
		// message's as it is.
		in.Payload.Data, data = data, nil
	}
	if b := m.detach(); b != nil {
		// Segments are capped at their lengths (three-index slices), so
		// an append to one never runs into the next.
		in.Payload.Front, in.Payload.Middle = front, middle
		if !f.DataRouted {
			in.Payload.Data = data
		}
		in.Payload.Owner = b
		m.handedOver++
	} else {
		n := len(front) + len(middle) + len(data)
		var buf []byte
		if n >= wire.MinPooledCopy {
			buf = in.buf.Get(n)
			in.Payload.Owner = &in.buf
		} else {
			buf = make([]byte, n)
		}
		n = copy(buf, front)
		in.Payload.Front = buf[:n:n]
		n2 := n + copy(buf[n:], middle)
		in.Payload.Middle = buf[n:n2:n2]
		if !f.DataRouted {
			copy(buf[n2:], data)
			in.Payload.Data = buf[n2:]
		}
	}
	in.Header.Src = encoding.EntityName{Type: m.peerType, Num: m.peerGID}
	in.Header.FrontLen = uint32(len(front))
	in.Header.MiddleLen = uint32(len(middle))
	in.Header.DataLen = uint32(len(in.Payload.Data))
	return in, nil
}

// Package v2 is Ceph's msgr2 protocol (ProtocolV2) as a pure state machine,
// client and server side: it does no I/O, owns no goroutine and reads no
// clock. A connection drives one Machine from its loop goroutine: it feeds
// events in (socket connected or accepted, bytes read, a message to send, a
// timer fired, a socket error, mark down) and carries out the Ready that
// comes back: bytes to write, messages delivered and acked, and events in
// order (dial, close the socket, start a timer, report a reset, ...).
//
// The Machine owns the session (cookies, global_seq, connect_seq, in_seq,
// out_seq, the queue of messages sent but not acknowledged) and the codec
// of the current socket (banner, frames rev0/rev1, crc or secure mode,
// the pre-auth signatures), so that a new socket resumes the session where
// the old one left off.
//
// What a fault does follows the Policy, as in ProtocolV2::_fault: a lossy
// connection is closed and its session reset; a lossless client
// reconnects, at once if the session was open, else after a backoff that
// doubles from InitialBackoff to MaxBackoff (MaxBackoff after WAIT); a
// server, or a standby connection with nothing to send, waits for the
// peer (or, if not a server, for the next Send). Sent messages stay queued
// until acknowledged and are sent again, with their seqs, after a
// reconnect; the peer drops the ones it already had.
//
// Server-side session reuse and connection races need a second connection:
// the one the messenger already has for the peer. The Machine never touches
// another Machine; it asks the messenger (Lookup), the messenger asks the
// existing connection's Machine on that connection's loop (Arbitrate), and
// hands the answer back (Resolve). See Lookup for the exact protocol.
//
// The msgr1 Machine (internal/protocol/v1) speaks to the connection in
// this package's terms (Config, Env, Policy, OutMessage, InMessage, the
// Ready and errors), so that one connection drives either protocol
// through the same event switch, and keeps its outbound messages in an
// OutQueue as this Machine does.
//
// Ceph references: src/msg/async/ProtocolV2.{h,cc} (Pacific), src/msg/Policy.h.
package v2

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// Policy is the part of Ceph's Messenger::Policy the protocol obeys. The
// named policies (lossy_client, lossless_peer, ...) are combinations of
// these flags; the messenger chooses one per peer type.
type Policy struct {
	// Lossy: on any fault drop the session and its queued messages and
	// report a reset; never reconnect.
	Lossy bool
	// Server: never initiate a reconnect; after a fault wait (standby)
	// for the peer to reconnect.
	Server bool
	// Standby: after a fault with nothing queued, wait instead of
	// reconnecting; reconnect when a message is sent.
	Standby bool
	// ResetCheck: when the peer comes back with a session we do not know
	// (or a new incarnation), reset ours and report a remote reset.
	ResetCheck bool
	// FeaturesRequired are Ceph feature bits the peer must support.
	FeaturesRequired uint64
}

// Env is what a Machine asks of its messenger while it runs. Its methods
// are called synchronously from the Machine's methods (so from the
// connection's loop); they must not call back into the Machine. They may
// be called by many Machines on many loops at once.
type Env interface {
	// MyAddrs returns the messenger's current addresses (what goes in
	// CLIENT_IDENT and SERVER_IDENT). They may change after a
	// LearnedAddr action has been handled.
	MyAddrs() encoding.EntityAddrVec
	// NextGlobalSeq returns the messenger's next global_seq: larger than
	// every value returned before and than atLeast (Ceph's
	// get_global_seq(old)).
	NextGlobalSeq(atLeast uint64) uint64
	// Policy returns the policy for peers of the given entity type. A
	// server learns the peer's type from HELLO and asks then.
	Policy(peerType uint8) Policy
	// AuthClient returns a fresh client handler for one authentication
	// exchange with a peer of the given type (one per socket).
	AuthClient(peerType uint8) (auth.ClientHandler, error)
	// AuthServer returns a fresh server handler for one exchange with a
	// peer of the given type (one per socket).
	AuthServer(peerType uint8) (auth.ServerHandler, error)
	// Cookie returns a random non-zero 64-bit value (client and server
	// cookies). Tests make it deterministic.
	Cookie() uint64
}

// Config is a Machine's fixed configuration.
type Config struct {
	Env Env
	// Me is this messenger's entity name; Me.Num is the gid sent in
	// CLIENT_IDENT / SERVER_IDENT (-1 when unknown, as Ceph sends it).
	Me encoding.EntityName
	// SupportedFeatures and RequiredFeatures are Ceph feature bits
	// (CEPH_FEATURES_ALL and the messenger's required set). Zero
	// SupportedFeatures means encoding.FeaturesAll.
	SupportedFeatures uint64
	RequiredFeatures  uint64
	// DisableRev1 makes the banner offer msgr2.0 only (frames rev0), for
	// tests and for peers that cannot do rev1. The default offers and
	// prefers rev1.
	DisableRev1 bool
	// InitialBackoff and MaxBackoff bound the wait before a lossless
	// client reconnects (ms_initial_backoff 0.2 s, ms_max_backoff 15 s,
	// the defaults when zero). After WAIT the wait is MaxBackoff.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// HandshakeTimeout bounds the time from connect/accept to open
	// (ms_connection_ready_timeout, default 10 s); negative disables it.
	HandshakeTimeout time.Duration
	// IdleTimeout faults an open connection that has received nothing
	// for that long (ms_connection_idle_timeout, default 900 s);
	// negative disables it.
	IdleTimeout time.Duration
	// MaxFrameSize bounds a received frame: its segments together, framing
	// aside. Zero means wire.DefaultLimits (512 MiB). A frame over it is a
	// protocol error, found from its preamble before its bytes are read.
	// Until the session is established frames are bounded by
	// wire.PreSessionLimits instead.
	MaxFrameSize uint32
	// PreSessionBudget, if set, is charged with the receive buffers of
	// this Machine's sockets until their session is established (shared
	// by a messenger's connections); a socket that would go over it is
	// faulted with a protocol error wrapping wire.ErrMemory.
	PreSessionBudget *wire.Budget
	// StreamSums says the driver calls Writable before each write, and
	// writes what it let through as it left it: crc mode then sends big
	// segments while their crcs are computed, secure mode seals big
	// frames chunk by chunk (see Writable). Without it every buffer in a
	// Ready's Bufs is complete.
	StreamSums bool
	// RxBuffer, if set, is asked where the data of a big incoming
	// message goes once its header is in (tid, type, data length): an
	// RxBuffer it has claimed (message.RxBuffer.Claim) receives the data
	// straight from the socket, crc mode only (see wire.Decoder.SetRouter
	// and Ceph's Connection::post_rx_buffer); nil leaves it to a pooled
	// buffer. A message whose RxBuffer is revoked while its data arrives
	// is dropped (its seq counted), so only lossy connections' posters
	// that can do without the message (an op's reply once the op is
	// gone) should post.
	RxBuffer func(tid uint64, typ uint16, dataLen int) *message.RxBuffer
	// FaultOnSeqGap faults a connection on which a message arrives with
	// a seq beyond the next one expected. Ceph accepts such gaps (only
	// ms_die_on_skipped_message objects), and so does the default.
	FaultOnSeqGap bool

	// PeerType and PeerAddrs are the peer a client Machine connects to.
	// A server Machine learns them from HELLO and CLIENT_IDENT.
	PeerType  uint8
	PeerAddrs encoding.EntityAddrVec
}

// OutMessage is a message handed to Send: its header and encoded payload
// (as message.EncodeMessage makes them). The Machine keeps a pointer to it
// until the peer acknowledges it (Acked) or it is dropped (Discarded); the
// caller must not modify it or its buffers meanwhile. In crc mode Front,
// Middle and Data are written as they are, never copied.
type OutMessage struct {
	// Header: the Machine sets Seq (when the message is first framed)
	// and AckSeq; read them only from the loop.
	Header  message.Header
	Payload message.Payload
	// DataSum, when taken, is Payload.Data's crc for the framing the
	// sender expects (msgr2 crc mode or msgr1), so that the loop does not
	// sum the data again; a framing it is not for ignores it (see
	// wire.PreSum).
	DataSum wire.PreSum
	// Ref is the caller's own; the Machine never reads it. It lets the
	// messenger find its message (and throttle budget) in Acked and
	// Discarded.
	Ref any
}

// InMessage is a message received from the peer: header2's fields, Src
// (the peer's entity name) and the segment lengths filled in. Its buffers
// belong to the receiver (the Machine never reuses them); a big message's
// arrive in a pooled buffer, Payload.Owner, which the receiver gives back
// once done (see message.Payload).
type InMessage struct {
	Header  message.Header
	Payload message.Payload
	// buf is the pooled copy of a frame's segments when it is
	// Payload.Owner: kept here, it costs no allocation of its own.
	buf wire.Buf
}

// inMessages recycles InMessages: one a message received, on the
// connection's loop, which a driver gives back once dispatched.
var inMessages = sync.Pool{New: func() any { return new(InMessage) }}

// NewInMessage returns an empty InMessage, a recycled one when there is.
func NewInMessage() *InMessage { return inMessages.Get().(*InMessage) }

// FreeInMessage gives in back for reuse, once nothing refers to it any
// more: its payload's buffer given back, never taken (Payload.Take), since
// a taken buffer may live in in. Optional: an InMessage never freed is
// garbage as any other value.
func FreeInMessage(in *InMessage) {
	*in = InMessage{}
	inMessages.Put(in)
}

// Timer names the timers a Machine uses. Each is either stopped or set
// to one deadline; SetTimer replaces the deadline.
type Timer uint8

const (
	// TimerBackoff ends the wait before a reconnect.
	TimerBackoff Timer = iota + 1
	// TimerHandshake bounds connect/accept to open.
	TimerHandshake
	// TimerIdle checks for an idle open connection.
	TimerIdle
)

func (t Timer) String() string {
	switch t {
	case TimerBackoff:
		return "backoff"
	case TimerHandshake:
		return "handshake"
	case TimerIdle:
		return "idle"
	}
	return fmt.Sprintf("timer(%d)", uint8(t))
}

// Action is one of a Ready's rare events. The concrete types are listed
// below; switch on them.
type Action interface{ isAction() }

// Dial: open a new socket to Addr and call Connected when it is up, or
// SocketError if it fails.
type Dial struct{ Addr encoding.EntityAddr }

// CloseSocket: close the current socket and drop what it still had to
// write; feed no more of its events. The Machine may go on (reconnect,
// standby) unless a Closed action follows. Phase and Peer say where the
// socket was (ProtocolV2's state name; the address dialled, or the
// accepted socket's remote address); Handshake is set when it never
// carried an open session: a failed handshake, worth a log line.
type CloseSocket struct {
	Err       error
	Phase     string
	Peer      encoding.EntityAddr
	Handshake bool
}

// SetTimer: (re)arm Timer to fire at At; call TimerFired then.
type SetTimer struct {
	Timer Timer
	At    time.Time
}

// StopTimer: disarm Timer (a late TimerFired for it is ignored anyway).
type StopTimer struct{ Timer Timer }

// LearnedAddr: the peer sees us at Addr (from its HELLO; sent on every
// HELLO). A messenger that does not know its own IP yet adopts the IP, and
// keeps its own port and nonce (Ceph's learned_addr), before the Machine
// next calls Env.MyAddrs (at CLIENT_IDENT).
type LearnedAddr struct{ Addr encoding.EntityAddr }

// Established: the session is open on this socket (ms_handle_connect on
// a client, ms_handle_accept on a server; Ceph calls them again after every
// reconnect). Reconnected is true when an existing session resumed
// (SESSION_RECONNECT / RECONNECT_OK) rather than a new one starting.
type Established struct {
	Peer         encoding.EntityName
	PeerAddrs    encoding.EntityAddrVec
	Features     uint64 // our supported & the peer's supported
	Accepted     bool   // we are the accepting (server) side
	Reconnected  bool
	AuthGlobalID uint64
	ConMode      uint32
}

// Discarded: these messages will never be sent (lossy fault, session
// reset, mark down); they left the queue.
type Discarded struct{ Msgs []*OutMessage }

// Reset: the session was dropped (only reported for a session that was
// Established at least once). Remote is false when we dropped it: a fault
// on a lossy connection, a banner or auth failure, a lossy connection
// replaced by a new one from the peer (ms_handle_reset). It is true when
// the peer lost it: SESSION_RESET(full), or a peer back with a new session
// where the policy has resetcheck (ms_handle_remote_reset). MarkDown
// reports no Reset.
type Reset struct {
	Remote bool
	Err    error
}

// Refused: the dial was refused (ECONNREFUSED; ms_handle_refused).
type Refused struct{ Err error }

// KeepaliveAck: the peer answered a keepalive sent at Stamp.
type KeepaliveAck struct{ Stamp time.Time }

// Lookup: a server Machine learnt who the peer is (CLIENT_IDENT) or that
// it wants to resume a session (SESSION_RECONNECT) and needs the
// messenger's existing connection to that peer, if any. The Machine waits
// until Resolve, buffering socket bytes and holding back SocketError and
// MarkDown, which take effect after Resolve. The messenger, atomically
// with respect to other lookups and registrations for the same addresses:
//   - finds no other connection registered for Query.PeerAddrs: if
//     !Query.Reconnect it registers this connection for them; then it
//     calls Resolve(now, nil) on this Machine;
//   - finds one, E: on E's loop it calls v, r := E.Arbitrate(now,
//     Query) and carries out r (as E's Ready), then on this
//     connection's loop calls Resolve(now, v). When v.Register is set,
//     this connection replaces E in the registry.
type Lookup struct{ Query *Query }

// HandOff: this Machine's socket now belongs to the existing connection
// (the one Arbitrate was called on). Detach the socket from this
// connection without closing it, attach it to that connection, then call
// Adopted(now, Pending) on that connection's Machine; if the socket cannot
// be moved, call SocketError on that Machine instead (it also gives up by
// itself when its handshake timer fires). A Closed action for this Machine
// follows.
type HandOff struct{ Pending []byte }

// Closed: the Machine is finished (CLOSED); forget the connection and
// unregister it. Err says why: ErrMarkedDown, ErrReplaced after a hand-off
// or when a lossy connection gave way to a new one, ErrStale, or the fault
// that ended a lossy or half-accepted connection.
type Closed struct{ Err error }

func (Dial) isAction()         {}
func (CloseSocket) isAction()  {}
func (SetTimer) isAction()     {}
func (StopTimer) isAction()    {}
func (LearnedAddr) isAction()  {}
func (Established) isAction()  {}
func (Discarded) isAction()    {}
func (Reset) isAction()        {}
func (Refused) isAction()      {}
func (KeepaliveAck) isAction() {}
func (Lookup) isAction()       {}
func (HandOff) isAction()      {}
func (Closed) isAction()       {}

// Query is what a server Machine tells the existing connection about the
// peer that just identified itself. Its exported fields are read-only; the
// rest (the new socket's codec state) moves to the existing Machine if it
// takes the socket over.
type Query struct {
	PeerAddrs encoding.EntityAddrVec
	PeerType  uint8
	Reconnect bool // SESSION_RECONNECT rather than CLIENT_IDENT
	// V1 is set instead of the rest when the Query comes from a msgr1
	// Machine (internal/protocol/v1): its own state, for its Arbitrate.
	V1 any
	q  query
}

// Verdict is the existing connection's answer to a Query.
type Verdict struct {
	// Register: the new connection proceeds with a new session and
	// replaces the existing one in the messenger's registry.
	Register bool
	// V1 is a msgr1 Machine's answer (see Query.V1).
	V1 any
	v  verdict
}

// State is a Machine's coarse state, for logs and tests.
type State uint8

// States, named after ProtocolV2's.
const (
	StateNone State = iota
	StateConnecting
	StateAccepting
	StateReady
	StateStandby
	StateWait
	StateBackoff
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateNone:
		return "NONE"
	case StateConnecting:
		return "CONNECTING"
	case StateAccepting:
		return "ACCEPTING"
	case StateReady:
		return "READY"
	case StateStandby:
		return "STANDBY"
	case StateWait:
		return "WAIT"
	case StateBackoff:
		return "BACKOFF"
	case StateClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Errors. Every error a Machine reports (in CloseSocket, Reset, Closed)
// matches one of these with errors.Is; *ProtocolError adds detail.
var (
	// ErrProtocol: the peer broke the protocol (unexpected frame, bad
	// field, bad crc, bad seq, ...). Matches are also *ProtocolError.
	ErrProtocol = errors.New("msgr2: protocol error")
	// ErrMarkedDown: MarkDown was called.
	ErrMarkedDown = errors.New("msgr2: marked down")
	// ErrTimeout: the handshake or idle timer expired.
	ErrTimeout = errors.New("msgr2: timed out")
	// ErrMissingFeatures: one side lacks features the other requires.
	ErrMissingFeatures = errors.New("msgr2: missing required features")
	// ErrAuth: authentication failed (the auth handler's error, or a bad
	// AUTH_SIGNATURE, is wrapped too).
	ErrAuth = errors.New("msgr2: authentication failed")
	// ErrSessionReset: the peer reset the session (SESSION_RESET, or a
	// reconnect to a session we no longer have).
	ErrSessionReset = errors.New("msgr2: session reset")
	// ErrSocket: the socket failed (the messenger's error is wrapped).
	ErrSocket = errors.New("msgr2: socket error")
	// ErrStale: a connection from an older incarnation or attempt of the
	// peer, dropped in favour of a newer one.
	ErrStale = errors.New("msgr2: stale connection")
	// ErrWait: the peer won a connection race and answered WAIT; the
	// connection backs off (ms_max_backoff) and tries again.
	ErrWait = errors.New("msgr2: peer asked us to wait (connection race)")
	// ErrSeqGap: a message skipped seqs (with Config.FaultOnSeqGap).
	ErrSeqGap = errors.New("msgr2: message seq gap")
	// ErrReplaced: this connection's socket or session moved to another
	// connection (a race or a reconnect resolved by the messenger).
	ErrReplaced = errors.New("msgr2: replaced by another connection")
)

// ProtocolError details an ErrProtocol.
type ProtocolError struct {
	State  string // the Machine's state when it happened
	Reason string
	Err    error // the codec's error, if that is where it came from
}

func (e *ProtocolError) Error() string {
	s := "msgr2: protocol error in " + e.State + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is makes every *ProtocolError match ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Unwrap returns the codec's error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Constructors. Each event method of a Machine (Start, Received, Send,
// TimerFired, ...) returns a Ready to carry out, valid until the next
// call.

// NewClient returns a Machine that will connect to cfg.PeerAddrs. Call
// Start to begin.
func NewClient(cfg Config) (*Machine, error) { return newMachine(cfg, true) }

// NewServer returns a Machine for an accepted socket. Call Accepted to
// begin.
func NewServer(cfg Config) (*Machine, error) { return newMachine(cfg, false) }

// Features returns the features in use with the peer (valid once
// Established).
func (m *Machine) Features() uint64 { return m.features }

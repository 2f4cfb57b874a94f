package msgr

import (
	"errors"

	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

var (
	// ErrConnClosed: the connection was marked down, reset (lossy) or its
	// messenger shut down; it will send nothing more.
	ErrConnClosed = errors.New("msgr: connection closed")
	// ErrQueueFull: Send found the connection's outbound queue at its
	// bound (Options.OutboundQueueMessages / OutboundQueueBytes).
	ErrQueueFull = errors.New("msgr: outbound queue full")
	// ErrShutdown: the messenger is shutting down or has shut down.
	ErrShutdown = errors.New("msgr: messenger shut down")
	// ErrNotStarted: the call needs Start first.
	ErrNotStarted = errors.New("msgr: messenger not started")
	// ErrAlreadyBound: Bind called twice, or after Start.
	ErrAlreadyBound = errors.New("msgr: already bound")
	// ErrNoPort: no port of the range could be bound.
	ErrNoPort = errors.New("msgr: no free port in range")
	// ErrInjected: a socket failure injected by InjectSocketFailures.
	ErrInjected = errors.New("msgr: injected socket failure")
	// ErrBadAddr: an address a connection cannot use.
	ErrBadAddr = errors.New("msgr: bad address")
)

// Why a connection closed (Conn.Err) or a session was reset: the protocol
// machine's errors, re-exported because its package is internal. Match
// them with errors.Is.
var (
	ErrMarkedDown      = v2.ErrMarkedDown      // MarkDown or MarkDownAll
	ErrProtocol        = v2.ErrProtocol        // the peer broke msgr2 (bad frame, crc, field, seq)
	ErrTimeout         = v2.ErrTimeout         // ms_connection_ready_timeout or ms_connection_idle_timeout
	ErrAuth            = v2.ErrAuth            // authentication failed
	ErrSessionReset    = v2.ErrSessionReset    // the peer reset the session
	ErrSocket          = v2.ErrSocket          // the socket failed (wraps the system error)
	ErrStale           = v2.ErrStale           // a newer connection from the peer replaced this one
	ErrReplaced        = v2.ErrReplaced        // the session moved to another connection
	ErrMissingFeatures = v2.ErrMissingFeatures // a side lacks required features
)

package msgr

import "errors"

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

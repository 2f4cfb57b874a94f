package msgr

import (
	"log/slog"
	"time"

	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/perf"
)

// Options configures a Messenger. Fields are named after Ceph's ms_*
// settings (given in each comment); the zero value of a field means Ceph's
// default unless its comment says otherwise.
type Options struct {
	// Logger receives the messenger's logs; nil uses slog.Default().
	Logger *slog.Logger
	// Perf receives the perf counters (Ceph's AsyncMessenger::Worker-N
	// sections and the messenger's own); nil counts nothing.
	Perf *perf.Collection

	// InitialBackoff is ms_initial_backoff (0.2 s): the first wait before a
	// lossless connection reconnects after a fault; it doubles per failed
	// attempt up to MaxBackoff.
	InitialBackoff time.Duration
	// MaxBackoff is ms_max_backoff (15 s).
	MaxBackoff time.Duration

	// TCPNagle clears TCP_NODELAY; Ceph's ms_tcp_nodelay (true) is its
	// negation so that the zero value keeps Ceph's default.
	TCPNagle bool
	// TCPRcvBuf is ms_tcp_rcvbuf (0: the kernel's default).
	TCPRcvBuf int
	// TCPListenBacklog is ms_tcp_listen_backlog (512).
	TCPListenBacklog int

	// BindPortMin and BindPortMax are ms_bind_port_min (6800) and
	// ms_bind_port_max (7300), the range BindPortRange tries.
	BindPortMin int
	BindPortMax int
	// BindRetryCount is ms_bind_retry_count (3) and BindRetryDelay is
	// ms_bind_retry_delay (5 s): how often and how long apart a bind to a
	// busy address is retried.
	BindRetryCount int
	BindRetryDelay time.Duration

	// BindMsgr1 is ms_bind_msgr1: Bind also listens for msgr1 ("ceph
	// v027") on a second port (the next free one of the range with
	// BindPortRange, else one the kernel picks), and the messenger
	// advertises [v2:IP:P1,v1:IP:P2] as Ceph daemons do. Ceph's default is
	// true; here it is false, so that a messenger binds one port unless
	// asked.
	BindMsgr1 bool
	// NoMsgr2 is ms_bind_msgr2 = false (Ceph's default, true, is the zero
	// value): Bind listens for msgr1 only, and connections dial a peer's
	// v1 address even when it offers a v2 one.
	NoMsgr2 bool

	// ConnectionReadyTimeout is ms_connection_ready_timeout (10 s): a
	// connection still handshaking after this long is faulted.
	ConnectionReadyTimeout time.Duration
	// ConnectionIdleTimeout is ms_connection_idle_timeout (900 s): an open
	// connection on which nothing was read for this long is faulted.
	ConnectionIdleTimeout time.Duration

	// DispatchThrottleBytes is ms_dispatch_throttle_bytes (100 MiB): bytes
	// of messages read off the network and not yet dispatched, summed over
	// the messenger. When full, connections stop reading their sockets.
	DispatchThrottleBytes int64
	// DispatchQueueLen bounds the messages waiting for queued dispatch (not
	// a Ceph option; Ceph bounds only bytes). Default 65536.
	DispatchQueueLen int

	// PreSessionMemory bounds the receive buffers held, together, by the
	// connections whose session is not established yet (their peers have
	// not authenticated; not a Ceph option). Each such connection's
	// frames are also capped at wire.PreSessionLimits (64 KiB), and an
	// idle one holds no buffer. A connection that would go over the bound
	// is closed. Default 64 MiB.
	PreSessionMemory int64

	// OutboundQueueMessages and OutboundQueueBytes bound what one Conn
	// holds for sending (queued plus sent and unacknowledged on lossless
	// connections). Not Ceph options: Ceph's queue is unbounded. Defaults
	// 4096 messages and 256 MiB. Conn.Send fails fast with ErrQueueFull
	// when a bound is reached; Conn.SendContext waits for room.
	OutboundQueueMessages int
	OutboundQueueBytes    int64

	// Fault injection, for tests. ms_inject_socket_failures: when > 0, about
	// one socket operation (read or write) in InjectSocketFailures fails,
	// which faults the connection as a real error would.
	InjectSocketFailures uint64
	// InjectDelayType is ms_inject_delay_type: entity type names ("osd",
	// "client", space separated) whose incoming messages are delayed.
	// InjectDelayMsgType is ms_inject_delay_msg_type: message type numbers
	// (decimal, space separated) to delay; empty means every type.
	InjectDelayType    string
	InjectDelayMsgType string
	// InjectDelayMax is ms_inject_delay_max (1 s) and
	// InjectDelayProbability ms_inject_delay_probability (0): a delayed
	// message waits a uniform random time up to InjectDelayMax before
	// dispatch, with this probability.
	InjectDelayMax         time.Duration
	InjectDelayProbability float64
	// InjectInternalDelays is ms_inject_internal_delays (0): a pause
	// inserted at points where races between connections can happen
	// (session reuse, replacing a socket), to widen those windows.
	InjectInternalDelays time.Duration

	// InjectSeed seeds the injection's random numbers (0: random); set it
	// to make a failing run reproducible.
	InjectSeed uint64
}

// withDefaults returns o with Ceph's defaults in every zero field.
func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	setDur := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur(&o.InitialBackoff, v2.DefaultInitialBackoff)
	setDur(&o.MaxBackoff, v2.DefaultMaxBackoff)
	setInt(&o.TCPListenBacklog, 512)
	setInt(&o.BindPortMin, 6800)
	setInt(&o.BindPortMax, 7300)
	setInt(&o.BindRetryCount, 3)
	setDur(&o.BindRetryDelay, 5*time.Second)
	setDur(&o.ConnectionReadyTimeout, v2.DefaultHandshakeTimeout)
	setDur(&o.ConnectionIdleTimeout, v2.DefaultIdleTimeout)
	if o.DispatchThrottleBytes == 0 {
		o.DispatchThrottleBytes = 100 << 20
	}
	setInt(&o.DispatchQueueLen, 65536)
	if o.PreSessionMemory == 0 {
		o.PreSessionMemory = 64 << 20
	}
	setInt(&o.OutboundQueueMessages, 4096)
	if o.OutboundQueueBytes == 0 {
		o.OutboundQueueBytes = 256 << 20
	}
	setDur(&o.InjectDelayMax, time.Second)
	if o.MaxBackoff < o.InitialBackoff {
		o.MaxBackoff = o.InitialBackoff
	}
	return o
}

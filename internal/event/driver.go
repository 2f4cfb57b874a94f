package event

import "time"

// Mask is a set of readiness conditions for a descriptor.
type Mask uint8

const (
	Readable Mask = 1 << iota
	Writable

	// None is the empty mask.
	None Mask = 0
)

func (m Mask) String() string {
	switch m {
	case None:
		return "none"
	case Readable:
		return "r"
	case Writable:
		return "w"
	case Readable | Writable:
		return "rw"
	}
	return "invalid"
}

// Fired is one readiness report from a driver. Errors and hang-ups are
// reported as Readable|Writable so that the next read or write sees them.
type Fired struct {
	FD   int32
	Mask Mask
	// Hangup: the peer closed or the descriptor has an error (epoll's
	// RDHUP, HUP, ERR). A read that came back short may have stopped in
	// front of the EOF, which no new readiness will announce, so a loop
	// does not take such a handler's drained report.
	Hangup bool
}

// Driver is the kernel readiness interface under a Center (Ceph's
// EventDriver). Every method except Wake is called only by the owning
// loop goroutine; Wake is safe from any goroutine.
type Driver interface {
	// Name is "epoll", "kqueue" or "poll".
	Name() string
	// Update changes what fd is watched for from cur (None: not watched)
	// to next (None: forget fd), in one system call where the kernel
	// allows.
	Update(fd int, cur, next Mask) error
	// Wait fills ev with ready descriptors and returns how many. A timeout
	// below zero waits without limit; zero does not wait. A Wake makes it
	// return, possibly with n == 0; its own wakeup descriptor is never
	// reported.
	Wait(ev []Fired, timeout time.Duration) (int, error)
	// Wake makes a current or the next Wait return soon.
	Wake() error
	// Parked reports whether Wait parks the goroutine in the Go runtime's
	// netpoller (true) or blocks its thread in the kernel (false).
	Parked() bool
	// Close releases the kernel objects.
	Close() error
}

// DriverKind selects a driver.
type DriverKind int

const (
	// DriverAuto: epoll on Linux, kqueue on darwin and FreeBSD, else poll.
	DriverAuto DriverKind = iota
	DriverEpoll
	DriverKqueue
	DriverPoll
)

func (k DriverKind) String() string {
	switch k {
	case DriverAuto:
		return "auto"
	case DriverEpoll:
		return "epoll"
	case DriverKqueue:
		return "kqueue"
	case DriverPoll:
		return "poll"
	}
	return "unknown"
}

// WaitMode selects how a loop waits for events.
type WaitMode int

const (
	// WaitAuto picks the measured default: WaitParked where the driver's
	// descriptor is pollable, WaitBlocking otherwise.
	WaitAuto WaitMode = iota
	// WaitParked parks the loop goroutine in the Go netpoller on the
	// driver's descriptor (epoll or kqueue fd), so a wakeup is a goroutine
	// switch rather than a thread wakeup. An epoll loop blocks in
	// epoll_wait instead while the other loops keep every other P busy
	// (Stats.KernelWaits counts those waits).
	WaitParked
	// WaitBlocking blocks the loop's thread in epoll_wait/kevent/poll.
	WaitBlocking
)

func (w WaitMode) String() string {
	switch w {
	case WaitAuto:
		return "auto"
	case WaitParked:
		return "parked"
	case WaitBlocking:
		return "blocking"
	}
	return "unknown"
}

// NewDriver opens a driver of the given kind and wait mode, reporting up
// to nevents descriptors per Wait. WaitParked on a driver that cannot park
// returns ErrUnsupported; WaitAuto falls back to blocking.
func NewDriver(kind DriverKind, mode WaitMode, nevents int) (Driver, error) {
	if nevents <= 0 {
		nevents = DefaultEvents
	}
	return newDriver(kind, mode, nevents)
}

// DefaultEvents is how many ready descriptors one Wait reports at most.
const DefaultEvents = 1024

// Drivers lists the driver kinds available on this platform.
func Drivers() []DriverKind { return platformDrivers() }

// timeoutMillis converts a timeout for epoll_wait/poll, rounding up so
// that a timer is never seen early (which would spin).
func timeoutMillis(d time.Duration) int {
	if d < 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > 1<<30 {
		ms = 1 << 30
	}
	return int(ms)
}

package event

import "errors"

var (
	// ErrStopped: the center's loop has stopped (or is stopping) and no
	// longer accepts work.
	ErrStopped = errors.New("event: center stopped")
	// ErrNotInLoop: a loop-owned method was called from another goroutine
	// (checked in race and msgr_debug builds).
	ErrNotInLoop = errors.New("event: called outside the loop goroutine")
	// ErrExists: AddFile for a descriptor that is already registered.
	ErrExists = errors.New("event: descriptor already registered")
	// ErrStale: a FileID whose registration was removed (or never was).
	ErrStale = errors.New("event: stale file registration")
	// ErrBadFD: a negative descriptor or an empty mask/handler.
	ErrBadFD = errors.New("event: invalid descriptor, mask or handler")
	// ErrRunning: Run called on a center that already ran.
	ErrRunning = errors.New("event: center already ran")
	// ErrUnsupported: the requested driver or wait mode is not available
	// on this platform.
	ErrUnsupported = errors.New("event: unsupported on this platform")
	// ErrPoolReleased: a Lease used after Release.
	ErrPoolReleased = errors.New("event: pool lease already released")
)

// DriverError wraps a failing system call of a driver.
type DriverError struct {
	Driver string // "epoll", "kqueue", "poll"
	Op     string
	FD     int // -1 when not about a registered descriptor
	Err    error
}

func (e *DriverError) Error() string {
	s := "event: " + e.Driver + " " + e.Op
	if e.FD >= 0 {
		s += " fd " + itoa(e.FD)
	}
	return s + ": " + e.Err.Error()
}

func (e *DriverError) Unwrap() error { return e.Err }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

package sock

import "errors"

// ErrClosed is returned by FD.Acquire after Close.
var ErrClosed = errors.New("sock: descriptor closed")

// ErrUnsupported is returned on platforms without socket support here.
var ErrUnsupported = errors.New("sock: unsupported platform")

// OpError records which setup operation failed and on what address.
type OpError struct {
	Op   string // "socket", "bind", "listen", "connect", "accept", "setsockopt", ...
	Addr string // address involved, if any
	Err  error
}

func (e *OpError) Error() string {
	if e.Addr != "" {
		return "sock: " + e.Op + " " + e.Addr + ": " + e.Err.Error()
	}
	return "sock: " + e.Op + ": " + e.Err.Error()
}

func (e *OpError) Unwrap() error { return e.Err }

package sock

import "errors"

// RingOp is one operation of a Ring batch: a send of Buf on FD, or with
// Recv a receive into Buf. Do fills N (bytes moved; 0 on a receive: the
// peer closed) and Err (ErrWouldBlock when the socket had no room or no
// bytes).
type RingOp struct {
	FD   int
	Buf  []byte
	Recv bool
	N    int
	Err  error
}

// ErrNoRing reports that this kernel or process cannot set up an
// io_uring (io_uring_disabled, seccomp, an old kernel, not Linux).
var ErrNoRing = errors.New("sock: io_uring unavailable")

// When a Ring fails, Do sets one of these on each op it did not complete:
//   - ErrNotStarted: the kernel never saw the op; it may be done another
//     way (one system call).
//   - ErrRingLost: the op was started and its completion lost. The
//     kernel may still read or write its buffer, and whether its bytes
//     moved is unknown: its socket no longer holds a stream in order, and
//     the buffer must never be reused.
var (
	ErrNotStarted = errors.New("sock: io_uring failed before the operation started")
	ErrRingLost   = errors.New("sock: io_uring failed with the operation in flight")
)

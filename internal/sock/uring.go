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

package osdc

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors of the Objecter itself (the OSD's own results come as *OSDError).
var (
	// ErrClosed: the Objecter was shut down with the op in flight.
	ErrClosed = errors.New("osdc: objecter closed")
	// ErrTimedOut: the op exceeded Config.OpTimeout (rados_osd_op_timeout).
	// It matches syscall.ETIMEDOUT with errors.Is, as librados returns
	// -ETIMEDOUT.
	ErrTimedOut = &OSDError{Errno: syscall.ETIMEDOUT}
)

// OSDError is a negative result from an OSD (or the Objecter's equivalent,
// such as ENOENT for a pool that does not exist). It matches its errno with
// errors.Is: errors.Is(err, syscall.ENOENT).
type OSDError struct {
	Pool  int64
	Oid   string
	Errno syscall.Errno
}

func (e *OSDError) Error() string {
	if e.Oid == "" && e.Pool == 0 {
		return fmt.Sprintf("osdc: %v", e.Errno)
	}
	return fmt.Sprintf("osdc: pool %d object %q: %v", e.Pool, e.Oid, e.Errno)
}

// Unwrap returns the errno, so that errors.Is matches syscall errnos.
func (e *OSDError) Unwrap() error { return e.Errno }

// Is matches another *OSDError with the same errno (ErrTimedOut).
func (e *OSDError) Is(target error) bool {
	t, ok := target.(*OSDError)
	return ok && t.Errno == e.Errno && t.Oid == "" && t.Pool == 0
}

// errnoOf converts a Ceph result (a negative errno) to an error; Linux and
// Ceph errno numbers agree for every value an OSD returns to clients.
func errnoOf(pool int64, oid string, r int32) error {
	if r >= 0 {
		return nil
	}
	return &OSDError{Pool: pool, Oid: oid, Errno: syscall.Errno(-r)}
}

// Ceph-specific errno values (src/include/rados.h, errno.h).
const (
	errnoEAGAIN       = 11
	errnoEBLOCKLISTED = 108 // ESHUTDOWN: the client was blocklisted
)

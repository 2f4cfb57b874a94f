package mon

import (
	"errors"
	"fmt"
	"syscall"
)

// Errors of the MonClient. Each is matched with errors.Is.
var (
	// ErrNoMonitor: no monitor answered before the context ended; the
	// error also wraps the last connection failure seen.
	ErrNoMonitor = errors.New("mon: no monitor reachable")
	// ErrAuthFailed: a monitor refused our credentials. It also matches
	// auth.ErrDenied.
	ErrAuthFailed = errors.New("mon: authentication failed")
	// ErrWrongFSID: the monitor belongs to another cluster than the
	// configuration's fsid.
	ErrWrongFSID = errors.New("mon: monitor's fsid differs from the configured one")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("mon: client closed")
)

// ResultError is a mon command's non-zero result: the errno and the
// status text the mon sent. errors.Is matches the syscall.Errno.
type ResultError struct {
	Code   int32 // negative errno, as the mon sends it
	Status string
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("Error %s: %s", errnoName(-e.Code), e.Status)
}

// Is matches syscall.Errno(-Code).
func (e *ResultError) Is(target error) bool {
	n, ok := target.(syscall.Errno)
	return ok && int32(n) == -e.Code
}

var errnoNames = map[int32]string{
	1: "EPERM", 2: "ENOENT", 5: "EIO", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 16: "EBUSY",
	17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 27: "EFBIG", 28: "ENOSPC", 34: "ERANGE",
	39: "ENOTEMPTY", 61: "ENODATA", 95: "EOPNOTSUPP", 110: "ETIMEDOUT", 125: "ECANCELED",
}

// errnoName is how the ceph CLI names an errno ("EINVAL").
func errnoName(n int32) string {
	if s, ok := errnoNames[n]; ok {
		return s
	}
	return fmt.Sprintf("errno %d", n)
}

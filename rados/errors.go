package rados

import (
	"errors"
	"syscall"

	"github.com/gomsgr/msgr/osdc"
)

// Errors that calls return, matched with errors.Is as go-ceph's are. An
// OSD's or monitor's negative result comes back as an error that matches
// its errno: errors.Is(err, rados.ErrNotFound) for ENOENT, or
// errors.Is(err, syscall.EIO) for any other.
var (
	ErrNotFound         error = syscall.ENOENT    // no such object, pool or attribute owner
	ErrObjectExists     error = syscall.EEXIST    // exclusive create of an existing object
	ErrPermissionDenied error = syscall.EPERM     // the key's caps forbid the op
	ErrNoData           error = syscall.Errno(61) // ENODATA as Linux and Ceph's wire number it (no such xattr); BSDs lack the name
	ErrTimedOut         error = syscall.ETIMEDOUT // rados_osd_op_timeout / rados_mon_op_timeout
	ErrInvalidInput     error = syscall.EINVAL
	ErrAccessDenied     error = syscall.EACCES // the monitors refused the credentials (see AuthError)

	ErrNotConnected     = errors.New("rados: not connected")
	ErrAlreadyConnected = errors.New("rados: already connected")
	ErrShutdown         = osdc.ErrClosed
)

// Errno returns the errno an error carries (0 if none), as librados' negative
// return codes: rados.Errno(err) == syscall.ENOENT.
func Errno(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// AuthError is Connect's error when the monitors refuse the client's
// credentials (a wrong key, an entity they do not know), as librados'
// rados_connect returns -EACCES: it matches ErrAccessDenied
// (syscall.EACCES) and what it wraps, mon.ErrAuthFailed and auth.ErrDenied.
type AuthError struct {
	Err error // the MonClient's error
}

func (e *AuthError) Error() string { return "rados: permission denied: " + e.Err.Error() }

// Unwrap gives the MonClient's error and EACCES.
func (e *AuthError) Unwrap() []error { return []error{syscall.EACCES, e.Err} }

package rados

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
)

// Errors that calls return. An OSD's or monitor's negative result comes
// back as an error that matches its errno: errors.Is(err,
// rados.ErrNotFound) for ENOENT, or errors.Is(err, syscall.EIO) for any
// other. Unlike go-ceph's, they come wrapped (with the pool and object),
// so compare with errors.Is, never ==; ErrorCode gives librados' negative
// code.
var (
	ErrNotFound         error = syscall.ENOENT    // no such object, pool or attribute owner
	ErrObjectExists     error = syscall.EEXIST    // exclusive create of an existing object
	ErrPermissionDenied error = syscall.EPERM     // the key's caps forbid the op
	ErrNoData           error = syscall.Errno(61) // ENODATA as Linux and Ceph's wire number it (no such xattr); BSDs lack the name
	ErrTimedOut         error = syscall.ETIMEDOUT // rados_osd_op_timeout / rados_mon_op_timeout
	ErrInvalidInput     error = syscall.EINVAL
	ErrAccessDenied     error = syscall.EACCES // the monitors refused the credentials (see AuthError)

	ErrNotConnected = errors.New("rados: not connected")
	// ErrOperationIncomplete: a step's outcome was asked for before its
	// ReadOp or WriteOp ran.
	ErrOperationIncomplete = errors.New("rados: operation has not been performed yet")
	ErrAlreadyConnected    = errors.New("rados: already connected")
	ErrShutdown            = osdc.ErrClosed
)

// Errno returns the errno an error carries (0 if none), as librados' negative
// return codes: rados.Errno(err) == syscall.ENOENT.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0 // without the allocation errors.As's target costs
	}
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

// osdErrno is the error of an OSD op's negative result.
func osdErrno(r int32) error {
	if r >= 0 {
		return nil
	}
	return syscall.Errno(-r)
}

// ErrorCode returns the negative return code librados (and go-ceph's
// ErrorCode methods) would give for err: -ENOENT for ErrNotFound, 0 for
// nil, -EIO when the error carries no errno (a broken reply).
func ErrorCode(err error) int {
	if err == nil {
		return 0
	}
	var c *CmpExtError
	if errors.As(err, &c) {
		return -int(messages.CmpExtMismatch + c.Offset)
	}
	if e := Errno(err); e != 0 {
		return -int(e)
	}
	return -int(syscall.EIO)
}

// CmpExtError is a compound op failed by a CmpExt whose bytes differ:
// Offset is the first differing byte (librados returns -MAX_ERRNO -
// offset). It matches syscall.EILSEQ, as librbd reports a failed
// compare-and-write.
type CmpExtError struct {
	Offset uint64
	Err    error // the OSD's error
}

func (e *CmpExtError) Error() string {
	return fmt.Sprintf("rados: cmpext mismatch at offset %d", e.Offset)
}

// Unwrap gives EILSEQ and the OSD's error.
func (e *CmpExtError) Unwrap() []error { return []error{syscall.EILSEQ, e.Err} }

//go:build freebsd

package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// x/sys has no Readv/Writev on FreeBSD; call the syscalls directly with
// a stack array for the common case of few buffers.

const stackIovecs = 16

func iovecs(arr *[stackIovecs]unix.Iovec, bufs [][]byte) []unix.Iovec {
	var v []unix.Iovec
	if len(bufs) <= stackIovecs {
		v = arr[:0]
	} else {
		v = make([]unix.Iovec, 0, len(bufs))
	}
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		var io unix.Iovec
		io.Base = &b[0]
		io.SetLen(len(b))
		v = append(v, io)
	}
	return v
}

func readv(fd int, bufs [][]byte) (int, error) {
	var arr [stackIovecs]unix.Iovec
	v := iovecs(&arr, bufs)
	if len(v) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func writev(fd int, bufs [][]byte) (int, error) {
	var arr [stackIovecs]unix.Iovec
	v := iovecs(&arr, bufs)
	if len(v) == 0 {
		return 0, nil
	}
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

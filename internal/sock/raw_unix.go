//go:build linux || freebsd

package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The hot-path calls on a nonblocking socket are raw system calls: they
// never sleep, so they need not hand the P to the scheduler. Through
// syscall.Syscall, entersyscall also wakes the runtime's sysmon whenever it
// sleeps because every P was idle, and sysmon then polls every 20 µs for a
// millisecond or more. A request/response client idles between replies,
// so it paid that on nearly every wake-up: about 15% of `msgr rados bench`'s
// CPU at 4 KiB (perf), 0.3 futex+nanosleep per op. A multi-megabyte writev
// is bounded by the socket buffer, not by the peer.

func read(fd int, p []byte) (int, error)  { return raw(unix.SYS_READ, fd, p) }
func write(fd int, p []byte) (int, error) { return raw(unix.SYS_WRITE, fd, p) }

func raw(trap uintptr, fd int, p []byte) (int, error) {
	var b unsafe.Pointer
	if len(p) > 0 {
		b = unsafe.Pointer(&p[0])
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(b), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// stackIovecs covers what a flush usually gathers without a heap array.
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

func readv(fd int, bufs [][]byte) (int, error)  { return rawv(unix.SYS_READV, fd, bufs) }
func writev(fd int, bufs [][]byte) (int, error) { return rawv(unix.SYS_WRITEV, fd, bufs) }

func rawv(trap uintptr, fd int, bufs [][]byte) (int, error) {
	var arr [stackIovecs]unix.Iovec
	v := iovecs(&arr, bufs)
	if len(v) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

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

func read(fd int, p []byte) (int, error) {
	n, err := raw(unix.SYS_READ, fd, p)
	if raceenabled {
		if n > 0 {
			raceWrote(unsafe.Pointer(&p[0]), n)
		}
		if err == nil {
			raceReadDone()
		}
	}
	return n, err
}

func write(fd int, p []byte) (int, error) {
	if raceenabled {
		raceWriteStart()
	}
	n, err := raw(unix.SYS_WRITE, fd, p)
	if raceenabled && n > 0 {
		raceRead(unsafe.Pointer(&p[0]), n)
	}
	return n, err
}

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

// stackIovecs covers what a flush of a few dozen queued messages gathers
// (each is 2-5 buffers) without a heap array.
const stackIovecs = 64

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
	n, err := rawv(unix.SYS_READV, fd, bufs)
	if raceenabled {
		raceVec(bufs, n, raceWrote)
		if err == nil {
			raceReadDone()
		}
	}
	return n, err
}

func writev(fd int, bufs [][]byte) (int, error) {
	if raceenabled {
		raceWriteStart()
	}
	n, err := rawv(unix.SYS_WRITEV, fd, bufs)
	if raceenabled {
		raceVec(bufs, n, raceRead)
	}
	return n, err
}

// raceVec reports the first n bytes of bufs to the race detector.
func raceVec(bufs [][]byte, n int, report func(unsafe.Pointer, int)) {
	for _, b := range bufs {
		if n <= 0 {
			return
		}
		m := min(len(b), n)
		if m > 0 {
			report(unsafe.Pointer(&b[0]), m)
		}
		n -= m
	}
}

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

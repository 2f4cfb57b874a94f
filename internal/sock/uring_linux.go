//go:build linux

package sock

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Ring sends on or receives from many sockets in one system call: an
// io_uring whose operations are all nonblocking (MSG_DONTWAIT makes
// io_uring complete one that would wait with EAGAIN instead of arming a
// poll), so every operation has completed, and its buffer is the
// caller's again, when Do returns. On a paravirtualised guest a system call's entry and exit cost
// about as much as a small loopback send itself (perf: pvm_irq_enable),
// so a loop that answers a dozen connections in one step pays for one
// instead of a dozen.
//
// A Ring is owned by one goroutine (an event loop); it is not safe for
// concurrent use.
type Ring struct {
	fd      int
	rings   []byte // SQ and CQ rings (IORING_FEAT_SINGLE_MMAP)
	sqes    []byte
	entries uint32
	sqTail  *uint32
	sqMask  uint32
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    unsafe.Pointer
}

// The io_uring ABI (include/uapi/linux/io_uring.h).
const (
	uringOffSQRing      = 0
	uringOffSQEs        = 0x10000000
	uringFeatSingleMmap = 1 << 0
	uringOpSend         = 26
	uringOpRecv         = 27
	sqeSize             = 64
	cqeSize             = 16
)

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// NewRing sets up a ring for batches of up to entries sends (a power of
// two). It returns an error wrapping ErrNoRing when io_uring is not
// available; callers then send one system call at a time.
func NewRing(entries uint32) (*Ring, error) {
	var p uringParams
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, errors.Join(ErrNoRing, e)
	}
	r := &Ring{fd: int(fd)}
	if p.features&uringFeatSingleMmap == 0 {
		r.Close()
		return nil, errors.Join(ErrNoRing, errors.New("no IORING_FEAT_SINGLE_MMAP"))
	}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*cqeSize)
	var err error
	if r.rings, err = unix.Mmap(r.fd, uringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.Close()
		return nil, errors.Join(ErrNoRing, err)
	}
	if r.sqes, err = unix.Mmap(r.fd, uringOffSQEs, int(p.sqEntries*sqeSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.Close()
		return nil, errors.Join(ErrNoRing, err)
	}
	r.entries = p.sqEntries
	r.sqTail = r.u32(p.sqOff.tail)
	r.sqMask = *r.u32(p.sqOff.ringMask)
	r.cqHead = r.u32(p.cqOff.head)
	r.cqTail = r.u32(p.cqOff.tail)
	r.cqMask = *r.u32(p.cqOff.ringMask)
	r.cqes = unsafe.Pointer(&r.rings[p.cqOff.cqes])
	// The SQ array maps ring slots to SQEs one to one, once for all.
	for i := uint32(0); i < p.sqEntries; i++ {
		*r.u32(p.sqOff.array + 4*i) = i
	}
	return r, nil
}

func (r *Ring) u32(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.rings[off])) }

// Close releases the ring.
func (r *Ring) Close() error {
	if r.sqes != nil {
		_ = unix.Munmap(r.sqes)
		r.sqes = nil
	}
	if r.rings != nil {
		_ = unix.Munmap(r.rings)
		r.rings = nil
	}
	if r.fd >= 0 {
		err := unix.Close(r.fd)
		r.fd = -1
		return err
	}
	return nil
}

// Do carries out every op, nonblocking, and fills in N and Err. An error
// is returned only when the ring itself failed; ops it did not complete
// then have Err wrapping ErrNotStarted or ErrRingLost.
func (r *Ring) Do(ops []RingOp) error {
	for len(ops) > 0 {
		k := min(len(ops), int(r.entries))
		if err := r.send(ops[:k]); err != nil {
			notStarted := errors.Join(ErrNotStarted, err)
			for i := range ops {
				if ops[i].Err == nil && ops[i].N == 0 {
					ops[i].Err = notStarted
				}
			}
			return err
		}
		ops = ops[k:]
	}
	return nil
}

// send submits len(ops) ≤ entries operations and reaps their completions.
func (r *Ring) send(ops []RingOp) error {
	tail := atomic.LoadUint32(r.sqTail)
	if raceenabled {
		raceWriteStart()
	}
	for i := range ops {
		op := &ops[i]
		op.N, op.Err = 0, nil
		if raceenabled && !op.Recv && len(op.Buf) > 0 {
			raceRead(unsafe.Pointer(&op.Buf[0]), len(op.Buf))
		}
		sqe := (*[sqeSize]byte)(unsafe.Pointer(&r.sqes[((tail+uint32(i))&r.sqMask)*sqeSize]))
		*sqe = [sqeSize]byte{}
		sqe[0] = uringOpSend
		if op.Recv {
			sqe[0] = uringOpRecv
		}
		*(*int32)(unsafe.Pointer(&sqe[4])) = int32(op.FD)
		if len(op.Buf) > 0 {
			*(*uint64)(unsafe.Pointer(&sqe[16])) = uint64(uintptr(unsafe.Pointer(&op.Buf[0])))
		}
		*(*uint32)(unsafe.Pointer(&sqe[24])) = uint32(len(op.Buf))
		*(*uint32)(unsafe.Pointer(&sqe[28])) = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL
		*(*uint64)(unsafe.Pointer(&sqe[32])) = uint64(i)
	}
	atomic.StoreUint32(r.sqTail, tail+uint32(len(ops)))
	// A raw call: every send is nonblocking (see raw_unix.go). With
	// min_complete 0 the kernel submits and returns; a send completed
	// inline has its completion posted by then.
	n, _, e := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(len(ops)), 0, 0, 0, 0)
	if e != 0 {
		// Nothing was consumed (the kernel refuses whole submissions
		// it cannot start): take the entries back.
		atomic.StoreUint32(r.sqTail, tail)
		return e
	}
	if int(n) != len(ops) {
		atomic.StoreUint32(r.sqTail, tail+uint32(n))
		if err := r.reap(ops[:n], int(n)); err != nil {
			return err
		}
		return errors.New("sock: io_uring submitted part of a batch")
	}
	return r.reap(ops, len(ops))
}

// reap collects want completions, waiting for any the kernel has not
// posted yet (a send punted to a worker: not seen, but the buffers must
// not be handed back before it ends). If the wait fails, the ops still
// out are lost: ErrRingLost, rather than a loop that waits forever.
func (r *Ring) reap(ops []RingOp, want int) error {
	head := atomic.LoadUint32(r.cqHead)
	for got := 0; got < want; {
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			if e := getEvents(r.fd, want-got); e != 0 && e != unix.EINTR {
				atomic.StoreUint32(r.cqHead, head)
				lost := errors.Join(ErrRingLost, e)
				for i := range ops {
					if ops[i].Err == nil && ops[i].N == 0 {
						ops[i].Err = lost
					}
				}
				return lost
			}
			continue
		}
		for ; head != tail; head++ {
			cqe := unsafe.Add(r.cqes, uintptr(head&r.cqMask)*cqeSize)
			i := *(*uint64)(cqe)
			res := *(*int32)(unsafe.Add(cqe, 8))
			got++
			if i >= uint64(len(ops)) {
				continue
			}
			if res >= 0 {
				ops[i].N = int(res)
				if raceenabled && ops[i].Recv {
					if res > 0 {
						raceWrote(unsafe.Pointer(&ops[i].Buf[0]), int(res))
					}
					raceReadDone()
				}
			} else {
				ops[i].Err = unix.Errno(-res)
			}
		}
		atomic.StoreUint32(r.cqHead, head)
	}
	return nil
}

// getEvents waits for n completions; tests replace it.
var getEvents = func(fd, n int) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), 0, uintptr(n), 1 /* IORING_ENTER_GETEVENTS */, 0, 0)
	return e
}

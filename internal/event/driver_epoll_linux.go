//go:build linux

package event

import (
	"sync"
	"time"
	"unsafe"

	"github.com/gomsgr/msgr/internal/sock"
	"golang.org/x/sys/unix"
)

// epollDriver is level-triggered epoll with an eventfd for Wake, as in
// Ceph's EpollDriver plus EventCenter's notify pipe.
//
// Owned by the loop goroutine except efd, which Wake writes from anywhere.
type epollDriver struct {
	epfd int
	efd  int
	evs  []unix.EpollEvent
	rbuf [8]byte
	park *parker // nil in blocking mode

	// wmu orders Wake against Close: a producer that decided to wake
	// just as the loop stopped must not write to a descriptor number
	// the process has reused since.
	wmu    sync.Mutex
	closed bool // guarded by wmu
}

func newEpoll(mode WaitMode, nevents int) (*epollDriver, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, &DriverError{Driver: "epoll", Op: "epoll_create1", FD: -1, Err: err}
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, &DriverError{Driver: "epoll", Op: "eventfd", FD: -1, Err: err}
	}
	d := &epollDriver{epfd: epfd, efd: efd, evs: make([]unix.EpollEvent, nevents)}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		d.closeFDs()
		return nil, &DriverError{Driver: "epoll", Op: "epoll_ctl add eventfd", FD: efd, Err: err}
	}
	if mode != WaitBlocking {
		p, err := newParker(epfd, "epoll", d.poll0)
		if err != nil {
			if mode == WaitParked {
				d.closeFDs()
				return nil, err
			}
		} else {
			d.park = p
		}
	}
	return d, nil
}

func (d *epollDriver) Name() string { return "epoll" }
func (d *epollDriver) Parked() bool { return d.park != nil }

// loopParker: a parked epoll loop parks without polling first (Center.step).
func (d *epollDriver) loopParker() *parker { return d.park }

func epollMask(m Mask) uint32 {
	var e uint32
	if m&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if m&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func (d *epollDriver) Update(fd int, cur, next Mask) error {
	if cur == next {
		return nil
	}
	op := unix.EPOLL_CTL_MOD
	switch {
	case cur == None:
		op = unix.EPOLL_CTL_ADD
	case next == None:
		op = unix.EPOLL_CTL_DEL // the event is ignored, old kernels want one
	}
	ev := unix.EpollEvent{Events: epollMask(next), Fd: int32(fd)}
	if err := unix.EpollCtl(d.epfd, op, fd, &ev); err != nil {
		return &DriverError{Driver: "epoll", Op: "epoll_ctl", FD: fd, Err: err}
	}
	return nil
}

func (d *epollDriver) Wait(ev []Fired, timeout time.Duration) (int, error) {
	if d.park != nil {
		return d.park.wait(ev, timeout)
	}
	n, _, err := d.wait(ev, timeoutMillis(timeout))
	return n, err
}

// waitKernel blocks the loop's thread in epoll_wait (kernelWaiter).
func (d *epollDriver) waitKernel(ev []Fired, timeout time.Duration) (int, error) {
	n, _, err := d.wait(ev, timeoutMillis(timeout))
	return n, err
}

func (d *epollDriver) poll0(ev []Fired) (int, bool, error) { return d.wait(ev, 0) }

func (d *epollDriver) wait(ev []Fired, msec int) (n int, woke bool, err error) {
	evs := d.evs
	if len(ev) < len(evs) {
		evs = evs[:len(ev)]
	}
	if msec == 0 {
		n, err = epollPoll(d.epfd, evs)
	} else {
		n, err = unix.EpollWait(d.epfd, evs, msec)
	}
	if err != nil {
		if err == unix.EINTR {
			return 0, true, nil
		}
		return 0, false, &DriverError{Driver: "epoll", Op: "epoll_wait", FD: -1, Err: err}
	}
	j := 0
	for i := 0; i < n; i++ {
		e := &evs[i]
		if int(e.Fd) == d.efd {
			// Level-triggered: drain so it stops firing.
			_, _ = sock.Read(d.efd, d.rbuf[:])
			woke = true
			continue
		}
		var m Mask
		if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			m |= Readable
		}
		if e.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			m |= Writable
		}
		ev[j] = Fired{FD: e.Fd, Mask: m, Hangup: e.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0}
		j++
	}
	return j, woke, nil
}

func (d *epollDriver) Wake() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	for {
		_, err := sock.Write(d.efd, wakeVal[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: counter saturated, a wake is pending anyway
			return nil
		case unix.EINTR:
			continue
		default:
			return &DriverError{Driver: "epoll", Op: "eventfd write", FD: d.efd, Err: err}
		}
	}
}

func (d *epollDriver) Close() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var err error
	if d.park != nil {
		err = d.park.close()
	}
	if cerr := d.closeFDs(); err == nil {
		err = cerr
	}
	return err
}

func (d *epollDriver) closeFDs() error {
	err := unix.Close(d.efd)
	if cerr := unix.Close(d.epfd); err == nil {
		err = cerr
	}
	return err
}

// epollPoll is epoll_pwait with a zero timeout as a raw system call (so are
// sock's reads and writes of the nonblocking eventfd): it never sleeps, so
// it need not give up the P. Through syscall.Syscall it would wake the
// runtime's sysmon whenever sysmon waits for an idle process to get busy,
// and sysmon then polls every 20 µs for a millisecond or more (see
// internal/sock's raw_unix.go for what that cost a request/response client).
func epollPoll(epfd int, evs []unix.EpollEvent) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

//go:build linux || darwin || freebsd

package event

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pollDriver is the portable poll(2) fallback, woken by a pipe. It cannot
// park in the netpoller (poll has no descriptor to wait on), so it always
// blocks its thread.
//
// Owned by the loop goroutine except wr, which Wake writes from anywhere.
type pollDriver struct {
	rd, wr int
	fds    []unix.PollFd // fds[0] is the wake pipe
	slot   []int32       // fd -> index in fds, -1 when absent
	rbuf   [64]byte

	// wmu orders Wake against Close (as epollDriver's).
	wmu    sync.Mutex
	closed bool // guarded by wmu
}

// wakeVal is what Wake writes: an eventfd increment of 1 (native
// endianness is irrelevant, any nonzero value wakes) or one pipe byte.
// Read-only.
var wakeVal = [8]byte{1}

func newPoll(mode WaitMode) (*pollDriver, error) {
	if mode == WaitParked {
		return nil, ErrUnsupported
	}
	rd, wr, err := newPipe()
	if err != nil {
		return nil, &DriverError{Driver: "poll", Op: "pipe", FD: -1, Err: err}
	}
	d := &pollDriver{rd: rd, wr: wr}
	d.fds = append(d.fds, unix.PollFd{Fd: int32(rd), Events: unix.POLLIN})
	return d, nil
}

func (d *pollDriver) Name() string { return "poll" }
func (d *pollDriver) Parked() bool { return false }

func pollMask(m Mask) int16 {
	var e int16
	if m&Readable != 0 {
		e |= unix.POLLIN
	}
	if m&Writable != 0 {
		e |= unix.POLLOUT
	}
	return e
}

func (d *pollDriver) Update(fd int, cur, next Mask) error {
	if fd < 0 {
		return &DriverError{Driver: "poll", Op: "update", FD: fd, Err: unix.EBADF}
	}
	for len(d.slot) <= fd {
		d.slot = append(d.slot, -1)
	}
	i := d.slot[fd]
	if next == None {
		if i < 0 {
			return nil
		}
		last := int32(len(d.fds) - 1)
		if i != last {
			d.fds[i] = d.fds[last]
			d.slot[d.fds[i].Fd] = i
		}
		d.fds = d.fds[:last]
		d.slot[fd] = -1
		return nil
	}
	if i < 0 {
		d.fds = append(d.fds, unix.PollFd{Fd: int32(fd)})
		i = int32(len(d.fds) - 1)
		d.slot[fd] = i
	}
	d.fds[i].Events = pollMask(next)
	return nil
}

func (d *pollDriver) Wait(ev []Fired, timeout time.Duration) (int, error) {
	n, err := unix.Poll(d.fds, timeoutMillis(timeout))
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, &DriverError{Driver: "poll", Op: "poll", FD: -1, Err: err}
	}
	j := 0
	for i := 0; i < len(d.fds) && n > 0 && j < len(ev); i++ {
		p := &d.fds[i]
		r := p.Revents
		if r == 0 {
			continue
		}
		p.Revents = 0
		n--
		if i == 0 {
			d.drain()
			continue
		}
		var m Mask
		if r&(unix.POLLIN|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			m |= Readable
		}
		if r&(unix.POLLOUT|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
			m |= Writable
		}
		ev[j] = Fired{FD: p.Fd, Mask: m}
		j++
	}
	return j, nil
}

func (d *pollDriver) drain() {
	for {
		n, err := unix.Read(d.rd, d.rbuf[:])
		if n < len(d.rbuf) || err != nil {
			return
		}
	}
}

func (d *pollDriver) Wake() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	for {
		_, err := unix.Write(d.wr, wakeVal[:1])
		switch err {
		case nil, unix.EAGAIN: // full pipe: a wake is pending anyway
			return nil
		case unix.EINTR:
			continue
		default:
			return &DriverError{Driver: "poll", Op: "pipe write", FD: d.wr, Err: err}
		}
	}
}

func (d *pollDriver) Close() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	err := unix.Close(d.rd)
	if cerr := unix.Close(d.wr); err == nil {
		err = cerr
	}
	return err
}

//go:build darwin || freebsd

package event

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// kqueueDriver is kqueue with an EVFILT_USER event for Wake (no extra
// descriptor). Read and write interest are separate filters, so one
// descriptor can be reported twice in a batch; the Center copes.
//
// Owned by the loop goroutine except kq, which Wake uses from anywhere
// (kevent is safe concurrently).
type kqueueDriver struct {
	kq      int
	evs     []unix.Kevent_t
	changes [4]unix.Kevent_t
	ts      unix.Timespec
	park    *parker

	// wmu orders Wake against Close (as epollDriver's): a late Wake must
	// not trigger an event on a kqueue that reused kq's number.
	wmu    sync.Mutex
	closed bool // guarded by wmu
}

// wakeIdent names the EVFILT_USER event; descriptors use other filters,
// so the ident cannot collide.
const wakeIdent = 0

func newKqueue(mode WaitMode, nevents int) (*kqueueDriver, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, &DriverError{Driver: "kqueue", Op: "kqueue", FD: -1, Err: err}
	}
	unix.CloseOnExec(kq)
	d := &kqueueDriver{kq: kq, evs: make([]unix.Kevent_t, nevents)}
	reg := []unix.Kevent_t{{Ident: wakeIdent, Filter: unix.EVFILT_USER, Flags: unix.EV_ADD | unix.EV_CLEAR}}
	if _, err := unix.Kevent(kq, reg, nil, nil); err != nil {
		unix.Close(kq)
		return nil, &DriverError{Driver: "kqueue", Op: "kevent add EVFILT_USER", FD: -1, Err: err}
	}
	if mode != WaitBlocking {
		p, err := newParker(kq, "kqueue", d.poll0)
		if err != nil {
			if mode == WaitParked {
				unix.Close(kq)
				return nil, err
			}
		} else {
			d.park = p
		}
	}
	return d, nil
}

func (d *kqueueDriver) Name() string { return "kqueue" }
func (d *kqueueDriver) Parked() bool { return d.park != nil }

// Update submits EV_ADD for new filters and EV_DELETE for dropped ones
// in one kevent call.
func (d *kqueueDriver) Update(fd int, cur, next Mask) error {
	ch := d.changes[:0]
	add, del := next&^cur, cur&^next
	if add&Readable != 0 {
		ch = append(ch, unix.Kevent_t{Ident: uint64(fd), Filter: unix.EVFILT_READ, Flags: unix.EV_ADD})
	}
	if add&Writable != 0 {
		ch = append(ch, unix.Kevent_t{Ident: uint64(fd), Filter: unix.EVFILT_WRITE, Flags: unix.EV_ADD})
	}
	if del&Readable != 0 {
		ch = append(ch, unix.Kevent_t{Ident: uint64(fd), Filter: unix.EVFILT_READ, Flags: unix.EV_DELETE})
	}
	if del&Writable != 0 {
		ch = append(ch, unix.Kevent_t{Ident: uint64(fd), Filter: unix.EVFILT_WRITE, Flags: unix.EV_DELETE})
	}
	if len(ch) == 0 {
		return nil
	}
	for {
		_, err := unix.Kevent(d.kq, ch, nil, nil)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.ENOENT:
			if add == None {
				return nil // deleting what the kernel already dropped
			}
		}
		return &DriverError{Driver: "kqueue", Op: "kevent", FD: fd, Err: err}
	}
}

func (d *kqueueDriver) Wait(ev []Fired, timeout time.Duration) (int, error) {
	if d.park != nil {
		return d.park.wait(ev, timeout)
	}
	n, _, err := d.wait(ev, timeout)
	return n, err
}

func (d *kqueueDriver) poll0(ev []Fired) (int, bool, error) { return d.wait(ev, 0) }

func (d *kqueueDriver) wait(ev []Fired, timeout time.Duration) (n int, woke bool, err error) {
	evs := d.evs
	if len(ev) < len(evs) {
		evs = evs[:len(ev)]
	}
	var ts *unix.Timespec
	if timeout >= 0 {
		d.ts = unix.NsecToTimespec(int64(timeout))
		ts = &d.ts
	}
	n, err = unix.Kevent(d.kq, nil, evs, ts)
	if err != nil {
		if err == unix.EINTR {
			return 0, true, nil
		}
		return 0, false, &DriverError{Driver: "kqueue", Op: "kevent wait", FD: -1, Err: err}
	}
	j := 0
	for i := 0; i < n; i++ {
		e := &evs[i]
		var m Mask
		switch e.Filter {
		case unix.EVFILT_USER:
			woke = true // EV_CLEAR resets it
			continue
		case unix.EVFILT_READ:
			m = Readable
		case unix.EVFILT_WRITE:
			m = Writable
		default:
			continue
		}
		if e.Flags&unix.EV_ERROR != 0 {
			m = Readable | Writable
		}
		ev[j] = Fired{FD: int32(e.Ident), Mask: m}
		j++
	}
	return j, woke, nil
}

func (d *kqueueDriver) Wake() error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if d.closed {
		return nil
	}
	trig := [1]unix.Kevent_t{{Ident: wakeIdent, Filter: unix.EVFILT_USER, Fflags: unix.NOTE_TRIGGER}}
	for {
		_, err := unix.Kevent(d.kq, trig[:], nil, nil)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		default:
			return &DriverError{Driver: "kqueue", Op: "kevent trigger", FD: -1, Err: err}
		}
	}
}

func (d *kqueueDriver) Close() error {
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
	if cerr := unix.Close(d.kq); err == nil {
		err = cerr
	}
	return err
}

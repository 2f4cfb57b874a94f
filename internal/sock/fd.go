package sock

import "sync/atomic"

// FD is a reference-counted descriptor: the descriptor is closed only when
// Close has been called and no Acquire is outstanding, so its number can
// never be reused under a goroutine still using it.
//
// All methods are safe from any goroutine.
type FD struct {
	fd int
	// state: bit 63 set once Close was called; low bits count holders.
	state atomic.Uint64
	// closeFn performs the real close; set at construction.
	closeFn func(int) error
	err     atomic.Pointer[error]
}

const fdClosing = 1 << 63

// NewFD wraps an open descriptor; FD now owns it.
func NewFD(fd int) *FD { return &FD{fd: fd, closeFn: closeFD} }

// Sysfd returns the descriptor number without taking a reference: only
// for callers that otherwise guarantee it is open (its owning loop).
func (f *FD) Sysfd() int { return f.fd }

// Acquire takes a reference and returns the descriptor, or ErrClosed once
// Close was called. Every successful Acquire must be paired with Release.
func (f *FD) Acquire() (int, error) {
	for {
		s := f.state.Load()
		if s&fdClosing != 0 {
			return -1, ErrClosed
		}
		if f.state.CompareAndSwap(s, s+1) {
			return f.fd, nil
		}
	}
}

// Release drops a reference taken by Acquire; the last release after
// Close closes the descriptor.
func (f *FD) Release() {
	if s := f.state.Add(^uint64(0)); s == fdClosing {
		f.finish()
	}
}

// Close marks the descriptor closing. It returns at once; the descriptor
// is closed now if unused, otherwise by the last Release. Calling Close
// again returns ErrClosed.
func (f *FD) Close() error {
	for {
		s := f.state.Load()
		if s&fdClosing != 0 {
			return ErrClosed
		}
		if f.state.CompareAndSwap(s, s|fdClosing) {
			if s == 0 {
				return f.finish()
			}
			return nil
		}
	}
}

// Closed reports whether the underlying descriptor has been closed.
func (f *FD) Closed() bool { return f.err.Load() != nil }

func (f *FD) finish() error {
	err := f.closeFn(f.fd)
	f.err.Store(&err)
	return err
}

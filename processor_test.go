package msgr

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/stack"
)

// fakeListener returns scripted Accept results.
type fakeListener struct {
	results  []error // nil: a connection; stack.ErrWouldBlock ends a burst
	watching bool
	closed   bool
	accepted int
}

func (l *fakeListener) Addr() netip.AddrPort { return netip.AddrPortFrom(loopback, 1) }
func (l *fakeListener) Watch(func()) error   { l.watching = true; return nil }
func (l *fakeListener) Unwatch()             { l.watching = false }
func (l *fakeListener) Close() error         { l.closed = true; return nil }

func (l *fakeListener) Accept() (stack.Pending, error) {
	if len(l.results) == 0 {
		return nil, stack.ErrWouldBlock
	}
	err := l.results[0]
	l.results = l.results[1:]
	if err != nil {
		return nil, err
	}
	l.accepted++
	return &fakePending{}, nil
}

// fakePending refuses to attach, as a socket that died in the backlog.
type fakePending struct{ closed atomic.Bool }

func (p *fakePending) RemoteAddr() netip.AddrPort { return netip.AddrPortFrom(loopback, 2) }
func (p *fakePending) Attach(stack.Worker, stack.DialConfig, stack.Handler) (stack.Socket, error) {
	p.closed.Store(true)
	return nil, syscall.ECONNRESET
}
func (p *fakePending) Close() error { p.closed.Store(true); return nil }

// fakeWorker runs the processor's timers when the test says so.
type fakeWorker struct{ timers []func() }

func (w *fakeWorker) ID() int             { return 0 }
func (w *fakeWorker) Exec(f func()) error { f(); return nil }
func (w *fakeWorker) InContext() bool     { return true }
func (w *fakeWorker) fire() {
	fs := w.timers
	w.timers = nil
	for _, f := range fs {
		f()
	}
}
func (w *fakeWorker) AfterFunc(_ time.Duration, f func()) stack.Timer {
	w.timers = append(w.timers, f)
	return fakeTimer{}
}
func (w *fakeWorker) Listen(netip.AddrPort, stack.ListenConfig) (stack.Listener, error) {
	return nil, errors.ErrUnsupported
}
func (w *fakeWorker) Connect(netip.AddrPort, stack.DialConfig, stack.Handler) (stack.Socket, error) {
	return nil, errors.ErrUnsupported
}

type fakeTimer struct{}

func (fakeTimer) Stop() bool { return true }

// TestProcessorAcceptBudget: an accept error pauses accepting until a
// timer; more than ms_max_accept_failures in a row close the listener; a
// success in between resets the count.
func TestProcessorAcceptBudget(t *testing.T) {
	emfile := &stackErr{syscall.EMFILE}
	m := newTestMessenger(t, osdName(1), false, Options{MaxAcceptFailures: 2}, newRecorder())
	cases := []struct {
		name       string
		bursts     [][]error // one per readable event
		wantClosed bool
		wantOK     int
	}{
		{"error pauses then resumes", [][]error{{emfile}, {nil, nil}}, false, 2},
		{"successes reset the budget", [][]error{{emfile}, {emfile}, {nil}, {emfile}, {emfile}, {nil}}, false, 2},
		{"budget exhausted", [][]error{{emfile}, {emfile}, {emfile}}, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &fakeListener{}
			w := &fakeWorker{}
			p := newProcessor(m, w, func() {}, l)
			p.start()
			for i, burst := range tc.bursts {
				if !l.watching {
					t.Fatalf("event %d: not watching", i)
				}
				l.results = burst
				p.accept()
				if len(l.results) != 0 {
					t.Fatalf("event %d: %d results left unread", i, len(l.results))
				}
				if burst[len(burst)-1] != nil && !l.closed {
					// An error: paused until the timer.
					if l.watching {
						t.Fatalf("event %d: still watching after an error", i)
					}
					w.fire()
				}
			}
			if l.closed != tc.wantClosed {
				t.Fatalf("closed = %v, want %v", l.closed, tc.wantClosed)
			}
			if l.accepted != tc.wantOK {
				t.Fatalf("accepted %d, want %d", l.accepted, tc.wantOK)
			}
		})
	}
}

type stackErr struct{ errno syscall.Errno }

func (e *stackErr) Error() string { return "accept: " + e.errno.Error() }
func (e *stackErr) Unwrap() error { return e.errno }

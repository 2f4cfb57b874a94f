package msgr

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
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

// fakeWorker runs the processor's timers when the test says so and
// records their delays.
type fakeWorker struct {
	timers []func()
	delays []time.Duration
}

func (w *fakeWorker) ID() int             { return 0 }
func (w *fakeWorker) Exec(f func()) error { f(); return nil }
func (w *fakeWorker) InContext() bool     { return true }
func (w *fakeWorker) Now() time.Time      { return time.Now() }
func (w *fakeWorker) fire() {
	fs := w.timers
	w.timers = nil
	for _, f := range fs {
		f()
	}
}
func (w *fakeWorker) AfterFunc(d time.Duration, f func()) stack.Timer {
	w.timers = append(w.timers, f)
	w.delays = append(w.delays, d)
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

// TestProcessorAcceptRecovers: an accept error pauses accepting until a
// timer, the pause doubling from acceptBackoffMin to acceptBackoffMax
// over consecutive errors; however many errors come, the listener stays
// open and accepts again; a success starts the pauses over; every error is
// counted and the log is rate-limited.
func TestProcessorAcceptRecovers(t *testing.T) {
	emfile := &stackErr{syscall.EMFILE}
	enfile := &stackErr{syscall.ENFILE}
	many := make([][]error, 40)
	for i := range many {
		many[i] = []error{emfile}
	}
	many = append(many, []error{nil, nil, nil})
	ms := time.Millisecond
	cases := []struct {
		name   string
		bursts [][]error // one per readable event
		wantOK int
		// the pauses, in order (the rest, if longer: acceptBackoffMax)
		wantDelays []time.Duration
		wantLogs   int // accept errors logged
	}{
		{"error pauses then resumes", [][]error{{emfile}, {nil, nil}}, 2, []time.Duration{5 * ms}, 1},
		{"pauses double", [][]error{{emfile}, {enfile}, {&stackErr{syscall.ENOBUFS}}, {&stackErr{syscall.ENOMEM}}, {nil}}, 1,
			[]time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms}, 1},
		{"a success starts over", [][]error{{emfile}, {emfile}, {nil, emfile}, {nil}}, 2, []time.Duration{5 * ms, 10 * ms, 5 * ms}, 1},
		{"never gives up", many, 3, []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second}, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &logCounter{}
			m := newTestMessenger(t, osdName(1), false, Options{Logger: slog.New(rec)}, newRecorder())
			l := &fakeListener{}
			w := &fakeWorker{}
			p := newProcessor(m, w, func() {}, l, protoV2)
			clock := time.Unix(1e9, 0)
			p.now = func() time.Time { return clock }
			p.start()
			nerr := 0
			for i, burst := range tc.bursts {
				if !l.watching {
					t.Fatalf("event %d: not watching", i)
				}
				l.results = burst
				p.accept()
				if len(l.results) != 0 {
					t.Fatalf("event %d: %d results left unread", i, len(l.results))
				}
				if burst[len(burst)-1] != nil {
					nerr++
					// An error: paused until the timer.
					if l.watching {
						t.Fatalf("event %d: still watching after an error", i)
					}
					clock = clock.Add(w.delays[len(w.delays)-1])
					w.fire()
				}
			}
			if l.closed {
				t.Fatal("the listener was closed")
			}
			if l.accepted != tc.wantOK {
				t.Fatalf("accepted %d, want %d", l.accepted, tc.wantOK)
			}
			for i, d := range w.delays {
				want := acceptBackoffMax
				if i < len(tc.wantDelays) {
					want = tc.wantDelays[i]
				}
				if d != want {
					t.Fatalf("pause %d: %v, want %v (all: %v)", i, d, want, w.delays)
				}
			}
			if got := m.Stats().AcceptFailures; got != uint64(nerr) {
				t.Fatalf("AcceptFailures = %d, want %d", got, nerr)
			}
			if got := rec.count("accept failed; retrying"); got != tc.wantLogs {
				t.Fatalf("%d accept errors logged, want %d", got, tc.wantLogs)
			}
		})
	}
}

// logCounter is a slog.Handler counting records by message and keeping
// the attributes of the last of each (those given by With included).
type logCounter struct {
	mu    sync.Mutex
	msgs  map[string]int
	last  map[string]map[string]string
	attrs []slog.Attr // from WithAttrs, on derived handlers
	root  *logCounter
}

func (h *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	root := h
	if h.root != nil {
		root = h.root
	}
	kv := map[string]string{}
	for _, a := range h.attrs {
		kv[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool { kv[a.Key] = a.Value.String(); return true })
	root.mu.Lock()
	defer root.mu.Unlock()
	if root.msgs == nil {
		root.msgs, root.last = map[string]int{}, map[string]map[string]string{}
	}
	root.msgs[r.Message]++
	root.last[r.Message] = kv
	return nil
}
func (h *logCounter) WithAttrs(as []slog.Attr) slog.Handler {
	root := h
	if h.root != nil {
		root = h.root
	}
	return &logCounter{root: root, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h *logCounter) WithGroup(string) slog.Handler { return h }
func (h *logCounter) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.msgs[msg]
}
func (h *logCounter) lastAttrs(msg string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[msg]
}

type stackErr struct{ errno syscall.Errno }

func (e *stackErr) Error() string { return "accept: " + e.errno.Error() }
func (e *stackErr) Unwrap() error { return e.errno }

package msgr

import (
	"errors"
	"time"

	"github.com/gomsgr/msgr/internal/stack"
)

// processor is Ceph's Processor: the listening socket, on one worker, and
// the accept loop. Fields after the first group are owned by that
// worker's context.
type processor struct {
	m       *Messenger
	w       stack.Worker
	release func()
	now     func() time.Time // the clock of the log rate limit (tests replace it)
	proto   proto            // what the listener's address speaks

	l        stack.Listener
	failures int           // consecutive accept errors
	backoff  time.Duration // the current pause after an accept error
	lastLog  time.Time     // when an accept error was last logged
	unlogged int           // accept errors since then, not logged
	retry    stack.Timer
	stopped  bool
}

// The pause after a failed accept doubles from acceptBackoffMin to
// acceptBackoffMax; an accept error is logged at most once per
// acceptLogEvery (with the count of those not logged).
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	acceptLogEvery   = 5 * time.Second
)

func newProcessor(m *Messenger, w stack.Worker, release func(), l stack.Listener, p proto) *processor {
	return &processor{m: m, w: w, release: release, l: l, now: time.Now, proto: p}
}

// start begins accepting (Ceph's Processor::start, from ready()).
func (p *processor) start() {
	_ = p.w.Exec(func() {
		if p.stopped {
			return
		}
		if err := p.l.Watch(p.accept); err != nil {
			p.m.log.Error("listener", "err", err)
		}
	})
}

// accept takes every pending connection. An error (EMFILE, ENFILE,
// ENOBUFS, ENOMEM: a shortage that passes once connections close) pauses
// accepting, from a few milliseconds doubling to a second, and accepting
// resumes for as long as the messenger runs. Ceph aborts the daemon after
// ms_max_accept_failures; a library must not, and a listener that gives
// up leaves a process that looks healthy and serves nobody.
func (p *processor) accept() {
	for !p.stopped {
		pend, err := p.l.Accept()
		if errors.Is(err, stack.ErrWouldBlock) {
			return
		}
		if err != nil {
			p.failed(err)
			return
		}
		if p.failures > 0 {
			p.m.log.Info("accepting again", "failures", p.failures)
			p.failures, p.backoff, p.unlogged = 0, 0, 0
		}
		p.m.addAccept(pend, p.proto)
	}
}

// failed pauses accepting after err and schedules the retry.
func (p *processor) failed(err error) {
	p.failures++
	p.m.acceptFails.Add(1)
	p.backoff = min(max(2*p.backoff, acceptBackoffMin), acceptBackoffMax)
	if now := p.now(); p.lastLog.IsZero() || now.Sub(p.lastLog) >= acceptLogEvery {
		p.m.log.Warn("accept failed; retrying", "err", err, "failures", p.failures, "not_logged", p.unlogged, "backoff", p.backoff)
		p.lastLog, p.unlogged = now, 0
	} else {
		p.unlogged++
	}
	p.l.Unwatch()
	p.retry = p.w.AfterFunc(p.backoff, func() {
		p.retry = nil
		if p.stopped {
			return
		}
		if err := p.l.Watch(p.accept); err != nil {
			p.m.log.Error("listener", "err", err)
		}
	})
}

// stop closes the listener and waits until that is done.
func (p *processor) stop() {
	done := make(chan struct{})
	err := p.w.Exec(func() {
		defer close(done)
		p.stopped = true
		if p.retry != nil {
			p.retry.Stop()
		}
		_ = p.l.Close()
	})
	if err == nil {
		<-done
	}
	p.release()
}

// addAccept places a newly accepted socket on the least-loaded worker as
// a server connection, tracked as accepting until its session opens
// (Ceph's AsyncMessenger::add_accept).
func (m *Messenger) addAccept(pend stack.Pending, p proto) {
	c, err := newServerConn(m, p)
	if err != nil {
		m.log.Error("new server connection", "err", err)
		_ = pend.Close()
		return
	}
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		c.release()
		_ = pend.Close()
		return
	}
	m.accepting[c] = struct{}{}
	m.all[c] = struct{}{}
	m.mu.Unlock()
	if err := c.worker.Exec(func() { c.attach(pend) }); err != nil {
		_ = pend.Close()
		c.release()
		m.forget(c)
	}
}

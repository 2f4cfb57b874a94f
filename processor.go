package msgr

import (
	"errors"

	"github.com/gomsgr/msgr/internal/stack"
)

// processor is Ceph's Processor: the listening socket, on one worker, and
// the accept loop. Fields after the first group are owned by that
// worker's context.
type processor struct {
	m       *Messenger
	w       stack.Worker
	release func()

	l        stack.Listener
	failures int // consecutive accept errors
	retry    stack.Timer
	stopped  bool
}

func newProcessor(m *Messenger, w stack.Worker, release func(), l stack.Listener) *processor {
	return &processor{m: m, w: w, release: release, l: l}
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

// accept takes every pending connection. An error pauses accepting for
// ms_initial_backoff (an fd shortage passes); ms_max_accept_failures in a
// row close the listener (Ceph aborts the daemon there).
func (p *processor) accept() {
	for !p.stopped {
		pend, err := p.l.Accept()
		if errors.Is(err, stack.ErrWouldBlock) {
			return
		}
		if err != nil {
			p.failures++
			if p.failures > p.m.opts.MaxAcceptFailures {
				p.m.log.Error("too many accept failures; no longer accepting", "err", err, "failures", p.failures)
				p.stopped = true
				_ = p.l.Close()
				return
			}
			p.m.log.Warn("accept failed", "err", err, "failures", p.failures)
			p.l.Unwatch()
			p.retry = p.w.AfterFunc(p.m.opts.InitialBackoff, func() {
				p.retry = nil
				if !p.stopped {
					_ = p.l.Watch(p.accept)
				}
			})
			return
		}
		p.failures = 0
		p.m.addAccept(pend)
	}
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
func (m *Messenger) addAccept(pend stack.Pending) {
	c, err := newServerConn(m)
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

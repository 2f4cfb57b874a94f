package msgr

import (
	"sync"

	"github.com/gomsgr/msgr/internal/stack"
	"github.com/gomsgr/msgr/perf"
)

// The AsyncMessenger worker counters (Ceph's l_msgr_*, src/msg/async/
// Stack.h), one section per worker: "AsyncMessenger::Worker-N". Updated
// by the worker's loop, except created/active connections, counted where
// a connection is made and finished.
const (
	lMsgrRecvMessages = iota
	lMsgrSendMessages
	lMsgrRecvBytes
	lMsgrSendBytes
	lMsgrCreatedConnections
	lMsgrActiveConnections
)

func workerCounters() *perf.Builder {
	b := perf.NewBuilder("AsyncMessenger::Worker")
	b.Add(perf.Desc{Name: "msgr_recv_messages", Description: "Network received messages", Kind: perf.Counter})
	b.Add(perf.Desc{Name: "msgr_send_messages", Description: "Network sent messages", Kind: perf.Counter})
	b.Add(perf.Desc{Name: "msgr_recv_bytes", Description: "Network received bytes", Kind: perf.Counter, Unit: perf.Bytes})
	b.Add(perf.Desc{Name: "msgr_send_bytes", Description: "Network sent bytes", Kind: perf.Counter, Unit: perf.Bytes})
	b.Add(perf.Desc{Name: "msgr_created_connections", Description: "Created connection number", Kind: perf.Counter})
	// A gauge: Ceph declares it a counter but decrements it.
	b.Add(perf.Desc{Name: "msgr_active_connections", Description: "Active connection number", Kind: perf.Gauge})
	return b
}

// workerPerf holds one Logger per worker id, process-wide like the
// shared pool; every messenger with counters on writes to its workers'.
var workerPerf struct {
	mu sync.Mutex
	ls []*perf.Logger
}

func workerLogger(id int) *perf.Logger {
	workerPerf.mu.Lock()
	defer workerPerf.mu.Unlock()
	if id >= len(workerPerf.ls) {
		workerPerf.ls = append(workerPerf.ls, workerCounters().Loggers(id + 1)[len(workerPerf.ls):]...)
	}
	return workerPerf.ls[id]
}

// perfFor returns worker w's counters, registered in the messenger's
// collection; nil when the messenger counts nothing.
func (m *Messenger) perfFor(w stack.Worker) *perf.Logger {
	if m.opts.Perf == nil {
		return nil
	}
	l := workerLogger(w.ID())
	m.opts.Perf.Add(l) // ErrExists: registered by an earlier connection
	return l
}

// messengerCounters is the messenger's own section, "msgr-<entity>",
// read from what it keeps anyway; and its dispatch throttles as Ceph's
// throttle-msgr_dispatch_throttler-<name> sections.
func (m *Messenger) addPerf() {
	c := m.opts.Perf
	if c == nil {
		return
	}
	name := m.Name().String()
	b := perf.NewBuilder(c.UniqueName("msgr-" + name))
	stat := func(f func(Stats) uint64) func() uint64 { return func() uint64 { return f(m.Stats()) } }
	b.Add(perf.Desc{Name: "connections", Description: "Live connections, accepting ones included", Kind: perf.Gauge, Read: stat(func(s Stats) uint64 { return uint64(s.Conns) })})
	b.Add(perf.Desc{Name: "accepting", Description: "Accepted connections not yet established", Kind: perf.Gauge, Read: stat(func(s Stats) uint64 { return uint64(s.Accepting) })})
	b.Add(perf.Desc{Name: "handoffs", Description: "Accepted sockets moved into an existing session", Kind: perf.Counter, Read: m.handoffs.Load})
	b.Add(perf.Desc{Name: "accept_failures", Description: "Failed accepts (EMFILE and the like; the listener backs off and retries)", Kind: perf.Counter, Read: m.acceptFails.Load})
	b.Add(perf.Desc{Name: "handshake_failures", Description: "Sockets closed before a session opened on them", Kind: perf.Counter, Read: m.handshakeFails.Load})
	b.Add(perf.Desc{Name: "injected_socket_failures", Description: "Socket failures injected (ms_inject_socket_failures)", Kind: perf.Counter, Read: m.injected.Load})
	b.Add(perf.Desc{Name: "injected_delays", Description: "Received messages delayed (ms_inject_delay_*)", Kind: perf.Counter, Read: m.delayed.Load})
	m.perfSections = append(m.perfSections, b.Logger())
	for _, t := range []*Throttle{m.dispatchBytes, m.dispatchMsgs} {
		tb := perf.NewBuilder(c.UniqueName("throttle-msgr_" + t.Name() + "-" + name))
		tb.Add(perf.Desc{Name: "val", Description: "Currently taken slots", Kind: perf.Gauge, Read: func() uint64 { return uint64(max(t.Current(), 0)) }})
		tb.Add(perf.Desc{Name: "max", Description: "Max allowed slots", Kind: perf.Gauge, Read: func() uint64 { return uint64(max(t.Max(), 0)) }})
		m.perfSections = append(m.perfSections, tb.Logger())
	}
	for _, s := range m.perfSections {
		c.Add(s)
	}
}

// removePerf unregisters the messenger's own sections at shutdown; the
// worker sections stay, as the workers do.
func (m *Messenger) removePerf() {
	for _, s := range m.perfSections {
		m.opts.Perf.Remove(s)
	}
}

package msgr

import (
	"slices"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// newLocalConn makes the messenger's connection to itself (Ceph's
// local_connection): no worker, no socket, no protocol. What is sent on
// it goes straight to the dispatch queue, as the same Message value
// (Ceph passes the pointer too), so the sender must not reuse it.
func newLocalConn(m *Messenger) *Conn {
	c := &Conn{msgr: m, id: m.connIDs.Add(1), local: true, doneCh: make(chan struct{})}
	c.log = m.log.With("conn", "local")
	c.info.Store(&connInfo{peer: m.Name(), features: m.features, connected: true})
	return c
}

// setLocalAddrs follows our addresses as they become known.
func (c *Conn) setLocalAddrs(addrs encoding.EntityAddrVec) {
	i := *c.info.Load()
	i.addrs = slices.Clone(addrs)
	i.peer = c.msgr.Name()
	c.info.Store(&i)
}

// sendLocal queues m for our own dispatchers, fast ones included (they run
// on the dispatch goroutine then, never on the sender's).
func (c *Conn) sendLocal(m message.Message) error {
	c.mu.Lock()
	closed := c.qclosed
	c.mu.Unlock()
	if closed {
		return ErrConnClosed
	}
	h := message.NewHeader(m)
	h.Src = c.msgr.Name()
	if !c.msgr.dq.push(dispatchItem{kind: itemMessage, c: c, m: m, h: h}) {
		return ErrShutdown
	}
	return nil
}

func (c *Conn) closeLocal() {
	c.mu.Lock()
	if c.qclosed {
		c.mu.Unlock()
		return
	}
	c.qclosed = true
	c.mu.Unlock()
	c.closed.Store(true)
	c.closeErr = ErrShutdown
	close(c.doneCh)
}

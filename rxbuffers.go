package msgr

import (
	"sync"

	"github.com/gomsgr/msgr/message"
)

// rxBuffers is a connection's posted receive buffers by tid (Ceph's
// Connection::rx_buffers): the Objecter posts where a read's reply data
// goes, and the connection's receive path, once a message's header is in,
// claims the one posted for its tid and type and reads the data straight
// into it. Safe from any goroutine: posters run anywhere, claim runs on
// the connection's loop.
type rxBuffers struct {
	mu sync.Mutex
	m  map[uint64]rxPost
}

type rxPost struct {
	typ uint16
	b   *message.RxBuffer
}

// claim is the Machines' Config.RxBuffer: the buffer posted for tid and
// typ, claimed for dataLen bytes, or nil. A claimed buffer is no longer
// posted (one message per post).
func (r *rxBuffers) claim(tid uint64, typ uint16, dataLen int) *message.RxBuffer {
	r.mu.Lock()
	p, ok := r.m[tid]
	if ok && p.typ == typ {
		delete(r.m, tid)
	}
	r.mu.Unlock()
	if !ok || p.typ != typ || !p.b.Claim(dataLen) {
		return nil
	}
	return p.b
}

// PostRxBuffer asks that the data segment of the next message of type typ
// with this tid that c receives be read straight into b's memory (when
// it fits, in crc mode or over msgr1, and is big enough to be worth it;
// else it arrives in a receive buffer as usual). A buffer posted for the
// same tid before is replaced. Revoke it with RevokeRxBuffer before the
// memory is used again, whatever happened. For replies on lossy
// connections: a message whose buffer is revoked while its data arrives
// is dropped.
func (c *Conn) PostRxBuffer(tid uint64, typ uint16, b *message.RxBuffer) {
	c.rx.mu.Lock()
	if c.rx.m == nil {
		c.rx.m = make(map[uint64]rxPost)
	}
	c.rx.m[tid] = rxPost{typ, b}
	c.rx.mu.Unlock()
}

// RevokeRxBuffer takes back b, posted for tid: once it returns, c never
// touches b's memory again (it waits for a read into it under way, which
// is brief: reads do not block). It reports whether a message's data
// filled b first (that message's Data is then b's memory).
func (c *Conn) RevokeRxBuffer(tid uint64, b *message.RxBuffer) (filled bool) {
	c.rx.mu.Lock()
	if p, ok := c.rx.m[tid]; ok && p.b == b {
		delete(c.rx.m, tid)
	}
	c.rx.mu.Unlock()
	return b.Revoke()
}

package msgr

import (
	"unsafe"

	v1 "github.com/gomsgr/msgr/internal/protocol/v1"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// DetachData makes the connection stop referring to the memory of bufs:
// queued messages whose payload lies there get a private copy of it, and
// framed bytes still waiting to be written from there are replaced by a
// copy of the same bytes (the frame, its crcs included, is unchanged on
// the wire; secure frames are already encrypted into buffers of their
// own). Nothing is withdrawn, so a lossless session still delivers every
// message once, in order. It is for a sender that hands the memory back
// to its owner before the messages are surely written: the Objecter when
// an op ends without a reply (cancel, timeout) or is sent to another OSD
// (Ceph keeps the memory alive with bufferlist references instead).
//
// It runs on the connection's loop; done, if set, is called there once
// it has run, after which the connection never reads bufs again (at
// once, from the caller's goroutine, if the connection's worker has
// stopped). It does not block, so it may be called under a lock that a
// dispatcher takes. Copies are made only of what is still queued.
func (c *Conn) DetachData(bufs [][]byte, done func()) {
	if c.local || len(bufs) == 0 {
		// A message to ourselves is the Message itself, handed to our
		// dispatchers (sendLocal): nothing of it is queued here.
		if done != nil {
			done()
		}
		return
	}
	err := c.worker.Exec(func() {
		c.detachData(bufs)
		if done != nil {
			done()
		}
	})
	if err != nil && done != nil {
		done() // the loop has stopped: nothing is written any more
	}
}

// queueHolder is a Machine whose held messages can be listed
// (v2.Machine.EachQueued, v1's likewise).
type queueHolder interface {
	EachQueued(f func(*v2.OutMessage))
}

var (
	_ queueHolder = (*v2.Machine)(nil)
	_ queueHolder = (*v1.Machine)(nil)
	_ sumSettler  = (*v2.Machine)(nil)
)

// sumSettler is a Machine that may still have to read buffers of c.out
// to finish their frames' crcs (v2.Machine.SumAll).
type sumSettler interface{ SumAll() }

// span is a byte range of memory, compared by address only.
type span struct{ lo, hi uintptr }

func spanOf(b []byte) span {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return span{p, p + uintptr(len(b))}
}

// touches reports whether b is not empty and shares a byte with mem.
func touches(b []byte, mem []span) bool {
	if len(b) == 0 {
		return false
	}
	s := spanOf(b)
	for _, m := range mem {
		if s.lo < m.hi && m.lo < s.hi {
			return true
		}
	}
	return false
}

// movedSeg is a payload segment replaced by a copy.
type movedSeg struct {
	old span
	cp  []byte
}

// detachData is DetachData on the loop.
func (c *Conn) detachData(bufs [][]byte) {
	mem := make([]span, 0, len(bufs))
	for _, b := range bufs {
		if len(b) > 0 {
			mem = append(mem, spanOf(b))
		}
	}
	if len(mem) == 0 {
		return
	}
	var moved []movedSeg
	detachSeg := func(seg *[]byte) {
		if touches(*seg, mem) {
			cp := append([]byte(nil), *seg...)
			moved = append(moved, movedSeg{spanOf(*seg), cp})
			*seg = cp
		}
	}
	detachMsg := func(om *v2.OutMessage) {
		detachSeg(&om.Payload.Front)
		detachSeg(&om.Payload.Middle)
		detachSeg(&om.Payload.Data)
	}
	// Not yet handed to the Machine.
	c.mu.Lock()
	for _, om := range c.sendq {
		detachMsg(om)
	}
	c.mu.Unlock()
	// Queued in the Machine, or sent on a lossless session and kept for
	// a resend (framed again from the payload after a fault).
	if q, ok := c.mach.(queueHolder); ok {
		q.EachQueued(detachMsg)
	}
	// Framed and not yet written: buffers of a lossy message released as
	// it was framed, or of a held one. Big segments' crcs may still be
	// waiting for their chunks (matched by identity), and big secure
	// frames for their chunks to be sealed from the payload: done now,
	// from the caller's bytes.
	if len(c.out) > 0 {
		if g, ok := c.mach.(sumSettler); ok {
			g.SumAll()
		}
	}
	n := 0
	for _, b := range c.out {
		if touches(b, mem) {
			n += len(b)
		}
	}
	if n == 0 {
		return
	}
	var fresh []byte
	for i, b := range c.out {
		if !touches(b, mem) {
			continue
		}
		if cp, ok := movedTo(moved, b); ok {
			c.out[i] = cp
			continue
		}
		if fresh == nil {
			fresh = make([]byte, 0, n)
		}
		off := len(fresh)
		fresh = append(fresh, b...)
		c.out[i] = fresh[off:len(fresh):len(fresh)]
	}
}

// movedTo returns where b's bytes are in a payload copy, if b lies in a
// segment moved.
func movedTo(moved []movedSeg, b []byte) ([]byte, bool) {
	s := spanOf(b)
	for _, m := range moved {
		if s.lo >= m.old.lo && s.hi <= m.old.hi {
			off := int(s.lo - m.old.lo)
			return m.cp[off : off+len(b) : off+len(b)], true
		}
	}
	return nil, false
}

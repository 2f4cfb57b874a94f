package v1

import (
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// minRouted is the data length from which a message's data may go to an
// RxBuffer (Config.RxBuffer); smaller data is not worth a lookup.
const minRouted = 32 << 10

// msgBody is the message being read once its header is in: front and
// middle, the data, and the footer, in that order. Without an RxBuffer
// they all go to buf; with one (route), buf holds the front, middle and
// footer and the data goes to the RxBuffer's memory, read into it while
// pinned, its crc taken there as it arrives. Owned by the Machine's loop.
type msgBody struct {
	buf    []byte
	owner  *wire.Buf // buf's pooled memory, or nil when buf is allocated
	n      int       // bytes of the body received, in wire order
	total  int       // the body's length on the wire
	dest   *message.RxBuffer
	pinned []byte // dest's memory while a read is under way
	at, dl int    // where the data starts in the body, and its length
	crc    uint32 // of the data received into dest
	lost   bool   // dest was revoked with the data under way
	sink   []byte // where a lost message's data goes, thrown away
}

// start begins a body of fm bytes of front and middle, dl of data and a
// footer; rb (may be nil) is an RxBuffer claimed for the data.
func (b *msgBody) start(fm, dl, footer int, rb *message.RxBuffer) {
	*b = msgBody{total: fm + dl + footer, at: fm, dl: dl, dest: rb}
	n := b.total
	if rb != nil {
		n = fm + footer
	}
	if n >= wire.MinPooledCopy {
		b.owner, b.buf = wire.GetBuf(n)
		return
	}
	b.buf = make([]byte, n)
}

func (b *msgBody) active() bool { return b.buf != nil }

// routed reports whether the data goes elsewhere than buf.
func (b *msgBody) routed() bool { return b.dest != nil || b.lost }

// room returns where the body's bytes from b.n go (never empty before the
// body is whole); the RxBuffer's memory stays pinned until commit or
// unpin.
func (b *msgBody) room() []byte {
	b.unpin()
	if !b.routed() || b.n < b.at {
		end := len(b.buf)
		if b.routed() {
			end = b.at
		}
		return b.buf[b.n:end]
	}
	if end := b.at + b.dl; b.n >= end {
		return b.buf[b.n-b.dl:]
	}
	if b.dest != nil {
		if mem := b.dest.Pin(); mem != nil {
			b.pinned = mem
			return mem[b.n-b.at:]
		}
		// Revoked with the data under way: the rest is read and
		// thrown away, and the message dropped.
		b.dest, b.lost = nil, true
	}
	if b.sink == nil {
		b.sink = make([]byte, 64<<10)
	}
	return b.sink[:min(len(b.sink), b.at+b.dl-b.n)]
}

// commit adds n bytes read into room's slice.
func (b *msgBody) commit(n int) {
	if b.pinned != nil {
		o := b.n - b.at
		b.crc = encoding.CRC32C(b.crc, b.pinned[o:o+n])
		b.unpin()
	}
	b.n += n
}

func (b *msgBody) unpin() {
	if b.pinned != nil {
		b.pinned = nil
		b.dest.Unpin()
	}
}

// fill copies what p holds of the body; it returns the bytes taken.
func (b *msgBody) fill(p []byte) int {
	taken := 0
	for b.n < b.total && len(p) > 0 {
		n := copy(b.room(), p)
		b.commit(n)
		p = p[n:]
		taken += n
	}
	return taken
}

// footer returns the footer's bytes once the body is whole.
func (b *msgBody) footer() []byte {
	if b.routed() {
		return b.buf[b.at:]
	}
	return b.buf[b.at+b.dl:]
}

// checkData checks a routed body's data crc, taken as the data arrived,
// against the footer's (a lost body's data is not checked: it is dropped).
func (b *msgBody) checkData(f *Footer) error {
	if f.Flags&message.FooterNoCRC == 0 && !b.lost && b.crc != f.DataCRC {
		return fmt.Errorf("%w: data crc %#x, computed %#x", ErrBadCRC, f.DataCRC, b.crc)
	}
	return nil
}

// data returns the data of a body whose checks passed: the RxBuffer's
// memory, filled (nil if it was revoked), or buf's part.
func (b *msgBody) data() []byte {
	switch {
	case b.lost:
		return nil
	case b.dest != nil:
		return b.dest.Fill()
	}
	return b.buf[b.at : b.at+b.dl : b.at+b.dl]
}

// reset forgets the body.
func (b *msgBody) reset() {
	b.unpin()
	*b = msgBody{}
}

package wire

import (
	"fmt"

	"github.com/gomsgr/msgr/message"
)

// Router chooses where the data segment of a big MESSAGE frame goes, from
// its header segment (a message.Header2, not yet crc-checked in v2.0) and
// its data length: a message.RxBuffer it has claimed for that length, or
// nil for the frame's own buffer.
type Router func(header []byte, dataLen int) *message.RxBuffer

// SetRouter installs r (nil: none). The Decoder asks it once per big
// crc-mode MESSAGE frame, as soon as the header segment is in and before
// any data byte is placed, and reads the data segment straight into the
// RxBuffer it names (pinned for each read and for the crc over what was
// just read), the rest of the frame into the frame's own buffer, which
// holds no data then. The frame Next returns has the RxBuffer's memory as
// its data segment (RxBuffer.Fill, after every crc checked out), or
// DataLost set when the RxBuffer was revoked before.
//
// Secure mode never asks: the data segment is part of one AES-GCM record
// with the front and the epilogue, opened (authenticated and decrypted) in
// one piece in the frame's own buffer, so the receiver copies it.
func (d *Decoder) SetRouter(r Router) { d.router = r }

// routable reports whether the frame under way may have its data segment
// routed: a big crc-mode MESSAGE frame with data, in a pooled buffer.
func (d *Decoder) routable() bool {
	return d.router != nil && d.rx == nil && d.pre.Tag == TagMessage &&
		d.pre.NumSegments == MaxSegments && d.pre.Lengths[SegData] > 0 && d.frameLen <= MaxPooledBuf
}

// hdrEnd is the frame offset where the header segment (and its crc in
// v2.1) ends.
func (d *Decoder) hdrEnd() int { return PreambleSize + d.segGap(SegHeader) }

// route asks the Router about the frame under way, once. hdr is the
// header segment when it is not yet in d.buf (promote), else nil. Bytes of
// the frame beyond the data's start already in d.buf (after their crcs are
// taken) move to their places.
func (d *Decoder) route(hdr []byte) {
	d.routed = true
	if hdr == nil {
		hdr = d.buf[PreambleSize : PreambleSize+int(d.pre.Lengths[SegHeader])]
	}
	rb := d.router(hdr, int(d.pre.Lengths[SegData]))
	if rb == nil {
		return
	}
	at := PreambleSize
	for i := range SegData {
		at += d.segGap(i)
	}
	n := int(d.pre.Lengths[SegData])
	if d.big && d.w > at {
		// Bytes of the data (and beyond) are in d.buf already: take
		// their crcs where they are, then move them.
		if d.crcOn {
			d.crcAhead()
		}
		mem := rb.Pin()
		if mem == nil {
			return // revoked meanwhile: the data stays here
		}
		copy(mem, d.buf[at:min(d.w, at+n)])
		rb.Unpin()
		if d.w > at+n {
			copy(d.buf[at:], d.buf[at+n:d.w])
		}
	}
	d.dest, d.destAt, d.destLen = rb, at, n
}

// bigRoom returns where the big frame's bytes from offset d.w go, at most
// max of them, and notes its end for Commit: the frame's buffer or, in the
// data segment of a routed frame, the RxBuffer's memory, pinned until
// Commit (or Release). Never empty while the frame needs bytes.
func (d *Decoder) bigRoom(max int) []byte {
	d.unpin()
	w := d.w
	if d.dest != nil {
		at, end := d.destAt, d.destAt+d.destLen
		switch {
		case w < at:
			d.roomEnd = min(at, w+max)
			return d.buf[w:d.roomEnd]
		case w < end:
			mem := d.dest.Pin()
			if mem == nil {
				// Revoked with the data under way: the rest goes
				// to a buffer of the whole frame and the frame is
				// dropped once it has all arrived.
				d.undest(true)
				return d.bigRoom(max)
			}
			d.pinned = mem
			d.roomEnd = min(end, w+max)
			return mem[w-at : d.roomEnd-at]
		default:
			d.roomEnd = min(d.frameLen, w+max)
			return d.buf[w-d.destLen : d.roomEnd-d.destLen]
		}
	}
	d.growBig()
	d.roomEnd = min(d.bigEnd(), w+max)
	return d.buf[w:d.roomEnd]
}

// bigCommit adds n bytes read into bigRoom's slice: their crcs are taken
// while the memory is pinned, and the frame is routed once its header is
// in.
func (d *Decoder) bigCommit(n int) {
	if n < 0 || n > d.roomEnd-d.w {
		d.unpin()
		d.fail(fmt.Errorf("%w: commit of %d bytes beyond the read buffer", ErrMalformed, n))
		return
	}
	d.w += n
	if d.pinned != nil {
		if d.crcOn {
			d.crcAhead()
		}
		d.unpin()
	}
	if !d.routed && d.routable() && d.w >= d.hdrEnd() {
		d.route(nil)
	}
}

func (d *Decoder) unpin() {
	if d.pinned != nil {
		d.pinned = nil
		d.dest.Unpin()
	}
}

// undest puts the routed frame under way back into one buffer of its
// own, the whole frame's, and forgets its RxBuffer. lost: the RxBuffer
// was revoked, its bytes cannot be had, and the frame will be dropped;
// otherwise they are copied over.
func (d *Decoder) undest(lost bool) {
	if d.dest == nil {
		return
	}
	d.unpin()
	at, end := d.destAt, d.destAt+d.destLen
	p, b := getBuf(d.frameLen)
	copy(b, d.buf[:min(d.w, at)])
	if d.w > at {
		if mem := d.dest.Pin(); mem != nil && !lost {
			copy(b[at:], mem[:min(d.w, end)-at])
			d.dest.Unpin()
		} else {
			lost = true
		}
	}
	if d.w > end {
		copy(b[end:], d.buf[at:d.w-d.destLen])
	}
	putBuf(d.bufp)
	d.buf, d.bufp = b, p
	d.dest, d.destAt, d.destLen = nil, 0, 0
	d.lost = d.lost || lost
}

// frameBytes returns the big frame's bytes [from, to), which lie in one
// segment; nil for the data of a routed frame when it is not pinned.
func (d *Decoder) frameBytes(from, to int) []byte {
	if d.dest == nil || from < d.destAt {
		return d.buf[d.r+from : d.r+to]
	}
	if from >= d.destAt+d.destLen {
		return d.buf[from-d.destLen : to-d.destLen]
	}
	if d.pinned == nil {
		return nil
	}
	return d.pinned[from-d.destAt : to-d.destAt]
}

// endRoute finishes a routed frame that arrived whole and checked out:
// its data segment is the RxBuffer's memory, or lost if it was revoked.
func (d *Decoder) endRoute(f *Frame) {
	switch {
	case d.dest != nil:
		f.Segments[SegData] = d.dest.Fill()
		f.DataLost = f.Segments[SegData] == nil
		f.DataRouted = !f.DataLost
	case d.lost:
		f.Segments[SegData] = nil
		f.DataLost = true
	}
}

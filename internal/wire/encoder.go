package wire

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/gomsgr/msgr/message"
)

// Encoder builds frames: appended to a caller's buffer (AppendFrame,
// AppendControl, AppendMessage) or as a list of buffers for writev (Vec,
// VecMessage) that references the caller's segments instead of copying
// them (crc mode; secure mode must produce new ciphertext).
//
// The small pieces Vec creates (preambles, crcs, epilogues, ciphertext)
// live in an arena owned by the Encoder; they stay valid until Reset,
// which the writer calls once the buffers are written.
//
// An Encoder is owned by one goroutine (the connection's write side).
type Encoder struct {
	rev1  bool
	tx    *Cipher   // nil: crc mode
	sums  *SendSums // nil: Vec sums every segment at once
	arena Arena     // Vec's pieces
	tmp   []byte    // control payload scratch
	hdr   [message.Header2Size]byte
}

// NewEncoder returns an Encoder for v2.1 framing in crc mode.
func NewEncoder() *Encoder { return &Encoder{rev1: true} }

// SetRev1 selects v2.1 (true) or v2.0 framing for the frames that follow.
func (e *Encoder) SetRev1(rev1 bool) { e.rev1 = rev1 }

// SetSecure switches to secure mode from the next frame on; nil returns to
// crc mode. tx comes from NewSecure.
func (e *Encoder) SetSecure(tx *Cipher) { e.tx = tx }

// Secure reports whether secure mode is on.
func (e *Encoder) Secure() bool { return e.tx != nil }

// SetSendSums makes Vec list crc-mode segments of StreamSumMin bytes or
// more in chunks whose crcs s computes as they are written (see
// SendSums); nil sums every segment when the frame is built.
func (e *Encoder) SetSendSums(s *SendSums) { e.sums = s }

// Reset releases the arena's pieces for reuse: every buffer a Vec call
// returned becomes invalid.
func (e *Encoder) Reset() { e.arena.Reset() }

// Release gives the arena's chunk back to the pool: every buffer a Vec
// call returned becomes invalid. An encoder with nothing waiting to be
// written then holds no buffer.
func (e *Encoder) Release() { e.arena.Release() }

// alloc carves n bytes from the arena.
func (e *Encoder) alloc(n int) []byte { return e.arena.Alloc(n) }

// noSegments stands for a frame given no segments: one empty segment.
var noSegments = [][]byte{nil}

// preamble fills p for a frame of segs (trailing empty segments dropped,
// as Ceph does; at least one segment).
func preamble(p *Preamble, tag Tag, segs [][]byte) error {
	if len(segs) > MaxSegments {
		return fmt.Errorf("%w: %d segments", ErrMalformed, len(segs))
	}
	if !tag.Valid() {
		return fmt.Errorf("%w: %d", ErrUnknownTag, uint8(tag))
	}
	n := 1
	for i := len(segs) - 1; i > 0; i-- {
		if len(segs[i]) > 0 {
			n = i + 1
			break
		}
	}
	*p = Preamble{Tag: tag, NumSegments: uint8(n)}
	for i := 0; i < n && i < len(segs); i++ {
		if uint64(len(segs[i])) > 0xffffffff {
			return fmt.Errorf("%w: segment %d of %d bytes", ErrTooLarge, i, len(segs[i]))
		}
		p.Lengths[i] = uint32(len(segs[i]))
		p.Aligns[i] = alignFor(tag, i)
	}
	return nil
}

// FrameLen returns the on-wire size of a frame of segs in the current mode.
func (e *Encoder) FrameLen(tag Tag, segs ...[]byte) (int, error) {
	if len(segs) == 0 {
		segs = noSegments
	}
	var p Preamble
	if err := preamble(&p, tag, segs); err != nil {
		return 0, err
	}
	return int(onWireLen(&p, e.rev1, e.tx != nil)), nil
}

// AppendFrame appends a whole frame of tag and segs to b.
func (e *Encoder) AppendFrame(b []byte, tag Tag, segs ...[]byte) ([]byte, error) {
	if len(segs) == 0 {
		segs = noSegments
	}
	var p Preamble
	if err := preamble(&p, tag, segs); err != nil {
		return b, err
	}
	size := int(onWireLen(&p, e.rev1, e.tx != nil))
	b = slices.Grow(b, size)
	start := len(b)
	b = b[:start+size]
	if err := e.write(b[start:], &p, segs); err != nil {
		return b[:start], err
	}
	return b, nil
}

// AppendControl appends control frame f.
func (e *Encoder) AppendControl(b []byte, f ControlFrame) ([]byte, error) {
	e.tmp = f.AppendPayload(e.tmp[:0])
	return e.AppendFrame(b, f.Tag(), e.tmp)
}

// AppendMessage appends a MESSAGE frame: h as header2, then p's segments.
func (e *Encoder) AppendMessage(b []byte, h *message.Header, p *message.Payload) ([]byte, error) {
	hdr := message.AppendHeader2(e.hdr[:0], h)
	return e.AppendFrame(b, TagMessage, hdr, p.Front, p.Middle, p.Data)
}

// VecMessageStaged appends to iov a secure MESSAGE frame (as
// AppendMessage's) in buffers of its own, which go back to their pool
// once the writer has written them, as seen by the Encoder's SendSums
// (Writable): a pooled copy of the whole frame, or, for a big frame
// queued behind others not yet written (with aesgcm's kernels), its head
// records then chunks of its last record that Writable seals one by one
// as the writer reaches them, so that the queue holds no whole frames of
// ciphertext. Without a SendSums the frame is one new buffer.
//
// A big frame with nothing ahead of it is sealed whole, now: sealed
// chunk by chunk as it is written, the encryption overlaps the peer's
// copies and both cost more on the machines measured (issue 13's
// secseal note).
func (e *Encoder) VecMessageStaged(iov [][]byte, h *message.Header, p *message.Payload) ([][]byte, error) {
	hdr := message.AppendHeader2(e.hdr[:0], h)
	segs := [MaxSegments][]byte{hdr, p.Front, p.Middle, p.Data}
	if e.sums != nil && sealLazy && e.sums.busy() && len(p.Front)+len(p.Middle)+len(p.Data) >= StreamSumMin {
		return e.vecSealed(iov, segs[:])
	}
	n, err := e.FrameLen(TagMessage, segs[:]...)
	if err != nil || e.sums == nil {
		b, err := e.AppendFrame(nil, TagMessage, segs[:]...)
		if err != nil {
			return iov, err
		}
		return append(iov, b), nil
	}
	bp, b := getBuf(n)
	out, err := e.AppendFrame(b[:0], TagMessage, segs[:]...)
	if err != nil {
		putBuf(bp)
		return iov, err
	}
	e.sums.held = append(e.sums.held, staged{p: bp, frame: out})
	return append(iov, out), nil
}

// Vec appends to iov the buffers of one frame. In crc mode segments 1..3
// (and in v2.0 segment 0) are referenced, not copied: they must not change
// until written. The other pieces live in the arena until Reset.
func (e *Encoder) Vec(iov [][]byte, tag Tag, segs ...[]byte) ([][]byte, error) {
	return e.vec(iov, tag, segs, PreSum{})
}

// vec is Vec with data, the PreSum of segment SegData if one was taken:
// crc mode uses it instead of summing that segment.
func (e *Encoder) vec(iov [][]byte, tag Tag, segs [][]byte, data PreSum) ([][]byte, error) {
	if len(segs) == 0 {
		segs = noSegments
	}
	var p Preamble
	if err := preamble(&p, tag, segs); err != nil {
		return iov, err
	}
	n := int(p.NumSegments)
	if e.tx != nil {
		out := e.alloc(int(onWireLen(&p, e.rev1, true)))
		if err := e.write(out, &p, segs); err != nil {
			return iov, err
		}
		return append(iov, out), nil
	}
	if e.rev1 {
		l0 := len(segs[0])
		head := PreambleSize
		if l0 > 0 {
			head += l0 + crcSize
		}
		h := e.alloc(head)
		p.put(h)
		if l0 > 0 {
			copy(h[PreambleSize:], segs[0])
			binary.LittleEndian.PutUint32(h[PreambleSize+l0:], SegmentCRC(segs[0]))
		}
		iov = append(iov, h)
		if n == 1 {
			return iov, nil
		}
		epi := e.alloc(epilogueCRCRev1)
		epi[0] = lateStatusComplete
		for i := 1; i < n; i++ {
			iov = e.vecSeg(iov, segs[i], epi[1+4*(i-1):5+4*(i-1)], preSumOf(i, data))
		}
		for i := n; i < MaxSegments; i++ {
			binary.LittleEndian.PutUint32(epi[1+4*(i-1):], 0)
		}
		return append(iov, epi), nil
	}
	h := e.alloc(PreambleSize)
	p.put(h)
	iov = append(iov, h)
	epi := e.alloc(epilogueCRCRev0)
	clear(epi)
	for i := 0; i < n; i++ {
		iov = e.vecSeg(iov, segs[i], epi[1+4*i:5+4*i], preSumOf(i, data))
	}
	return append(iov, epi), nil
}

// preSumOf returns data for segment SegData, nothing for the others.
func preSumOf(i int, data PreSum) PreSum {
	if i == SegData {
		return data
	}
	return PreSum{}
}

// vecSeg lists a crc-mode segment whose crc goes in slot (in the
// epilogue): pre when it is seg's, else summed now, or chunk by chunk as
// it is written when it is big and a SendSums is set.
func (e *Encoder) vecSeg(iov [][]byte, seg, slot []byte, pre PreSum) [][]byte {
	if crc, ok := pre.For(SegmentSeed, seg); ok {
		binary.LittleEndian.PutUint32(slot, crc)
		return append(iov, seg)
	}
	if e.sums != nil && len(seg) >= StreamSumMin {
		return e.sums.add(iov, seg, slot)
	}
	if len(seg) > 0 {
		iov = append(iov, seg)
	}
	binary.LittleEndian.PutUint32(slot, SegmentCRC(seg))
	return iov
}

// VecControl is Vec for a control frame whose payload is already
// encoded: the payload is copied into the arena (the caller's scratch may
// be reused at once), so the frame allocates nothing of its own until the
// arena fills.
func (e *Encoder) VecControl(iov [][]byte, tag Tag, payload []byte) ([][]byte, error) {
	p := e.alloc(len(payload))
	copy(p, payload)
	return e.Vec(iov, tag, p)
}

// VecMessage is Vec for a MESSAGE frame: front, middle and data are
// referenced in crc mode, where data, if it is the data segment's
// PreSum, stands for its crc.
func (e *Encoder) VecMessage(iov [][]byte, h *message.Header, p *message.Payload, data PreSum) ([][]byte, error) {
	// v2.1 crc copies segment 0 into the frame's head; v2.0 references
	// it, so it must live in the arena.
	var hdr []byte
	if e.rev1 && e.tx == nil {
		hdr = message.AppendHeader2(e.hdr[:0], h)
	} else {
		hdr = message.AppendHeader2(e.alloc(message.Header2Size)[:0], h)
	}
	segs := [MaxSegments][]byte{hdr, p.Front, p.Middle, p.Data}
	return e.vec(iov, TagMessage, segs[:], data)
}

// segment is segs[i], or empty past the segments given (a frame's
// trailing segments may be left out).
func segment(segs [][]byte, i int) []byte {
	if i < len(segs) {
		return segs[i]
	}
	return nil
}

// write lays out a frame into out, which is exactly onWireLen long.
func (e *Encoder) write(out []byte, p *Preamble, segs [][]byte) error {
	n := int(p.NumSegments)
	switch {
	case e.tx == nil && e.rev1:
		p.put(out)
		off := PreambleSize
		if l0 := len(segs[0]); l0 > 0 {
			copy(out[off:], segs[0])
			binary.LittleEndian.PutUint32(out[off+l0:], SegmentCRC(segs[0]))
			off += l0 + crcSize
		}
		if n == 1 {
			return nil
		}
		epi := out[len(out)-epilogueCRCRev1:]
		clear(epi)
		epi[0] = lateStatusComplete
		for i := 1; i < n; i++ {
			off += copy(out[off:], segment(segs, i))
			binary.LittleEndian.PutUint32(epi[1+4*(i-1):], SegmentCRC(segment(segs, i)))
		}
		return nil
	case e.tx == nil:
		p.put(out)
		off := PreambleSize
		epi := out[len(out)-epilogueCRCRev0:]
		clear(epi)
		for i := 0; i < n; i++ {
			off += copy(out[off:], segment(segs, i))
			binary.LittleEndian.PutUint32(epi[1+4*i:], SegmentCRC(segment(segs, i)))
		}
		return nil
	case e.rev1:
		off, err := e.sealHead(out, p, segs[0])
		if err != nil || n == 1 {
			return err
		}
		epi := [epilogueSecure]byte{lateStatusComplete}
		return e.tx.sealSegments(out[off:], 0, segs, 1, n, epi[:])
	default:
		p.put(out)
		var epi [epilogueSecure]byte
		return e.tx.sealSegments(out, PreambleSize, segs, 0, n, epi[:])
	}
}

// secureHeadLen is the size of a v2.1 secure frame's records before the
// one of segments 1 and up: the preamble's record (with segment 0's
// first InlineSize bytes), then one for the rest of segment 0 if any.
func secureHeadLen(l0 int) int {
	n := firstSecureRecord
	if p0 := int(pad16(uint64(l0))); p0 > InlineSize {
		n += p0 - InlineSize + TagSize
	}
	return n
}

// sealHead seals a v2.1 secure frame's head records (secureHeadLen) of
// preamble p and segment 0 s0 into out, and returns their length.
func (e *Encoder) sealHead(out []byte, p *Preamble, s0 []byte) (int, error) {
	p.put(out)
	inl := min(len(s0), InlineSize)
	copy(out[PreambleSize:], s0[:inl])
	clear(out[PreambleSize+inl : PreambleSize+InlineSize])
	if err := e.tx.seal(out, PreambleSize+InlineSize); err != nil {
		return 0, err
	}
	off := firstSecureRecord
	if p0 := int(pad16(uint64(len(s0)))); p0 > InlineSize {
		rest := p0 - InlineSize
		c := copy(out[off:], s0[InlineSize:])
		clear(out[off+c : off+rest])
		if err := e.tx.seal(out[off:], rest); err != nil {
			return 0, err
		}
		off += rest + TagSize
	}
	return off, nil
}

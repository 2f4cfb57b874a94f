package wire

import (
	"encoding/binary"

	"github.com/gomsgr/msgr/encoding"
)

// SendSums lets a crc-mode frame with a big segment go out before the
// segment's crc is known, as msgr2.1's layout allows (the crcs travel in
// the epilogue, after the data): the Encoder lists such a segment in
// chunks, and the writer asks Writable before each write, which computes
// the crc of the next chunk just before the kernel copies it (while it is
// in cache) and holds back what follows an unsummed chunk, the epilogue
// included, until its turn. The peer sees the first bytes of a frame while
// the rest is still being summed, instead of after a pass over all of it.
//
// A SendSums belongs to one socket's output (the stream's), owned by the
// goroutine that writes it.
//
// Secure mode streams the same way (Encoder.VecMessageStaged): the last
// record of a big frame queued behind others is listed as placeholders,
// one per chunk, that Writable replaces in the writer's buffers, as it
// reaches each, with a pooled buffer it has just sealed the chunk into;
// the buffer goes back to the pool once written. So a connection's queue
// holds a few chunks of ciphertext instead of whole frames.
//
// It also gives back the pooled staging buffers of secure frames
// (Encoder.VecMessageStaged) once they have left the writer's buffers.
type SendSums struct {
	q     []sumPiece // chunks not yet summed or sealed, in write order
	held  []staged   // staging buffers not yet written, in write order
	live  []staged   // sealed chunks not yet written, in write order
	chunk int        // bytes per sealed chunk; 0: sumChunk (tests vary it)
}

// staged is a pooled buffer holding a frame until it is written.
type staged struct {
	p     *[]byte
	frame []byte
}

// sumPiece is one chunk as listed in the buffers to write: of a
// segment whose crc job sums, or a placeholder for the next chunk of
// seal's record.
type sumPiece struct {
	p    []byte
	job  *sumJob
	seal *sealJob
	n    int    // seal: the chunk's length
	done staged // seal: sealed ahead by SumAll, not yet listed
}

// sumJob is one segment's crc: complete once its last chunk is summed.
type sumJob struct {
	crc  uint32
	left int
	slot []byte // the crc's 4 bytes in the frame's epilogue
}

// Streaming only pays for segments of several chunks; a writer sums at
// most sumAhead bytes ahead of what it has written. sumAhead must stay
// below StreamSumMin minus a chunk: see sameEnd.
const (
	StreamSumMin = 1 << 20
	sumChunk     = 256 << 10
	sumAhead     = 512 << 10
)

// add lists seg's chunks in iov, to be summed into slot as they go out.
func (s *SendSums) add(iov [][]byte, seg []byte, slot []byte) [][]byte {
	j := &sumJob{crc: 0xffffffff, slot: slot}
	for off := 0; off < len(seg); off += sumChunk {
		p := seg[off:min(off+sumChunk, len(seg)):min(off+sumChunk, len(seg))]
		iov = append(iov, p)
		s.q = append(s.q, sumPiece{p: p, job: j})
		j.left++
	}
	return iov
}

// sameEnd reports whether b is (a suffix of) chunk p, as a writer lists
// it: the same last byte. A writer's buffers could hold another slice
// ending at the same byte only if the caller sent overlapping data; the
// same data sent twice in a row is told apart because at most sumAhead
// bytes (less than a big segment) are summed ahead of the writes.
func sameEnd(b, p []byte) bool {
	return len(b) > 0 && len(b) <= len(p) && &b[len(b)-1] == &p[len(p)-1]
}

// Writable returns how many of bufs, the writer's unwritten buffers in
// order, may be written now, summing the chunks it lets through and
// sealing the secure ones, whose placeholders in bufs it replaces with
// the sealed bytes: the writer must write bufs[:n] as Writable left them.
// Chunks that are no longer in bufs (the writer dropped them with its
// socket) are forgotten.
func (s *SendSums) Writable(bufs [][]byte) int {
	s.held = putWritten(s.held, bufs)
	s.live = putWritten(s.live, bufs)
	if len(s.q) == 0 {
		return len(bufs)
	}
	for len(s.q) > 0 && !s.listed(bufs) {
		putBuf(s.q[0].done.p)
		s.q[0] = sumPiece{}
		s.q = s.q[1:]
	}
	ahead := 0
	for i, b := range bufs {
		if len(s.q) > 0 && sameEnd(b, s.q[0].p) {
			if ahead >= sumAhead {
				return i
			}
			b = s.sumNext()
			bufs[i] = b
		}
		ahead += len(b)
	}
	return len(bufs)
}

// putWritten gives back the pooled buffers of list (in write order) no
// longer in bufs: written (or dropped with their socket). The ones still
// listed are the newest, in the same order at the end of bufs: matched
// from the back in one pass. It returns what is left of list.
func putWritten(list []staged, bufs [][]byte) []staged {
	if len(list) == 0 {
		return list
	}
	k := len(list)
	for j := len(bufs) - 1; j >= 0 && k > 0; j-- {
		if sameEnd(bufs[j], list[k-1].frame) {
			k--
		}
	}
	for i := range k {
		putBuf(list[i].p)
	}
	n := copy(list, list[k:])
	clear(list[n:])
	return list[:n]
}

func (s *SendSums) listed(bufs [][]byte) bool {
	for _, b := range bufs {
		if sameEnd(b, s.q[0].p) {
			return true
		}
	}
	return false
}

// sumNext finishes the first chunk of the queue, which the writer is
// about to write, and returns the bytes to write for it.
func (s *SendSums) sumNext() []byte {
	pc := s.q[0]
	s.q[0] = sumPiece{}
	s.q = s.q[1:]
	if len(s.q) == 0 {
		s.q = s.q[:0:0] // let the array go; the next frame starts a new one
	}
	if pc.seal != nil {
		if pc.done.p == nil {
			pc.done = pc.sealChunk()
		}
		s.live = append(s.live, pc.done)
		return pc.done.frame
	}
	pc.sum()
	return pc.p
}

// sum adds a crc chunk to its segment's crc.
func (pc *sumPiece) sum() {
	j := pc.job
	j.crc = encoding.CRC32C(j.crc, pc.p)
	if j.left--; j.left == 0 {
		binary.LittleEndian.PutUint32(j.slot, j.crc)
	}
}

// sealChunk seals a secure chunk into a pooled buffer.
func (pc *sumPiece) sealChunk() staged {
	bp, b := getBuf(pc.n)
	b = b[:pc.n:pc.n]
	pc.seal.sealInto(b)
	return staged{p: bp, frame: b}
}

// busy reports whether frames staged or sealed here wait to be written.
func (s *SendSums) busy() bool { return len(s.q)+len(s.held)+len(s.live) > 0 }

// Pending reports how many chunks await their crc or sealing.
func (s *SendSums) Pending() int { return len(s.q) }

// SumAll computes now every crc still waiting for its chunk's write and
// seals every secure chunk still to seal (Writable lists them as the
// writer reaches them), so that no frame needs any more bytes it was
// built from, nor any chunk listed in the writer's buffers: the writer
// may then replace such a buffer with a copy of the same bytes (the
// chunks are matched by identity, see sameEnd).
func (s *SendSums) SumAll() {
	k := 0
	for _, pc := range s.q {
		if pc.seal == nil {
			pc.sum()
			continue
		}
		if pc.done.p == nil {
			pc.done = pc.sealChunk()
		}
		s.q[k] = pc
		k++
	}
	clear(s.q[k:])
	s.q = s.q[:k]
}

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
// It also gives back the pooled staging buffers of secure frames
// (Encoder.AppendMessageStaged) once they have left the writer's buffers.
type SendSums struct {
	q    []sumPiece // chunks not yet summed, in write order
	held []staged   // staging buffers not yet written
}

// staged is a pooled buffer holding a frame until it is written.
type staged struct {
	p     *[]byte
	frame []byte
}

// sumPiece is one chunk of a segment as listed in the buffers to write.
type sumPiece struct {
	p   []byte
	job *sumJob
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
// order, may be written now, summing the chunks it lets through. Chunks
// that are no longer in bufs (the writer dropped them with its socket)
// are forgotten.
func (s *SendSums) Writable(bufs [][]byte) int {
	if len(s.held) > 0 {
		s.putWritten(bufs)
	}
	if len(s.q) == 0 {
		return len(bufs)
	}
	for len(s.q) > 0 && !s.listed(bufs) {
		s.q[0] = sumPiece{}
		s.q = s.q[1:]
	}
	ahead := 0
	for i, b := range bufs {
		if len(s.q) > 0 && sameEnd(b, s.q[0].p) {
			if ahead >= sumAhead {
				return i
			}
			s.sumNext()
		}
		ahead += len(b)
	}
	return len(bufs)
}

// putWritten gives back the staging buffers no longer in bufs: written
// (or dropped with their socket). Frames go out in the order they were
// staged, so the ones still listed are the newest, in the same order at
// the end of bufs: matched from the back in one pass.
func (s *SendSums) putWritten(bufs [][]byte) {
	k := len(s.held)
	for j := len(bufs) - 1; j >= 0 && k > 0; j-- {
		if sameEnd(bufs[j], s.held[k-1].frame) {
			k--
		}
	}
	for i := range k {
		putBuf(s.held[i].p)
	}
	n := copy(s.held, s.held[k:])
	clear(s.held[n:])
	s.held = s.held[:n]
}

func (s *SendSums) listed(bufs [][]byte) bool {
	for _, b := range bufs {
		if sameEnd(b, s.q[0].p) {
			return true
		}
	}
	return false
}

func (s *SendSums) sumNext() {
	pc := s.q[0]
	s.q[0] = sumPiece{}
	s.q = s.q[1:]
	if len(s.q) == 0 {
		s.q = s.q[:0:0] // let the array go; the next frame starts a new one
	}
	j := pc.job
	j.crc = encoding.CRC32C(j.crc, pc.p)
	if j.left--; j.left == 0 {
		binary.LittleEndian.PutUint32(j.slot, j.crc)
	}
}

// Pending reports how many chunks await their crc.
func (s *SendSums) Pending() int { return len(s.q) }

// SumAll computes now every crc still waiting for its chunk's write, so
// that no chunk listed in the writer's buffers is needed any more to
// finish a frame: the writer may then replace such a buffer with a copy
// of the same bytes (the chunks are matched by identity, see sameEnd).
func (s *SendSums) SumAll() {
	for len(s.q) > 0 {
		s.sumNext()
	}
}

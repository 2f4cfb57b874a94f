package wire

import (
	"slices"

	"github.com/gomsgr/msgr/internal/aesgcm"
)

// sealLazy says big secure frames are sealed chunk by chunk as they are
// written (Encoder.VecMessageStaged): only with aesgcm's kernels, since
// Stream is slow without them. Tests set it both ways.
var sealLazy = aesgcm.Kernels()

// zeroPad is the source of segments' zero padding.
var zeroPad [Block]byte

// sealJob is the last record of a big secure frame, sealed chunk by
// chunk (SendSums.Writable) into pooled buffers, in order: its nonce was
// taken when the frame was built, in frame order, so that the record is
// byte for byte the one sealSegments makes. Owned by the SendSums'
// goroutine.
type sealJob struct {
	st    aesgcm.Stream
	parts [2 * MaxSegments][]byte // plaintext still to seal, in order
	np    int                     // parts in use
	at    int                     // parts[at] is the next one
	size  int                     // plaintext bytes
	tag   [TagSize]byte
	tagAt int // tag bytes sealed; -1 until the tag is computed
	epi   [epilogueSecure]byte
}

// add appends p to the plaintext.
func (j *sealJob) add(p []byte) {
	if len(p) > 0 {
		j.parts[j.np] = p
		j.np++
		j.size += len(p)
	}
}

// sealInto seals the record's next len(dst) bytes into dst: plaintext,
// then the tag.
func (j *sealJob) sealInto(dst []byte) {
	for len(dst) > 0 && j.at < j.np {
		p := j.parts[j.at]
		k := min(len(p), len(dst))
		j.st.Update(dst[:k], p[:k])
		dst = dst[k:]
		if j.parts[j.at] = p[k:]; k == len(p) {
			j.parts[j.at] = nil
			j.at++
		}
	}
	if len(dst) == 0 {
		return
	}
	if j.tagAt < 0 {
		j.st.Tag(j.tag[:0])
		j.tagAt = 0
	}
	j.tagAt += copy(dst, j.tag[j.tagAt:])
}

// addSeal lists in iov the chunks of j's record, size bytes in all, as
// placeholders: one byte each, of an array of their own, so that they
// are told apart by identity (sameEnd) and touch no caller's memory.
func (s *SendSums) addSeal(iov [][]byte, j *sealJob, size int) [][]byte {
	c := s.chunk
	if c <= 0 {
		c = sumChunk
	}
	marks := make([]byte, (size+c-1)/c)
	s.q = slices.Grow(s.q, len(marks))
	for k := range marks {
		p := marks[k : k+1 : k+1]
		iov = append(iov, p)
		s.q = append(s.q, sumPiece{p: p, seal: j, n: min(c, size-k*c)})
	}
	return iov
}

// vecSealed lists a MESSAGE frame of segs (secure mode) in iov: v2.1's
// head records sealed now into a pooled buffer, then the record of the
// other segments (v2.0: the whole frame's one record) as chunks that
// e.sums.Writable seals when the writer reaches them.
func (e *Encoder) vecSealed(iov [][]byte, segs [][]byte) ([][]byte, error) {
	var p Preamble
	if err := preamble(&p, TagMessage, segs); err != nil {
		return iov, err
	}
	j := &sealJob{tagAt: -1}
	iov0 := iov
	if e.rev1 {
		hp, head := getBuf(secureHeadLen(len(segs[0])))
		k, err := e.sealHead(head, &p, segs[0])
		if err != nil {
			putBuf(hp)
			return iov, err
		}
		e.sums.held = append(e.sums.held, staged{p: hp, frame: head[:k:k]})
		iov = append(iov, head[:k:k])
		j.epi[0] = lateStatusComplete
	} else {
		// The record starts with the preamble and segment 0, copied: the
		// header lives in the Encoder's scratch.
		lead := make([]byte, PreambleSize+int(pad16(uint64(len(segs[0])))))
		p.put(lead)
		copy(lead[PreambleSize:], segs[0])
		j.add(lead)
	}
	for i := 1; i < int(p.NumSegments); i++ {
		s := segment(segs, i)
		j.add(s)
		j.add(zeroPad[:int(pad16(uint64(len(s))))-len(s)])
	}
	j.add(j.epi[:])
	if err := e.tx.next(); err != nil {
		return iov0, err
	}
	j.st.InitSeal(e.tx.aead, e.tx.cur[:], nil)
	return e.sums.addSeal(iov, j, j.size+TagSize), nil
}

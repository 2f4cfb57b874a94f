package wire

// Arena hands out small pieces of memory for frames being written (their
// preambles, headers, crcs, epilogues) from chunks of arenaChunk bytes, so
// that a frame's pieces cost no allocation of their own. A full chunk is
// replaced, never grown or reused in place: a piece stays valid for as
// long as anything refers to it (a writer's pending buffers), unless the
// owner calls Reset or Release once everything handed out is written.
// Chunks come from the pool the receive buffers share, and Release gives
// the current one back, so that a connection with nothing to write holds
// none.
//
// An Arena is owned by one goroutine (a connection's write side).
type Arena struct {
	b []byte
	p *[]byte // b's pool handle; nil when b is not pooled
}

// arenaChunk is the size of an Arena's chunks (a piece bigger than that
// gets a chunk of its own size).
const arenaChunk = 16 << 10

// Alloc returns n zeroed bytes from the arena, capped at n.
func (a *Arena) Alloc(n int) []byte {
	if cap(a.b)-len(a.b) < n {
		// The full chunk is left to the garbage collector: pieces of
		// it may still wait to be written.
		a.b, a.p = nil, nil
		if n <= arenaChunk {
			p, b := getBuf(arenaChunk)
			a.b, a.p = b[:0], p
		} else {
			a.b = make([]byte, 0, n)
		}
	}
	l := len(a.b)
	a.b = a.b[:l+n]
	piece := a.b[l : l+n : l+n]
	clear(piece) // pooled chunks are not cleared
	return piece
}

// Reset makes the current chunk's room available again: every piece
// handed out becomes invalid.
func (a *Arena) Reset() { a.b = a.b[:0] }

// Release gives the current chunk back to the pool: every piece handed
// out becomes invalid. The next Alloc takes a chunk again.
func (a *Arena) Release() {
	putBuf(a.p)
	a.b, a.p = nil, nil
}

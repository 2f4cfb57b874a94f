package wire

// Arena hands out small pieces of memory for frames being written (their
// preambles, headers, crcs, epilogues) from chunks of arenaChunk bytes, so
// that a frame's pieces cost no allocation of their own. A full chunk is
// replaced, never grown or reused in place: a piece stays valid for as
// long as anything refers to it (a writer's pending buffers), unless the
// owner calls Reset once everything handed out is written.
//
// An Arena is owned by one goroutine (a connection's write side).
type Arena struct{ b []byte }

// arenaChunk is the size of an Arena's chunks (a piece bigger than that
// gets a chunk of its own size).
const arenaChunk = 16 << 10

// Alloc returns n bytes from the arena, capped at n.
func (a *Arena) Alloc(n int) []byte {
	if cap(a.b)-len(a.b) < n {
		a.b = make([]byte, 0, max(n, arenaChunk))
	}
	l := len(a.b)
	a.b = a.b[:l+n]
	return a.b[l : l+n : l+n]
}

// Reset makes the current chunk's room available again: every piece
// handed out becomes invalid.
func (a *Arena) Reset() { a.b = a.b[:0] }

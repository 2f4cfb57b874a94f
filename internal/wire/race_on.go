//go:build race

package wire

// poisonReleased makes Buf.Release overwrite the buffer from another
// goroutine before pooling it, so that the race detector reports a read of
// released memory.
const poisonReleased = true

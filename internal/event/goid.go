package event

// curG identifies the calling goroutine while it lives: on amd64 and
// arm64 it is the address of the runtime's g (read from the TLS slot or
// the g register, a nanosecond); elsewhere the id parsed from a stack
// trace header (about a microsecond). A live goroutine's g never moves
// and is not shared, so comparing it with the loop goroutine's is exact
// while the loop runs.
func curG() uintptr { return getg() }

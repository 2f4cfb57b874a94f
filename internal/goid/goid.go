// Package goid identifies the running goroutine, for "am I the owner?"
// checks on slow paths and loop-ownership assertions.
package goid

// Current identifies the calling goroutine while it lives: on amd64 and
// arm64 it is the address of the runtime's g (read from the TLS slot or
// the g register, a nanosecond); elsewhere the id parsed from a stack
// trace header (about a microsecond). A live goroutine's g never moves
// and is not shared, so comparing with a stored owner's value is exact
// while that owner lives; owners clear what they stored before they exit
// (a dead goroutine's g is reused).
func Current() uintptr { return getg() }

//go:build amd64 || arm64

package goid

// getg returns the current g's address, as an integer so the collector
// never sees it as a pointer. Implemented in goid_$GOARCH.s.
func getg() uintptr

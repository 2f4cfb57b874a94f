//go:build !amd64 && !arm64

package goid

import "runtime"

// getg falls back to the goroutine id in the stack trace header
// ("goroutine 123 [running]:").
func getg() uintptr {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	b := buf[:n]
	const prefix = len("goroutine ")
	if len(b) <= prefix {
		return 0
	}
	var id uintptr
	for _, c := range b[prefix:] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uintptr(c-'0')
	}
	return id
}

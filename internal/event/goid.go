package event

import "runtime"

// goid returns the current goroutine's id by reading the header of its
// stack trace ("goroutine 123 [running]:"). It costs about a microsecond,
// which is why InLoop is for assertions and slow paths, not per-byte work.
func goid() uint64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	b := buf[:n]
	const prefix = len("goroutine ")
	if len(b) <= prefix {
		return 0
	}
	var id uint64
	for _, c := range b[prefix:] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

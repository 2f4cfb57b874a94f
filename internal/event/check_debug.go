//go:build race || msgr_debug

package event

// checkOwner makes loop-owned methods verify they run on the loop
// goroutine (ErrNotInLoop otherwise): on under -race and -tags msgr_debug.
const checkOwner = true

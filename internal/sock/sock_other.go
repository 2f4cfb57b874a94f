//go:build !linux && !darwin && !freebsd

package sock

import "errors"

// ErrWouldBlock and ErrInProgress exist for API parity; nothing returns
// them here because every helper reports ErrUnsupported.
var (
	ErrWouldBlock = errors.New("sock: operation would block")
	ErrInProgress = errors.New("sock: operation in progress")
)

func closeFD(int) error { return ErrUnsupported }

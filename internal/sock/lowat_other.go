//go:build !linux

package sock

// SetRecvLowat is Linux only: elsewhere a nonblocking read below the mark
// may fail with EWOULDBLOCK, which the loops do not expect.
func SetRecvLowat(fd, n int) error { return ErrUnsupported }

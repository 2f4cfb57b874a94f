package sock

import "golang.org/x/sys/unix"

// SetRecvLowat sets SO_RCVLOWAT to max(n, 1). On Linux a TCP socket below
// its mark is not reported readable, and its watchers are not woken,
// until the mark is reached, the peer closes, or the receive window or
// buffer runs short (tcp_epollin_ready); a nonblocking read still returns
// what there is.
func SetRecvLowat(fd, n int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, max(n, 1))
}

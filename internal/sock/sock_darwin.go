//go:build darwin

package sock

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Darwin has neither SOCK_NONBLOCK nor accept4: the flags are set after
// creation under ForkLock so an exec in between cannot inherit the fd.

func newSocket(family int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err != nil {
		return -1, err
	}
	return setFlags(fd)
}

func accept(lfd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, sa, err := unix.Accept(lfd)
	if err != nil {
		return -1, nil, err
	}
	fd, err = setFlags(fd)
	return fd, sa, err
}

func setFlags(fd int) (int, error) {
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// A write to a peer-closed socket must return EPIPE, not raise SIGPIPE.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

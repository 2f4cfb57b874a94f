//go:build linux || freebsd

package sock

import "golang.org/x/sys/unix"

func newSocket(family int) (int, error) {
	for {
		fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func accept(lfd int) (int, unix.Sockaddr, error) {
	return unix.Accept4(lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
}

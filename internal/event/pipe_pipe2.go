//go:build linux || freebsd

package event

import "golang.org/x/sys/unix"

func newPipe() (rd, wr int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}

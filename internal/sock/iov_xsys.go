//go:build linux || darwin

package sock

import "golang.org/x/sys/unix"

// x/sys builds the iovec array on the stack for up to 8 buffers.
func readv(fd int, bufs [][]byte) (int, error)  { return unix.Readv(fd, bufs) }
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }

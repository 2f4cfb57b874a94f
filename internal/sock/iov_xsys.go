//go:build darwin

package sock

import "golang.org/x/sys/unix"

// Darwin's system calls go through libc; x/sys builds the iovec array on
// the stack for up to 8 buffers.
func read(fd int, p []byte) (int, error)        { return unix.Read(fd, p) }
func write(fd int, p []byte) (int, error)       { return unix.Write(fd, p) }
func readv(fd int, bufs [][]byte) (int, error)  { return unix.Readv(fd, bufs) }
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }

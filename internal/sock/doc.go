// Package sock holds the nonblocking socket helpers the event loop drives:
// listen, accept, connect, read, readv, writev, socket options and close,
// on raw file descriptors through golang.org/x/sys/unix; and on Linux a
// Ring, an io_uring that carries out a batch of nonblocking sends and
// receives in one system call.
//
// Every descriptor it creates is nonblocking and close-on-exec. Read and
// write helpers return ErrWouldBlock (errors.Is) when the kernel has no
// data or no room; callers wait for the matching event on their loop and
// retry. Read returns io.EOF when the peer closed its side.
//
// Hot-path helpers (Read, Write, Readv, Writev) do not allocate: errors are
// the raw errno values. Setup helpers (Listen, Connect, Accept) wrap
// failures in *OpError naming the operation.
//
// Ownership: a descriptor number is only safe to use while it is known to
// be open. FD adds the reference count that makes that true when more than
// one goroutine can reach a descriptor (the fd-reuse bug where a late write
// lands on another peer's socket): Close marks it closing and the real
// close(2) happens when the last user releases it.
package sock

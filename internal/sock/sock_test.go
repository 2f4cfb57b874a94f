//go:build linux || darwin || freebsd

package sock

import (
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFD blocks (bounded) until fd is ready for events, with poll(2).
func waitFD(t *testing.T, fd int, events int16) {
	t.Helper()
	p := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for range 200 {
		n, err := unix.Poll(p, 100)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatalf("fd %d never ready for %#x", fd, events)
}

// pair connects a client to a fresh listener on addr and returns both ends.
func pair(t *testing.T, addr netip.AddrPort) (cli, srv int) {
	t.Helper()
	lfd, err := Listen(addr, ListenConfig{})
	if err != nil {
		t.Fatalf("Listen(%v): %v", addr, err)
	}
	t.Cleanup(func() { Close(lfd) })
	la, err := LocalAddr(lfd)
	if err != nil {
		t.Fatal(err)
	}
	if la.Port() == 0 {
		t.Fatal("listener has no port")
	}
	if _, _, err := Accept(lfd); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("Accept with nothing pending: %v, want ErrWouldBlock", err)
	}
	cli, pending, err := Connect(la, DialConfig{NoDelay: true})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { Close(cli) })
	if pending {
		waitFD(t, cli, unix.POLLOUT)
		if err := ConnectResult(cli); err != nil {
			t.Fatalf("ConnectResult: %v", err)
		}
	}
	waitFD(t, lfd, unix.POLLIN)
	srv, peer, err := Accept(lfd)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { Close(srv) })
	if cl, _ := LocalAddr(cli); cl != peer {
		t.Fatalf("accepted peer %v, client local %v", peer, cl)
	}
	if fl, err := unix.FcntlInt(uintptr(srv), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Fatalf("accepted fd not nonblocking: %#x %v", fl, err)
	}
	if fl, err := unix.FcntlInt(uintptr(srv), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Fatalf("accepted fd not close-on-exec: %#x %v", fl, err)
	}
	return cli, srv
}

func TestEcho(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0", "[::]:0"} {
		t.Run(addr, func(t *testing.T) {
			ap := netip.MustParseAddrPort(addr)
			if ap.Addr().IsUnspecified() {
				// Dual stack: an IPv4 client reaches the [::] listener.
				lfd, err := Listen(ap, ListenConfig{})
				if err != nil {
					t.Skipf("no IPv6: %v", err)
				}
				la, _ := LocalAddr(lfd)
				Close(lfd)
				ap = netip.AddrPortFrom(netip.MustParseAddr("::"), la.Port())
			}
			if ap.Addr().Is6() && ap.Addr().IsLoopback() {
				fd, err := Listen(ap, ListenConfig{})
				if err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				Close(fd)
			}
			cli, srv := pair(t, ap)
			buf := make([]byte, 64)
			if _, err := Read(srv, buf); !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("Read on empty socket: %v, want ErrWouldBlock", err)
			}
			n, err := Writev(cli, [][]byte{[]byte("hello, "), nil, []byte("world")})
			if err != nil || n != 12 {
				t.Fatalf("Writev = %d, %v", n, err)
			}
			waitFD(t, srv, unix.POLLIN)
			a, b := make([]byte, 5), make([]byte, 20)
			n, err = Readv(srv, [][]byte{a, b})
			if err != nil || n != 12 || string(a)+string(b[:7]) != "hello, world" {
				t.Fatalf("Readv = %d, %v: %q %q", n, err, a, b)
			}
			if _, err := Write(srv, []byte("bye")); err != nil {
				t.Fatal(err)
			}
			waitFD(t, cli, unix.POLLIN)
			if n, err := Read(cli, buf); err != nil || string(buf[:n]) != "bye" {
				t.Fatalf("Read = %q, %v", buf[:n], err)
			}
			if err := ShutdownWrite(cli); err != nil {
				t.Fatal(err)
			}
			waitFD(t, srv, unix.POLLIN)
			if _, err := Read(srv, buf); err != io.EOF {
				t.Fatalf("Read after peer shutdown: %v, want io.EOF", err)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	cli, srv := pair(t, netip.MustParseAddrPort("127.0.0.1:0"))
	for _, fd := range []int{cli, srv} {
		if err := SetNoDelay(fd, true); err != nil {
			t.Fatal(err)
		}
		if v, _ := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); v == 0 {
			t.Fatal("TCP_NODELAY not set")
		}
		if err := SetRecvBuffer(fd, 1<<16); err != nil {
			t.Fatal(err)
		}
		if err := SetSendBuffer(fd, 1<<16); err != nil {
			t.Fatal(err)
		}
		if v, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); v < 1<<16 {
			t.Fatalf("SO_RCVBUF = %d", v)
		}
	}
	if pa, err := PeerAddr(cli); err != nil || !pa.Addr().IsLoopback() {
		t.Fatalf("PeerAddr = %v, %v", pa, err)
	}
}

func TestConnectRefused(t *testing.T) {
	// A port just released is (almost always) closed.
	lfd, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"), ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	la, _ := LocalAddr(lfd)
	Close(lfd)
	fd, pending, err := Connect(la, DialConfig{Local: netip.MustParseAddrPort("127.0.0.2:0")})
	if err != nil {
		var oe *OpError
		if !errors.As(err, &oe) || !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatalf("Connect: %v, want an *OpError wrapping ECONNREFUSED", err)
		}
		return
	}
	defer Close(fd)
	if !pending {
		t.Fatal("connect to a closed port succeeded")
	}
	waitFD(t, fd, unix.POLLOUT)
	if err := ConnectResult(fd); !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("ConnectResult: %v, want ECONNREFUSED", err)
	}
}

func TestListenErrors(t *testing.T) {
	lfd, err := Listen(netip.MustParseAddrPort("127.0.0.1:0"), ListenConfig{NoReuseAddr: true, Backlog: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer Close(lfd)
	la, _ := LocalAddr(lfd)
	_, err = Listen(la, ListenConfig{})
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op != "bind" || !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("second Listen on %v: %v, want bind EADDRINUSE", la, err)
	}
}

func TestFDRefcount(t *testing.T) {
	cases := []struct {
		name     string
		acquires int
	}{{"unused", 0}, {"one holder", 1}, {"three holders", 3}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var closed []int
			f := NewFD(42)
			f.closeFn = func(fd int) error { closed = append(closed, fd); return nil }
			for range tc.acquires {
				if fd, err := f.Acquire(); err != nil || fd != 42 {
					t.Fatalf("Acquire = %d, %v", fd, err)
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := f.Acquire(); !errors.Is(err, ErrClosed) {
				t.Fatalf("Acquire after Close: %v", err)
			}
			for i := 0; i < tc.acquires; i++ {
				if len(closed) != 0 || f.Closed() {
					t.Fatalf("closed with %d holders left", tc.acquires-i)
				}
				f.Release()
			}
			if len(closed) != 1 || !f.Closed() {
				t.Fatalf("closes = %v, want exactly one", closed)
			}
		})
	}
}

func TestFDConcurrent(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	f := NewFD(fds[0])
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				fd, err := f.Acquire()
				if err != nil {
					return
				}
				// The descriptor must stay open while held.
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
					t.Errorf("held fd closed: %v", err)
				}
				f.Release()
			}
		}()
	}
	time.AfterFunc(10*time.Millisecond, func() { f.Close() })
	for range 4 {
		<-done
	}
	if !f.Closed() {
		t.Fatal("not closed after all holders left")
	}
}

// TestVectors gathers and scatters buffer lists around the 64 iovecs the
// raw calls keep on the stack, with empty buffers mixed in, and checks
// that a full socket says ErrWouldBlock rather than blocking.
func TestVectors(t *testing.T) {
	cli, srv := pair(t, netip.MustParseAddrPort("127.0.0.1:0"))
	for _, tc := range []struct {
		name    string
		n       int // buffers
		emptyAt int // every emptyAt-th buffer is empty; 0: none
	}{
		{"none", 0, 0},
		{"all empty", 5, 1},
		{"one", 1, 0},
		{"stack", 64, 0},
		{"stack with empties", 64, 3},
		{"heap", 65, 0},
		{"heap with empties", 100, 4},
		{"many", MaxIovecs + 7, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bufs [][]byte
			var want []byte
			for i := range tc.n {
				var b []byte
				if tc.emptyAt == 0 || i%tc.emptyAt != 0 {
					b = []byte{byte(i), byte(i >> 8), 0xa5}
				}
				bufs = append(bufs, b)
				if i < MaxIovecs {
					want = append(want, b...)
				}
			}
			n, err := Writev(cli, bufs)
			if err != nil || n != len(want) {
				t.Fatalf("Writev(%d buffers) = %d, %v; want %d", tc.n, n, err, len(want))
			}
			if len(want) == 0 {
				return
			}
			got := make([]byte, 0, len(want))
			for len(got) < len(want) {
				waitFD(t, srv, unix.POLLIN)
				// Scatter over 1-byte, empty and 19 larger buffers.
				parts := [][]byte{make([]byte, 1), nil}
				for range 19 {
					parts = append(parts, make([]byte, 7))
				}
				n, err := Readv(srv, parts)
				if err != nil {
					t.Fatalf("Readv: %v", err)
				}
				for _, p := range parts {
					k := min(n, len(p))
					got = append(got, p[:k]...)
					n -= k
				}
			}
			if string(got) != string(want) {
				t.Fatalf("read back %x, want %x", got, want)
			}
		})
	}
	t.Run("no allocation", func(t *testing.T) {
		bufs := make([][]byte, 64)
		for i := range bufs {
			bufs[i] = []byte{byte(i)}
		}
		rbuf := make([]byte, 256)
		allocs := testing.AllocsPerRun(50, func() {
			if n, err := Writev(cli, bufs); n != 64 || err != nil {
				t.Fatalf("Writev = %d, %v", n, err)
			}
			waitFD(t, srv, unix.POLLIN)
			if _, err := Read(srv, rbuf); err != nil {
				t.Fatalf("Read: %v", err)
			}
			if _, err := Read(srv, rbuf); err != nil && !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("Read: %v", err)
			}
		})
		if allocs != 0 {
			t.Fatalf("Writev of 64 buffers and Read: %v allocations, want 0", allocs)
		}
	})
	t.Run("full", func(t *testing.T) {
		if n, err := Write(cli, nil); n != 0 || err != nil {
			t.Fatalf("Write(nil) = %d, %v", n, err)
		}
		chunk := make([]byte, 1<<16)
		for i := 0; ; i++ {
			if i > 4096 {
				t.Fatal("a socket nobody reads never filled")
			}
			_, err := Writev(cli, [][]byte{chunk, chunk})
			if errors.Is(err, ErrWouldBlock) {
				break
			}
			if err != nil {
				t.Fatalf("Writev: %v", err)
			}
		}
		if _, err := Write(cli, chunk); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("Write on a full socket: %v, want ErrWouldBlock", err)
		}
	})
}

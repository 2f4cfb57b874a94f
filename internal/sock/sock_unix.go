//go:build linux || darwin || freebsd

package sock

import (
	"io"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrWouldBlock is what Read, Write, Readv, Writev and Accept return when
// the operation must wait for readiness (EAGAIN).
var ErrWouldBlock error = unix.EAGAIN

// ErrInProgress reports a nonblocking connect still under way.
var ErrInProgress error = unix.EINPROGRESS

// DefaultBacklog is the listen backlog when ListenConfig.Backlog is 0;
// Ceph's ms_tcp_listen_backlog default.
const DefaultBacklog = 512

// ListenConfig tunes Listen. The zero value is ready to use.
type ListenConfig struct {
	Backlog     int  // 0: DefaultBacklog
	NoReuseAddr bool // SO_REUSEADDR is set unless this is true
	// V6Only limits an IPv6 listener to IPv6; otherwise [::] accepts IPv4
	// too (mapped addresses).
	V6Only  bool
	RecvBuf int // SO_RCVBUF when > 0; inherited by accepted sockets
	SendBuf int // SO_SNDBUF when > 0
}

// Listen opens a nonblocking TCP listener on addr (port 0 picks one).
func Listen(addr netip.AddrPort, cfg ListenConfig) (int, error) {
	sa, family := toSockaddr(addr)
	fd, err := newSocket(family)
	if err != nil {
		return -1, &OpError{Op: "socket", Addr: addr.String(), Err: err}
	}
	fail := func(op string, err error) (int, error) {
		unix.Close(fd)
		return -1, &OpError{Op: op, Addr: addr.String(), Err: err}
	}
	if !cfg.NoReuseAddr {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt SO_REUSEADDR", err)
		}
	}
	if family == unix.AF_INET6 {
		v := 0
		if cfg.V6Only {
			v = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v); err != nil {
			return fail("setsockopt IPV6_V6ONLY", err)
		}
	}
	if err := setBuffers(fd, cfg.RecvBuf, cfg.SendBuf); err != nil {
		return fail("setsockopt buffers", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	backlog := cfg.Backlog
	if backlog <= 0 {
		backlog = DefaultBacklog
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	return fd, nil
}

// Accept takes one pending connection from a nonblocking listener. The new
// descriptor is nonblocking and close-on-exec. It returns ErrWouldBlock
// (unwrapped) when no connection is pending.
func Accept(lfd int) (int, netip.AddrPort, error) {
	for {
		fd, sa, err := accept(lfd)
		switch err {
		case nil:
			return fd, fromSockaddr(sa), nil
		case unix.EINTR, unix.ECONNABORTED:
			// The peer gave up before we took it; try the next one.
			continue
		case unix.EAGAIN:
			return -1, netip.AddrPort{}, ErrWouldBlock
		default:
			return -1, netip.AddrPort{}, &OpError{Op: "accept", Err: err}
		}
	}
}

// DialConfig tunes Connect. The zero value is ready to use.
type DialConfig struct {
	Local   netip.AddrPort // bind to this source address first when valid
	NoDelay bool           // TCP_NODELAY
	RecvBuf int
	SendBuf int
}

// Connect starts a nonblocking connect to addr. It returns the descriptor
// and whether the connect is still pending; when pending, wait for the
// descriptor to become writable and call ConnectResult.
func Connect(addr netip.AddrPort, cfg DialConfig) (fd int, pending bool, err error) {
	sa, family := toSockaddr(addr)
	fd, err = newSocket(family)
	if err != nil {
		return -1, false, &OpError{Op: "socket", Addr: addr.String(), Err: err}
	}
	fail := func(op string, err error) (int, bool, error) {
		unix.Close(fd)
		return -1, false, &OpError{Op: op, Addr: addr.String(), Err: err}
	}
	if cfg.NoDelay {
		if err := SetNoDelay(fd, true); err != nil {
			return fail("setsockopt TCP_NODELAY", err)
		}
	}
	if err := setBuffers(fd, cfg.RecvBuf, cfg.SendBuf); err != nil {
		return fail("setsockopt buffers", err)
	}
	if cfg.Local.IsValid() {
		lsa, _ := toSockaddr(cfg.Local)
		if family == unix.AF_INET6 && cfg.Local.Addr().Is4() {
			lsa = &unix.SockaddrInet6{Port: int(cfg.Local.Port()), Addr: cfg.Local.Addr().As16()}
		}
		if err := unix.Bind(fd, lsa); err != nil {
			return fail("bind", err)
		}
	}
	for {
		err = unix.Connect(fd, sa)
		switch err {
		case nil:
			return fd, false, nil
		case unix.EINTR:
			// The connect continues in the background; treat as pending.
			return fd, true, nil
		case unix.EINPROGRESS, unix.EALREADY:
			return fd, true, nil
		default:
			return fail("connect", err)
		}
	}
}

// ConnectResult reports how a pending connect ended, once the descriptor
// is writable: nil when connected, the socket error otherwise.
func ConnectResult(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return &OpError{Op: "getsockopt SO_ERROR", Err: err}
	}
	if v != 0 {
		return &OpError{Op: "connect", Err: unix.Errno(v)}
	}
	return nil
}

// Read reads into p. It returns io.EOF when the peer closed, ErrWouldBlock
// when nothing is available, and retries EINTR.
func Read(fd int, p []byte) (int, error) {
	for {
		n, err := read(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes from p, possibly partially; ErrWouldBlock when full.
func Write(fd int, p []byte) (int, error) {
	for {
		n, err := write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// Readv scatters one read over bufs; io.EOF when the peer closed.
func Readv(fd int, bufs [][]byte) (int, error) {
	for {
		n, err := readv(fd, bufs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && total(bufs) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// Writev gathers bufs into one write, possibly partial. At most MaxIovecs
// buffers are sent per call; callers loop on the returned count.
func Writev(fd int, bufs [][]byte) (int, error) {
	if len(bufs) > MaxIovecs {
		bufs = bufs[:MaxIovecs]
	}
	for {
		n, err := writev(fd, bufs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// MaxIovecs bounds the buffers per Writev call (IOV_MAX is 1024 on the
// supported systems).
const MaxIovecs = 1024

// SetNoDelay sets or clears TCP_NODELAY.
func SetNoDelay(fd int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, v)
}

// SetRecvBuffer sets SO_RCVBUF.
func SetRecvBuffer(fd, n int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
}

// SetSendBuffer sets SO_SNDBUF.
func SetSendBuffer(fd, n int) error {
	return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, n)
}

// Shutdown shuts down the write side (how: unix.SHUT_WR etc.).
func ShutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

// Close closes fd; EINTR is not retried (the descriptor is gone either way).
func Close(fd int) error { return unix.Close(fd) }

func closeFD(fd int) error { return unix.Close(fd) }

// LocalAddr returns the socket's bound address.
func LocalAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, &OpError{Op: "getsockname", Err: err}
	}
	return fromSockaddr(sa), nil
}

// PeerAddr returns the connected peer's address.
func PeerAddr(fd int) (netip.AddrPort, error) {
	sa, err := unix.Getpeername(fd)
	if err != nil {
		return netip.AddrPort{}, &OpError{Op: "getpeername", Err: err}
	}
	return fromSockaddr(sa), nil
}

func setBuffers(fd, rcv, snd int) error {
	if rcv > 0 {
		if err := SetRecvBuffer(fd, rcv); err != nil {
			return err
		}
	}
	if snd > 0 {
		if err := SetSendBuffer(fd, snd); err != nil {
			return err
		}
	}
	return nil
}

func toSockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	a := ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if n, err := strconv.Atoi(z); err == nil {
			sa.ZoneId = uint32(n)
		}
	}
	return sa, unix.AF_INET6
}

func fromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		a := netip.AddrFrom16(sa.Addr)
		if a.Is4In6() {
			a = a.Unmap()
		}
		return netip.AddrPortFrom(a, uint16(sa.Port))
	}
	return netip.AddrPort{}
}

func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// Package asok is Ceph's admin socket (src/common/admin_socket.cc): a
// Unix stream socket that answers one command per connection, which the
// real `ceph daemon PATH ...` / `ceph --admin-daemon PATH ...` reads.
//
// Framing, checked against Ceph 16.2.15's daemons and ceph_daemon.py: the
// client sends a JSON object {"prefix": "perf dump", ...} terminated by
// NUL (or newline); the server answers a 4-byte big-endian length and
// that many bytes, then closes. Errors are answered in the same frame as
// "ERROR: (22) Invalid argument\n<message>\n". The CLI first asks for
// get_command_descriptions and validates the command against them.
package asok

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/perf"
)

// Typed errors.
var (
	// ErrInUse: another live process answers on the socket path.
	ErrInUse = errors.New("asok: socket path in use")
	// ErrExists: a command with that prefix is registered.
	ErrExists = errors.New("asok: command exists")
	// ErrClosed: the server is closed.
	ErrClosed = errors.New("asok: closed")
)

// Error is a command's failure with the errno Ceph would answer.
type Error struct {
	Errno syscall.Errno
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// Is matches the errno, so errors.Is(err, syscall.ENOENT) works.
func (e *Error) Is(target error) bool { return target == e.Errno }

// Errorf returns an *Error.
func Errorf(errno syscall.Errno, format string, args ...any) error {
	return &Error{Errno: errno, Msg: fmt.Sprintf(format, args...)}
}

// Request is one decoded command.
type Request struct {
	Prefix string
	Format string         // "json" or "json-pretty"
	Args   map[string]any // the whole JSON object, prefix included
}

// String returns argument name if it is a string.
func (r Request) String(name string) (string, bool) {
	s, ok := r.Args[name].(string)
	return s, ok
}

// Hook answers a command with JSON; the server indents it for
// json-pretty.
type Hook func(ctx context.Context, r Request) ([]byte, error)

// Arg is one parameter of a command's signature (Ceph's cmddesc
// "name=var,type=CephString,req=false").
type Arg struct {
	Name     string
	Type     string // "CephString", "CephInt", ...
	Optional bool
	Repeat   bool // n=N
}

// Command is one admin socket command.
type Command struct {
	Prefix string // words, "perf dump"
	Args   []Arg
	Help   string
	Hook   Hook
}

// Options configure a Server.
type Options struct {
	// Perf is what perf dump and perf schema show; nil shows nothing.
	Perf *perf.Collection
	// Version is what `version` reports as "version".
	Version string
	Logger  *slog.Logger
	// Commands are registered besides the built-in ones (ConfigCommands,
	// Messenger.AdminCommands, ...).
	Commands []Command
}

const (
	// maxRequest bounds a request line; Ceph's is a few KiB.
	maxRequest = 64 << 10
	// ioTimeout bounds one connection's read and write.
	ioTimeout = 10 * time.Second
	// maxConns bounds the connections served at once.
	maxConns = 4
	// sockVersion answers the "0" ping (CEPH_ADMIN_SOCK_VERSION).
	sockVersion = "2"
)

// Server serves an admin socket. Register, Unregister and Close are safe
// from any goroutine; each connection is served on its own goroutine.
type Server struct {
	path string
	ln   *net.UnixListener
	opts Options
	log  *slog.Logger
	sem  chan struct{}
	wg   sync.WaitGroup
	ctx  context.Context
	stop context.CancelFunc

	mu   sync.Mutex
	cmds map[string]*Command // by prefix
}

// Listen binds the socket at path and starts serving. A stale socket
// file (nobody answers) is replaced, as Ceph does; a live one is
// ErrInUse.
func Listen(path string, opts Options) (*Server, error) {
	ln, err := listen(path)
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	s := &Server{path: path, ln: ln, opts: opts, log: opts.Logger, sem: make(chan struct{}, maxConns), cmds: map[string]*Command{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	for _, c := range s.builtins() {
		s.mustRegister(c)
	}
	for _, c := range opts.Commands {
		if err := s.Register(c); err != nil {
			ln.Close()
			return nil, err
		}
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func listen(path string) (*net.UnixListener, error) {
	addr := &net.UnixAddr{Name: path, Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		return ln, err
	}
	c, derr := net.DialTimeout("unix", path, time.Second)
	if derr == nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if rerr := os.Remove(path); rerr != nil {
		return nil, err
	}
	return net.ListenUnix("unix", addr)
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving, waits for the connections being served and
// removes the socket file.
func (s *Server) Close() error {
	s.stop()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Register adds a command.
func (s *Server) Register(c Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cmds[c.Prefix]; ok {
		return fmt.Errorf("%w: %q", ErrExists, c.Prefix)
	}
	s.cmds[c.Prefix] = &c
	return nil
}

func (s *Server) mustRegister(c Command) {
	if err := s.Register(c); err != nil {
		panic(err) // builtins are distinct
	}
}

// Unregister removes a command.
func (s *Server) Unregister(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cmds, prefix)
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if s.ctx.Err() == nil {
				s.log.Error("asok: accept", "err", err)
			}
			return
		}
		select {
		case s.sem <- struct{}{}:
		case <-s.ctx.Done():
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.sem }()
			s.serve(c)
		}()
	}
}

// serve answers one request on c, then closes it.
func (s *Server) serve(c *net.UnixConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	req, err := readRequest(bufio.NewReader(io.LimitReader(c, maxRequest+1)))
	if err != nil {
		if errors.Is(err, io.EOF) {
			return // connected and went away: nothing to answer
		}
		s.log.Debug("asok: bad request", "err", err)
		writeReply(c, errorReply(err))
		return
	}
	writeReply(c, s.Execute(s.ctx, req))
}

// readRequest reads up to NUL or newline.
func readRequest(r *bufio.Reader) ([]byte, error) {
	var b []byte
	for {
		ch, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				return nil, Errorf(syscall.EINVAL, "request not terminated")
			}
			return nil, err
		}
		if ch == 0 || ch == '\n' {
			if len(b) == 0 && ch == 0 {
				// Ceph's pre-JSON protocol (a be32 code): not served.
				return nil, Errorf(syscall.EINVAL, "old admin socket protocol not supported")
			}
			return b, nil
		}
		if len(b) >= maxRequest {
			return nil, Errorf(syscall.EINVAL, "request too long")
		}
		b = append(b, ch)
	}
}

func writeReply(w io.Writer, out []byte) {
	var h [4]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(out)))
	w.Write(append(h[:], out...))
}

// errorReply is Ceph's "ERROR: (errno) strerror\nmessage\n".
func errorReply(err error) []byte {
	errno := syscall.EINVAL
	var e *Error
	if errors.As(err, &e) {
		errno = e.Errno
	}
	return fmt.Appendf(nil, "ERROR: (%d) %s\n%s\n", int(errno), strerror(errno), err.Error())
}

// strerror is glibc's wording: Go's with a capital.
func strerror(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Execute runs one JSON request and returns the reply payload: the
// hook's output, or an error text as Ceph words it.
func (s *Server) Execute(ctx context.Context, line []byte) []byte {
	var args map[string]any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&args); err != nil || args == nil {
		return errorReply(Errorf(syscall.EINVAL, "invalid json"))
	}
	prefix, _ := args["prefix"].(string)
	format, _ := args["format"].(string)
	if format != "json" {
		format = "json-pretty" // Ceph's default, and what it does for xml here
	}
	s.mu.Lock()
	c := s.cmds[prefix]
	s.mu.Unlock()
	if c == nil {
		return errorReply(Errorf(syscall.EINVAL, "unknown command prefix %s", prefix))
	}
	for _, a := range c.Args {
		if _, ok := args[a.Name]; !ok && !a.Optional {
			return errorReply(Errorf(syscall.EINVAL, "missing required parameter %s", a.Name))
		}
	}
	out, err := c.Hook(ctx, Request{Prefix: prefix, Format: format, Args: args})
	if err != nil {
		return errorReply(err)
	}
	if format == "json-pretty" && json.Valid(out) {
		var b bytes.Buffer
		json.Indent(&b, out, "", "    ")
		b.WriteByte('\n')
		return b.Bytes()
	}
	return out
}

// commands returns the registered commands sorted by prefix.
func (s *Server) commands() []*Command {
	s.mu.Lock()
	cs := make([]*Command, 0, len(s.cmds))
	for _, c := range s.cmds {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].Prefix < cs[j].Prefix })
	return cs
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"syscall"
	"time"
)

// Idle sessions are measured in a server process of their own (a child
// running `msgr bench serve --control`), so that the figures are one
// messenger's cost per accepted session, free of the clients' cost.

// ServerStats is what a control-mode server reports about itself after a
// garbage collection that returned free memory to the system.
type ServerStats struct {
	RSS        int64 `json:"rss"`
	Heap       int64 `json:"heap"` // bytes in live heap objects
	Goroutines int   `json:"goroutines"`
	Sessions   int64 `json:"sessions"` // sessions accepted so far
}

// ReadServerStats measures this process for a control-mode server.
func ReadServerStats(sessions int64) ServerStats {
	runtime.GC()
	debug.FreeOSMemory()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	st := ServerStats{Goroutines: runtime.NumGoroutine(), Sessions: sessions}
	if s[0].Value.Kind() == metrics.KindUint64 {
		st.Heap = int64(s[0].Value.Uint64())
	}
	st.RSS = ReadProc().RSS
	return st
}

// RaiseNoFile lifts this process's open-file limit to its hard limit and
// returns the limit in force.
func RaiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return uint64(rl.Cur), nil // int64 on FreeBSD
}

// ServeControl runs the control protocol of a child server on in/out:
// it answers "stats" with a ServerStats JSON line, "heap PATH" by writing
// a heap profile to PATH (answering "ok" or "error ..."), and returns on
// "quit" or at the end of in. sessions counts the accepted sessions.
func ServeControl(in io.Reader, out io.Writer, sessions func() int64) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd := strings.TrimSpace(sc.Text())
		if path, ok := strings.CutPrefix(cmd, "heap "); ok {
			if err := WriteHeap(path); err != nil {
				fmt.Fprintf(out, "error %v\n", err)
			} else {
				fmt.Fprintln(out, "ok")
			}
			continue
		}
		switch cmd {
		case "stats":
			b, err := json.Marshal(ReadServerStats(sessions()))
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(out, "%s\n", b); err != nil {
				return err
			}
		case "quit":
			return nil
		case "":
		default:
			fmt.Fprintf(out, "error unknown command %q\n", sc.Text())
		}
	}
	return sc.Err()
}

// child is a control-mode server process.
type child struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr bytes.Buffer
	addr   netip.AddrPort
}

func startChild(ctx context.Context, argv []string, stackName string) (*child, error) {
	args := append(append([]string(nil), argv[1:]...), "bench", "serve", "--control", "--stack", stackName, "--addr", "127.0.0.1:0")
	c := &child{cmd: exec.CommandContext(ctx, argv[0], args...)}
	c.cmd.Stderr = &c.stderr
	var err error
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewScanner(stdout)
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start server process: %w", err)
	}
	line, err := c.line()
	if err != nil {
		return nil, c.fail(err)
	}
	// "listening STACK ADDR"
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "listening" || f[1] != stackName {
		return nil, c.fail(fmt.Errorf("bench: server process said %q", line))
	}
	if c.addr, err = netip.ParseAddrPort(f[2]); err != nil {
		return nil, c.fail(err)
	}
	return c, nil
}

func (c *child) line() (string, error) {
	if c.out.Scan() {
		return c.out.Text(), nil
	}
	if err := c.out.Err(); err != nil {
		return "", err
	}
	return "", io.ErrUnexpectedEOF
}

func (c *child) fail(err error) error {
	c.in.Close()
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	if s := strings.TrimSpace(c.stderr.String()); s != "" {
		return fmt.Errorf("%w (server process: %s)", err, s)
	}
	return err
}

func (c *child) stats() (ServerStats, error) {
	var st ServerStats
	if _, err := io.WriteString(c.in, "stats\n"); err != nil {
		return st, c.fail(err)
	}
	line, err := c.line()
	if err != nil {
		return st, c.fail(err)
	}
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		return st, c.fail(fmt.Errorf("bench: server stats %q: %w", line, err))
	}
	return st, nil
}

func (c *child) heapProfile(path string) error {
	if _, err := fmt.Fprintf(c.in, "heap %s\n", path); err != nil {
		return c.fail(err)
	}
	line, err := c.line()
	if err != nil {
		return c.fail(err)
	}
	if line != "ok" {
		return fmt.Errorf("bench: server heap profile: %s", line)
	}
	return nil
}

func (c *child) quit() error {
	_, _ = io.WriteString(c.in, "quit\n")
	c.in.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("bench: server process did not quit: %w", <-done)
	}
}

// RunIdle opens n sessions to a server process on stackName started with
// argv (the msgr command: argv[0] and any leading arguments), and reports
// the server's memory and goroutines per session. The clients run in this
// process on the event-loop stack, at most window handshakes at a time.
// heapProfile, when set, is where the server writes a heap profile with
// the sessions open.
func RunIdle(ctx context.Context, argv []string, stackName string, n int, progress *Progress, heapProfile string) (IdleResult, error) {
	res := IdleResult{Stack: stackName, Sessions: n}
	limit, err := RaiseNoFile()
	if err != nil {
		return res, err
	}
	if uint64(n)+64 > limit {
		return res, fmt.Errorf("%w: %d sessions need more than the %d open files allowed here", ErrSpec, n, limit)
	}
	ch, err := startChild(ctx, argv, stackName)
	if err != nil {
		return res, err
	}
	defer ch.quit()
	before, err := ch.stats()
	if err != nil {
		return res, err
	}
	progress.Case(fmt.Sprintf("idle %s: opening %d sessions", stackName, n), nil)
	start := time.Now()
	cl, err := newMsgrClients(ctx, "eventloop", "crc", false, n, nil, ServerAddrs(ch.addr))
	if err != nil {
		return res, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cl.close(cctx)
	}()
	const window = 128
	next := 0
	var open []int
	for next < n || len(open) > 0 {
		for next < n && len(open) < window {
			if err := cl.conns[next].Connect(); err != nil {
				return res, fmt.Errorf("bench: session %d: %w", next, err)
			}
			open = append(open, next)
			next++
		}
		kept := open[:0]
		for _, i := range open {
			if !cl.conns[i].IsConnected() {
				kept = append(kept, i)
			}
		}
		open = kept
		if len(open) >= window || (next == n && len(open) > 0) {
			select {
			case <-ctx.Done():
				return res, fmt.Errorf("%w: %d of %d sessions open: %w", ErrShort, next-len(open), n, ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	res.Setup = time.Since(start)
	// Idle means idle: let timers and per-connection helpers that wind
	// down after a while (gonet's executors, after a second) do so.
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(2 * time.Second):
	}
	// Let the server finish its side of the last handshakes.
	var after ServerStats
	for {
		if after, err = ch.stats(); err != nil {
			return res, err
		}
		if after.Sessions-before.Sessions >= int64(n) {
			break
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("%w: server saw %d of %d sessions: %w", ErrShort, after.Sessions-before.Sessions, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if heapProfile != "" {
		if err := ch.heapProfile(heapProfile); err != nil {
			return res, err
		}
	}
	res.RSSBefore, res.RSSAfter = before.RSS, after.RSS
	res.GoroutinesBefore, res.GoroutinesAfter = before.Goroutines, after.Goroutines
	res.RSSPerSession = float64(after.RSS-before.RSS) / float64(n)
	res.HeapPerSession = float64(after.Heap-before.Heap) / float64(n)
	res.GoroutinesPerSess = float64(after.Goroutines-before.Goroutines) / float64(n)
	return res, nil
}

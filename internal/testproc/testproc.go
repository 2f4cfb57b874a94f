// Package testproc runs a test of the running test binary in a child
// process and speaks to it in lines: what the parent writes goes to the
// child's stdin, what the child prints comes back line by line, and the
// child ends when its stdin closes. Tests that need a process of their own
// (a low RLIMIT_NOFILE, another network namespace, an RSS of their own)
// use it; the child side is the named test, which knows it is the child
// from the environment the parent gives it.
package testproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Child is a running child process. Its methods are called from the
// parent test's goroutines; one goroutine of its own reads the child's
// output until the child exits.
type Child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	lines   []string      // printed by the child, not yet taken by Expect
	more    chan struct{} // signalled (cap 1) when lines grow or the child exits
	ended   bool          // the child's stdout closed
	exited  chan struct{} // closed once the child exited and exitErr is set
	exitErr error

	stopOnce sync.Once
	stopErr  error
}

// Start runs the test named test of this binary (-test.run=^test$) in a
// child process whose environment is the parent's plus env. wrap, when
// given, is the command line that runs the child (ip netns exec NS).
func Start(tb testing.TB, test string, env []string, wrap ...string) *Child {
	tb.Helper()
	args := slices.Concat(wrap, []string{os.Args[0], "-test.run=^" + test + "$", "-test.count=1", "-test.v=false"})
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &Child{cmd: cmd, stdin: stdin, more: make(chan struct{}, 1), exited: make(chan struct{})}
	go c.read(stdout)
	return c
}

// read keeps every line the child prints (so that a child is never held
// up by a parent not reading) until the child exits.
func (c *Child) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		c.mu.Lock()
		c.lines = append(c.lines, sc.Text())
		c.mu.Unlock()
		c.signal()
	}
	io.Copy(io.Discard, stdout) // a line over the scanner's limit
	err := c.cmd.Wait()
	c.mu.Lock()
	c.ended, c.exitErr = true, err
	c.mu.Unlock()
	close(c.exited)
	c.signal()
}

func (c *Child) signal() {
	select {
	case c.more <- struct{}{}:
	default:
	}
}

// Printf writes to the child's stdin.
func (c *Child) Printf(format string, args ...any) {
	fmt.Fprintf(c.stdin, format, args...)
}

// Expect waits up to timeout for a line that starts with prefix, drops the
// lines before it and returns the rest of it (after prefix and a space).
// The test fails if the child ends first or no such line comes in time.
func (c *Child) Expect(tb testing.TB, prefix string, timeout time.Duration) string {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for i, l := range c.lines {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				c.lines = c.lines[i+1:]
				c.mu.Unlock()
				return strings.TrimPrefix(rest, " ")
			}
		}
		c.lines = c.lines[:0]
		ended := c.ended
		c.mu.Unlock()
		if ended {
			tb.Fatalf("child process %s ended before printing %q", c.cmd.Args, prefix)
		}
		select {
		case <-c.more:
		case <-deadline.C:
			tb.Fatalf("child process %s: no %q line within %v", c.cmd.Args, prefix, timeout)
		}
	}
}

// CloseInput closes the child's stdin: the child's cue to finish.
func (c *Child) CloseInput() { c.stdin.Close() }

// Stop closes the child's stdin and waits up to timeout for it to exit; a
// child still running then is killed. It returns how the child exited
// (nil: status 0), the same on every call.
func (c *Child) Stop(timeout time.Duration) error {
	c.stopOnce.Do(func() {
		c.stdin.Close()
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-c.exited:
			c.stopErr = c.exitErr
		case <-t.C:
			c.cmd.Process.Kill()
			<-c.exited
			c.stopErr = fmt.Errorf("child process %s did not exit within %v: killed", c.cmd.Args, timeout)
		}
	})
	return c.stopErr
}

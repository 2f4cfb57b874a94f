//go:build linux || darwin || freebsd

package event

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// quietRec is a Quiet handler (a listener's stand-in): it reads what is
// there and reports each event.
type quietRec struct{ got chan struct{} }

func (q *quietRec) Quiet() bool { return true }

func (q *quietRec) HandleFileEvent(fd int, _ Mask) bool {
	var buf [64]byte
	unix.Read(fd, buf[:])
	select {
	case q.got <- struct{}{}:
	default:
	}
	return false
}

// echoer echoes what it reads. It reports drained after a short read
// that returned bytes, as loopSocket does; liar reports drained always,
// even for a guess that read nothing.
type echoer struct {
	liar  bool
	bytes atomic.Int64
}

func (e *echoer) HandleFileEvent(fd int, _ Mask) bool {
	var buf [64]byte
	n, err := unix.Read(fd, buf[:])
	if n > 0 {
		e.bytes.Add(int64(n))
		unix.Write(fd, buf[:n])
	}
	return e.liar || (err == nil && n > 0 && n < len(buf))
}

// guessPair registers a Quiet pipe and one busy socket (echo) on c and
// returns the pipe's write end and the socket's peer, blocking.
func guessPair(t *testing.T, c *Center, busy FileHandler, quiet *quietRec) (pipeW, peer int) {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	if err := unix.SetNonblock(p[0], true); err != nil {
		t.Fatal(err)
	}
	a, b := socketPair(t)
	if err := unix.SetNonblock(b, false); err != nil {
		t.Fatal(err)
	}
	onLoop(t, c, func() {
		if _, err := c.AddFile(p[0], Readable, quiet); err != nil {
			t.Error(err)
		}
		if _, err := c.AddFile(a, Readable, busy); err != nil {
			t.Error(err)
		}
	})
	return p[1], b
}

// pingPong sends n one-byte pings through peer and waits for each echo.
func pingPong(t *testing.T, peer, n int) {
	t.Helper()
	var b [1]byte
	for i := range n {
		b[0] = byte(i)
		if _, err := unix.Write(peer, b[:]); err != nil {
			t.Fatal(err)
		}
		if m, err := unix.Read(peer, b[:]); err != nil || m != 1 || b[0] != byte(i) {
			t.Fatalf("echo %d: %d bytes %v, err %v", i, m, b, err)
		}
	}
}

// TestCenterGuesses: a parked loop with one busy socket and a Quiet
// descriptor handles the socket's wakeups without polling, and the quiet
// descriptor's readiness still gets through while the socket is busy and
// after it went idle.
func TestCenterGuesses(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{MaxWait: time.Minute})
		quiet := &quietRec{got: make(chan struct{}, 1)}
		pipeW, peer := guessPair(t, c, &echoer{}, quiet)
		g0 := c.Stats().Guesses
		pingPong(t, peer, 200)
		if g := c.Stats().Guesses - g0; c.lp != nil && dc.waits == waitsPolicy && g == 0 {
			t.Errorf("no wakeup was guessed in 200 round trips")
		}
		// Quiet readiness alone: the guess reads nothing and says so.
		unix.Write(pipeW, []byte{1})
		recv(t, quiet.got)
		// Together with the socket's: the guess is right for the socket.
		unix.Write(pipeW, []byte{2})
		pingPong(t, peer, 1)
		recv(t, quiet.got)
	})
}

// TestCenterGuessOwesPoll: even a handler that reports drained after a
// guess that read nothing cannot hide a quiet descriptor's readiness for
// longer than guessFor. MaxWait is a minute, far beyond the test's
// timeout, so only the owed poll can find it.
func TestCenterGuessOwesPoll(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{MaxWait: time.Minute})
		quiet := &quietRec{got: make(chan struct{}, 1)}
		pipeW, peer := guessPair(t, c, &echoer{liar: true}, quiet)
		for i := range 50 {
			pingPong(t, peer, 3)
			unix.Write(pipeW, []byte{byte(i)})
			if i%2 == 0 {
				pingPong(t, peer, 1)
			}
			recv(t, quiet.got)
		}
	})
}

// TestCenterGuessBusyCount: only registrations that are not Quiet count,
// and the one busy descriptor is found again after others leave.
func TestCenterGuessBusyCount(t *testing.T) {
	c := startCenter(t, driverCases(t)[0], Options{})
	quiet := &quietRec{got: make(chan struct{}, 1)}
	a, _ := socketPair(t)
	b, _ := socketPair(t)
	var q [2]int
	if err := unix.Pipe(q[:]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(q[0]); unix.Close(q[1]) })
	onLoop(t, c, func() {
		// Alone, a socket's guesses owe no poll: nothing else can be ready.
		ida, _ := c.AddFile(a, Readable, &echoer{})
		if !c.guess() || c.owed != 0 {
			t.Errorf("guess with no quiet registration: owed %d, want none", c.owed)
		}
		c.RemoveFile(ida)
		if _, err := c.AddFile(q[0], Readable, quiet); err != nil {
			t.Fatal(err)
		}
		if c.busy != 0 || c.quietFiles() != 1 {
			t.Errorf("busy %d quiet %d with one quiet registration", c.busy, c.quietFiles())
		}
		ida, _ = c.AddFile(a, Readable, &echoer{})
		if c.busy != 1 || c.busyFD != a {
			t.Errorf("busy %d fd %d, want 1 and %d", c.busy, c.busyFD, a)
		}
		idb, _ := c.AddFile(b, Readable, &echoer{})
		if c.busy != 2 {
			t.Errorf("busy %d, want 2", c.busy)
		}
		c.RemoveFile(ida)
		if !c.guess() || c.fired[0].FD != int32(b) || c.owed == 0 {
			t.Errorf("guess after the first socket left: %v, fired %v, owed %d", c.busyFD, c.fired[0], c.owed)
		}
		c.RemoveFile(idb)
		if c.busy != 0 || c.guess() {
			t.Errorf("busy %d and a guess with no busy registration", c.busy)
		}
	})
}

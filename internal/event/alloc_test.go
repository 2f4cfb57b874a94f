//go:build linux || darwin || freebsd

package event

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// echoHandler answers each readable event by reading one byte and
// signalling; reused for every event. A guessed event (guess.go) may
// find nothing to read: no signal then.
type echoHandler struct {
	buf  [1]byte
	done chan struct{}
}

func (h *echoHandler) HandleFileEvent(fd int, _ Mask) bool {
	if n, _ := unix.Read(fd, h.buf[:]); n > 0 {
		h.done <- struct{}{}
	}
	return false
}

// TestHotPathsDoNotAllocate: a file event, an external task and a timer
// add/cancel cost no heap allocation once warm, whichever driver.
func TestHotPathsDoNotAllocate(t *testing.T) {
	forEachCenter(t, func(t *testing.T, dc driverCase) {
		c := startCenter(t, dc, Options{})
		a, b := socketPair(t)
		h := &echoHandler{done: make(chan struct{})}
		var id FileID
		onLoop(t, c, func() {
			var err error
			if id, err = c.AddFile(a, Readable, h); err != nil {
				t.Error(err)
			}
		})
		// Removed before the sockets close: a hang-up would call h with
		// nobody receiving.
		defer onLoop(t, c, func() { c.RemoveFile(id) })
		one := []byte{1}
		fileEvent := func() {
			unix.Write(b, one)
			<-h.done
		}
		p := &pingTask{ch: make(chan struct{})}
		task := func() {
			c.DispatchTask(p)
			<-p.ch
		}
		var h2 nopTimer
		timerTask := &timerChurn{c: c, h: h2, done: make(chan struct{})}
		timer := func() {
			c.DispatchTask(timerTask)
			<-timerTask.done
		}
		for _, tc := range []struct {
			name string
			fn   func()
		}{{"file event", fileEvent}, {"external task", task}, {"timer add+cancel", timer}} {
			tc.fn() // warm up slices and the runtime's poll descriptors
			if n := testing.AllocsPerRun(200, tc.fn); n != 0 {
				t.Errorf("%s: %.1f allocations per event", tc.name, n)
			}
		}
	})
}

// timerChurn adds and cancels timers on the loop.
type timerChurn struct {
	c    *Center
	h    nopTimer
	done chan struct{}
}

func (tc *timerChurn) RunTask() {
	for range 10 {
		id, _ := tc.c.AddTimer(time.Minute, tc.h)
		tc.c.CancelTimer(id)
	}
	tc.done <- struct{}{}
}

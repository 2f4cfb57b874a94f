package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Progress prints a status line about the case running to a terminal
// (or any writer when forced), rewriting it in place once a second.
// A nil *Progress prints nothing.
type Progress struct {
	w     io.Writer
	mu    sync.Mutex
	desc  string
	loop  *closedLoop
	since time.Time
	last  int
	stop  chan struct{}
	done  chan struct{}
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// NewProgress starts a progress line on w.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print()
			}
		}
	}()
	return p
}

// Case announces the case starting now (loop nil: a phase without
// counters, such as opening idle sessions).
func (p *Progress) Case(desc string, loop *closedLoop) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.desc, p.loop, p.since = desc, loop, time.Now()
	p.mu.Unlock()
	p.print()
}

func (p *Progress) print() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.desc == "" {
		return
	}
	line := fmt.Sprintf("%s  %.0fs", p.desc, time.Since(p.since).Seconds())
	if p.loop != nil {
		n := p.loop.answers.Load()
		el := time.Since(p.since).Seconds()
		if el > 0 {
			line += fmt.Sprintf("  %d msgs  %.0f msgs/s", n, float64(n)/el)
		}
	}
	pad := ""
	if d := p.last - len(line); d > 0 {
		pad = fmt.Sprintf("%*s", d, "")
	}
	p.last = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
}

// Close stops the line and clears it.
func (p *Progress) Close() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last > 0 {
		fmt.Fprintf(p.w, "\r%*s\r", p.last, "")
	}
}

//go:build linux || darwin || freebsd

package event

import (
	"testing"
)

// TestPollDriverTableRandom drives the poll driver's swap-remove table
// with random updates and checks it against a plain map after each one.
func TestPollDriverTableRandom(t *testing.T) {
	d, err := newPoll(WaitBlocking)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := map[int]Mask{}
	var state uint64 = 0x9E3779B97F4A7C15
	rnd := func(n int) int {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return int(state % uint64(n))
	}
	for step := 0; step < 20000; step++ {
		fd := 100 + rnd(64) // never the wake pipe
		next := Mask(rnd(4))
		if err := d.Update(fd, want[fd], next); err != nil {
			t.Fatal(err)
		}
		if next == None {
			delete(want, fd)
		} else {
			want[fd] = next
		}
		if len(d.fds)-1 != len(want) {
			t.Fatalf("step %d: %d entries, want %d", step, len(d.fds)-1, len(want))
		}
		if d.fds[0].Fd != int32(d.rd) {
			t.Fatalf("step %d: wake pipe moved", step)
		}
		for i, p := range d.fds[1:] {
			fd := int(p.Fd)
			if d.slot[fd] != int32(i+1) || p.Events != pollMask(want[fd]) || want[fd] == None {
				t.Fatalf("step %d: fd %d at %d, slot %d, events %#x, want mask %v",
					step, fd, i+1, d.slot[fd], p.Events, want[fd])
			}
		}
	}
	if err := d.Update(-1, None, Readable); err == nil {
		t.Fatal("Update(-1) accepted")
	}
}

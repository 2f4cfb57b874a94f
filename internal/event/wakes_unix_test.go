//go:build linux || darwin || freebsd

package event

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// A parked run counts one wake each time it comes back from a park, and
// none for the steps it runs without parking.
func TestParkedWakes(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	p, err := newParker(fds[0], "wakes-test", func([]Fired) (int, bool, error) { return 0, false, nil })
	unix.Close(fds[0]) // the parker holds its own duplicate
	if err != nil {
		t.Fatal(err)
	}
	defer p.f.Close()
	w0 := ParkedWakes()
	steps, wakes, edges := 0, []uint64{}, []bool{}
	err = p.run(func(edge bool) (bool, error) {
		steps++
		wakes = append(wakes, ParkedWakes()-w0)
		edges = append(edges, edge)
		switch steps {
		case 1, 2: // runs on without parking
			return false, nil
		case 3: // parks; the pipe is readable, so the park ends
			if _, err := unix.Write(fds[1], []byte{1}); err != nil {
				return false, err
			}
			return true, nil
		default:
			return false, errLoopDone
		}
	}, func() (bool, error) { return false, nil })
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{0, 0, 0, 1}; !slices.Equal(wakes, want) {
		t.Fatalf("wakes seen by each step: %v, want %v", wakes, want)
	}
	// Only the step after the park is told it follows new readiness.
	if want := []bool{false, false, false, true}; !slices.Equal(edges, want) {
		t.Fatalf("edge seen by each step: %v, want %v", edges, want)
	}
}

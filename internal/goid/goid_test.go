package goid

import (
	"sync"
	"testing"
)

func TestCurGIdentifiesGoroutines(t *testing.T) {
	me := Current()
	if me == 0 || Current() != me {
		t.Fatalf("Current unstable on one goroutine: %#x then %#x", me, Current())
	}
	const n = 32
	ids := make([]uintptr, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = Current()
			<-start // all alive at once, so none shares a g
			if Current() != ids[i] {
				t.Errorf("goroutine %d: Current changed", i)
			}
		}()
	}
	close(start)
	wg.Wait()
	seen := map[uintptr]bool{me: true}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("goroutine %d shares its identity %#x", i, id)
		}
		seen[id] = true
	}
}

// deep recurses so the goroutine's stack grows (and moves) under Current.
func deep(n int) uintptr {
	var pad [256]byte
	if n == 0 {
		return Current() + uintptr(pad[0])
	}
	return deep(n-1) + uintptr(pad[n%256]) - uintptr(pad[(n+1)%256])
}

func TestCurGSurvivesStackGrowth(t *testing.T) {
	me := Current()
	if got := deep(2000); got != me {
		t.Fatalf("Current after stack growth %#x, before %#x", got, me)
	}
}

package fifo

import (
	"slices"
	"testing"
)

// check compares q with the reference model.
func check(t *testing.T, q *Queue[int], model []int) {
	t.Helper()
	if q.Len() != len(model) || !slices.Equal(q.Items(), model) {
		t.Fatalf("queue %v (len %d), model %v", q.Items(), q.Len(), model)
	}
	if p := q.Peek(); (p == nil) != (len(model) == 0) || (p != nil && *p != model[0]) {
		t.Fatalf("Peek %v, model %v", p, model)
	}
	for i := range q.buf[:q.head] {
		if q.buf[i] != 0 {
			t.Fatalf("popped slot %d not zeroed: %v", i, q.buf)
		}
	}
}

// run applies ops (0-2 push, 3-4 pop, 5 filter odd, 6 clear) to a queue
// and a plain slice and checks they agree after each.
func run(t *testing.T, ops []byte) {
	var q Queue[int]
	var model []int
	next := 1
	for _, op := range ops {
		switch op % 7 {
		case 0, 1, 2:
			q.Push(next)
			model = append(model, next)
			next++
		case 3, 4:
			v, ok := q.Pop()
			if ok != (len(model) > 0) || (ok && v != model[0]) {
				t.Fatalf("Pop = %d, %v; model %v", v, ok, model)
			}
			if ok {
				model = model[1:]
			}
		case 5:
			odd := func(v int) bool { return v%2 == 1 }
			removed := q.Filter(odd)
			kept := slices.DeleteFunc(slices.Clone(model), func(v int) bool { return !odd(v) })
			if removed != len(model)-len(kept) {
				t.Fatalf("Filter removed %d, model %d", removed, len(model)-len(kept))
			}
			model = kept
		case 6:
			q.Clear()
			model = nil
		}
		check(t, &q, model)
	}
}

func TestQueue(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []byte
	}{
		{"empty pop", []byte{3}},
		{"push pop", []byte{0, 3, 3}},
		{"fifo order", []byte{0, 0, 0, 3, 0, 3, 3, 3}},
		{"compaction", []byte{0, 0, 0, 0, 3, 3, 3, 0, 0, 0, 0, 0, 3, 0, 3}},
		{"filter", []byte{0, 0, 0, 0, 3, 5, 3, 5, 0}},
		{"clear", []byte{0, 0, 3, 6, 0, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.ops) })
	}
}

// TestSteadyFlowNoAlloc: once warm, a push/pop flow reuses the array.
func TestSteadyFlowNoAlloc(t *testing.T) {
	var q Queue[*int]
	v := new(int)
	for range 64 {
		q.Push(v)
	}
	if n := testing.AllocsPerRun(1000, func() {
		q.Push(v)
		q.Pop()
	}); n != 0 {
		t.Fatalf("%v allocations per push/pop", n)
	}
}

func FuzzQueue(f *testing.F) {
	f.Add([]byte{0, 0, 3, 5, 6, 0, 3})
	f.Fuzz(run)
}

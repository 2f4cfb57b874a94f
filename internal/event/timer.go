package event

// TimerID names a timer for CancelTimer. The zero TimerID is never issued.
type TimerID uint64

// TimerHandler runs when its timer fires, on the loop goroutine.
type TimerHandler interface {
	HandleTimer(id TimerID)
}

// timerSlot is one timer; slots are reused through a free list and a
// generation in the TimerID tells a reused slot from the old timer.
type timerSlot struct {
	when int64  // deadline, loop clock nanoseconds
	seq  uint64 // insertion order: equal deadlines fire in add order
	gen  uint32
	hidx int32 // index in timers.heap, -1 when not scheduled
	h    TimerHandler
	f    func()
}

// timers is a binary min-heap of slot indices on (when, seq). Owned by
// the loop goroutine; no allocation once the slabs have grown.
type timers struct {
	slots []timerSlot
	free  []int32
	heap  []int32
	seq   uint64
}

func (t *timers) len() int { return len(t.heap) }

func (t *timers) less(a, b int32) bool {
	sa, sb := &t.slots[a], &t.slots[b]
	if sa.when != sb.when {
		return sa.when < sb.when
	}
	return sa.seq < sb.seq
}

func (t *timers) add(when int64, h TimerHandler, f func()) TimerID {
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.slots = append(t.slots, timerSlot{})
		i = int32(len(t.slots) - 1)
	}
	s := &t.slots[i]
	s.gen++
	if s.gen == 0 {
		s.gen = 1
	}
	t.seq++
	s.when, s.seq, s.h, s.f = when, t.seq, h, f
	s.hidx = int32(len(t.heap))
	t.heap = append(t.heap, i)
	t.up(int(s.hidx))
	return TimerID(uint64(s.gen)<<32 | uint64(i+1))
}

// lookup returns the slot of a live timer, or -1.
func (t *timers) lookup(id TimerID) int32 {
	i := int64(uint32(id)) - 1
	if i < 0 || i >= int64(len(t.slots)) {
		return -1
	}
	s := &t.slots[i]
	if s.gen != uint32(id>>32) || s.hidx < 0 {
		return -1
	}
	return int32(i)
}

func (t *timers) cancel(id TimerID) bool {
	i := t.lookup(id)
	if i < 0 {
		return false
	}
	t.remove(t.slots[i].hidx)
	t.release(i)
	return true
}

// earliest returns the first deadline; ok is false when empty.
func (t *timers) earliest() (int64, bool) {
	if len(t.heap) == 0 {
		return 0, false
	}
	return t.slots[t.heap[0]].when, true
}

// pop removes the first timer if due by now and returns what to run.
func (t *timers) pop(now int64) (TimerID, TimerHandler, func(), bool) {
	if len(t.heap) == 0 {
		return 0, nil, nil, false
	}
	i := t.heap[0]
	s := &t.slots[i]
	if s.when > now {
		return 0, nil, nil, false
	}
	id := TimerID(uint64(s.gen)<<32 | uint64(i+1))
	h, f := s.h, s.f
	t.remove(0)
	t.release(i)
	return id, h, f, true
}

func (t *timers) release(i int32) {
	s := &t.slots[i]
	s.h, s.f, s.hidx = nil, nil, -1
	t.free = append(t.free, i)
}

func (t *timers) remove(hi int32) {
	last := int32(len(t.heap) - 1)
	i := t.heap[hi]
	t.slots[i].hidx = -1
	if hi != last {
		t.heap[hi] = t.heap[last]
		t.slots[t.heap[hi]].hidx = hi
	}
	t.heap = t.heap[:last]
	if hi != last {
		if !t.down(int(hi)) {
			t.up(int(hi))
		}
	}
}

func (t *timers) swap(a, b int) {
	h := t.heap
	h[a], h[b] = h[b], h[a]
	t.slots[h[a]].hidx = int32(a)
	t.slots[h[b]].hidx = int32(b)
}

func (t *timers) up(j int) {
	for j > 0 {
		p := (j - 1) / 2
		if !t.less(t.heap[j], t.heap[p]) {
			break
		}
		t.swap(j, p)
		j = p
	}
}

func (t *timers) down(i0 int) bool {
	i := i0
	n := len(t.heap)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && t.less(t.heap[r], t.heap[l]) {
			j = r
		}
		if !t.less(t.heap[j], t.heap[i]) {
			break
		}
		t.swap(i, j)
		i = j
	}
	return i > i0
}

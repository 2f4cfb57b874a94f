package event

// Hooks into a loop's step for the layer above, which batches its
// socket I/O across the step's handlers (internal/stack's io_uring
// batches): reads ahead before the handlers run (Prefetcher), work
// finished at the step's end (AtStepEnd: a batch of sends must go before
// the loop polls or parks, as nothing would come back for it), a poll
// owed for readiness handled outside an event (Repoll), and resources
// released with the loop (OnStop).

// AtStepEnd runs f once, at the end of the current loop step: after its
// handlers, timers and tasks, before the loop polls or parks. Functions
// queued while they run (by f itself too) run in the same step.
// Loop-owned.
func (c *Center) AtStepEnd(f func()) error {
	if err := c.owned(); err != nil {
		return err
	}
	c.ends = append(c.ends, f)
	return nil
}

// OnStop runs f on the loop when it stops, after its last step and
// before the driver closes: the release of what was set up for the
// loop's lifetime. Loop-owned.
func (c *Center) OnStop(f func()) error {
	if err := c.owned(); err != nil {
		return err
	}
	c.stops = append(c.stops, f)
	return nil
}

// runEnds runs the step's AtStepEnd functions, in order.
func (c *Center) runEnds() {
	for i := 0; i < len(c.ends); i++ {
		f := c.ends[i]
		c.ends[i] = nil
		f()
	}
	c.ends = c.ends[:0]
}

// A Prefetcher reads ahead for a step's ready files, all at once, before
// any of their handlers runs (the stack's batched receives); a handler
// then finds its bytes already read.
type Prefetcher interface {
	Prefetch(ready []ReadyFile)
}

// ReadyFile is one ready registration of a step: its handler and what
// it is ready for.
type ReadyFile struct {
	H    FileHandler
	Mask Mask
}

// SetPrefetcher has p called with each polled step's ready files when
// there are at least two (one handler reads as cheaply alone). Loop-owned.
func (c *Center) SetPrefetcher(p Prefetcher) error {
	if err := c.owned(); err != nil {
		return err
	}
	c.prefetch = p
	return nil
}

// prefetchReady hands the n polled events' handlers to the prefetcher.
func (c *Center) prefetchReady(n int) {
	ready := c.ready[:0]
	for i := 0; i < n; i++ {
		fd := int(c.fired[i].FD)
		if fd < 0 || fd >= len(c.files) || c.files[fd].gen == 0 {
			continue
		}
		e := &c.files[fd]
		if m := c.fired[i].Mask & e.mask; m != None {
			ready = append(ready, ReadyFile{H: e.h, Mask: m})
		}
	}
	if len(ready) >= 2 {
		c.prefetch.Prefetch(ready)
	}
	clear(ready)
	c.ready = ready[:0]
}

// Repoll makes the loop poll before it next parks: a handler run outside
// a readiness event (a task) left its descriptor not drained. Loop-owned.
func (c *Center) Repoll() {
	if c.owned() == nil {
		c.repoll = true
	}
}

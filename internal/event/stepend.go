package event

// Work a loop step batches (the stack's small writes, sent together in
// one system call) must be finished before the loop polls or parks:
// nothing would come back for it.

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

package event

import "sync/atomic"

// parkedWakes counts the times a parked loop (WaitParked) of this process
// woke from the netpoller, every pool together. A loop about to copy for
// long yields so that the runtime watches the network meanwhile
// (internal/stack); it reads this before and after to learn whether its
// yield let another loop run, and stops yielding when it does not.
// Loops that block in the kernel (WaitBlocking) are not counted: they
// watch their own descriptors, so a yield never helps them.
var parkedWakes atomic.Uint64

// ParkedWakes returns how many times a parked loop of this process has
// woken so far. Safe for use from any goroutine.
func ParkedWakes() uint64 { return parkedWakes.Load() }

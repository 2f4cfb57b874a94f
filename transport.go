package msgr

import (
	"github.com/gomsgr/msgr/internal/event"
	"github.com/gomsgr/msgr/internal/stack"
)

// Stack runs messengers' sockets (Ceph's NetworkStack and its workers).
// Messengers given one Stack share its workers; Config.Stack nil leases
// the process-wide event-loop pool "msgr", as Ceph's messengers share one
// stack per process. The caller closes a Stack it made after the
// messengers using it have shut down.
type Stack = stack.Stack

// NewEventLoopStack leases the process-wide event-loop pool called name,
// made with workers loops (ms_async_op_threads; 0: GOMAXPROCS) by its
// first lease: messengers that should not share loops with the rest of
// the process use a name of their own. Close gives the lease back; the
// last one stops the loops.
func NewEventLoopStack(name string, workers int) (Stack, error) {
	return stack.NewEventLoop(nil, name, event.Options{Workers: workers})
}

// NewGoNetStack returns a transport that runs each connection on
// goroutines over Go's net package (a reader per connection and an
// executor while there is work): the baseline the event loops are
// measured against, and a fallback where the loops' drivers are missing.
func NewGoNetStack() Stack { return stack.NewGoNet() }

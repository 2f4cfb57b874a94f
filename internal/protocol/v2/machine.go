package v2

import (
	"net/netip"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// Machine is one connection's msgr2 state machine. It is used from one
// goroutine at a time (the connection's loop).
type Machine struct {
	cfg      Config
	features uint64
}

type query struct{}

type verdict struct{}

func newMachine(cfg Config, client bool) (*Machine, error) { panic("unimplemented") }

func (m *Machine) start(now time.Time) []Action                           { panic("unimplemented") }
func (m *Machine) connected(now time.Time) []Action                       { panic("unimplemented") }
func (m *Machine) accepted(now time.Time, remote netip.AddrPort) []Action { panic("unimplemented") }
func (m *Machine) received(now time.Time, p []byte) []Action              { panic("unimplemented") }
func (m *Machine) send(now time.Time, msg *OutMessage) []Action           { panic("unimplemented") }
func (m *Machine) sendKeepalive(now time.Time) []Action                   { panic("unimplemented") }
func (m *Machine) timerFired(now time.Time, t Timer) []Action             { panic("unimplemented") }
func (m *Machine) socketError(now time.Time, err error) []Action          { panic("unimplemented") }
func (m *Machine) markDown(now time.Time) []Action                        { panic("unimplemented") }
func (m *Machine) arbitrate(now time.Time, q *Query) (*Verdict, []Action) {
	panic("unimplemented")
}
func (m *Machine) resolve(now time.Time, v *Verdict) []Action          { panic("unimplemented") }
func (m *Machine) adopted(now time.Time, pending []byte) []Action      { panic("unimplemented") }
func (m *Machine) state() State                                        { panic("unimplemented") }
func (m *Machine) peer() (encoding.EntityName, encoding.EntityAddrVec) { panic("unimplemented") }
func (m *Machine) queued() int                                         { panic("unimplemented") }

package msgr

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/gomsgr/msgr/encoding"
	v1 "github.com/gomsgr/msgr/internal/protocol/v1"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/internal/wire"
)

// machine is the protocol state machine a Conn drives: a *v2.Machine
// (msgr2) or a *v1.Machine (msgr1, "ceph v027"). Both take the same events
// and return the same v2.Ready, so one connection, one event switch and
// one lookup carry out either; a Conn keeps the machine it was made
// with for good.
type machine interface {
	Start(now time.Time) *v2.Ready
	Connected(now time.Time) *v2.Ready
	Accepted(now time.Time, remote netip.AddrPort) *v2.Ready
	Received(now time.Time, p []byte) *v2.Ready
	ReadBuffer(min int) []byte
	Commit(now time.Time, n int) *v2.Ready
	Unread()
	Awaiting() int
	Written()
	Send(now time.Time, msg *v2.OutMessage) *v2.Ready
	WriteAck(now time.Time) *v2.Ready
	SendKeepalive(now time.Time) *v2.Ready
	TimerFired(now time.Time, t v2.Timer) *v2.Ready
	SocketError(now time.Time, err error) *v2.Ready
	MarkDown(now time.Time) *v2.Ready
	Arbitrate(now time.Time, q *v2.Query) (*v2.Verdict, *v2.Ready)
	Resolve(now time.Time, v *v2.Verdict) *v2.Ready
	Adopted(now time.Time, pending []byte) *v2.Ready
}

var (
	_ machine = (*v2.Machine)(nil)
	_ machine = (*v1.Machine)(nil)
)

// proto says which protocol a connection speaks.
type proto uint8

const (
	protoV2 proto = iota
	protoV1
)

func (p proto) String() string {
	if p == protoV1 {
		return "v1"
	}
	return "v2"
}

// dataSeed is the seed of the data crc p's crc-mode framing puts on the
// wire: msgr2's segment crc, msgr1's footer data_crc.
func (p proto) dataSeed() uint32 {
	if p == protoV1 {
		return v1.SectionSeed
	}
	return wire.SegmentSeed
}

// pickProto chooses how to reach a peer at addrs: msgr2 when it offers a
// v2 address and NoMsgr2 is not set, else msgr1 when it offers a v1
// address (Ceph's _infer_target_addr, with ms_bind_msgr2).
func (m *Messenger) pickProto(addrs encoding.EntityAddrVec) (proto, error) {
	hasV2 := addrs.Msgr2().Addr.IsValid()
	hasV1 := addrs.Legacy().Addr.IsValid()
	switch {
	case hasV2 && !m.opts.NoMsgr2:
		return protoV2, nil
	case hasV1:
		return protoV1, nil
	case hasV2:
		return protoV2, nil
	}
	return 0, fmt.Errorf("%w: no v2 or v1 address in %v", ErrBadAddr, addrs)
}

// newMachine makes a connection's Machine.
func (m *Messenger) newMachine(p proto, cfg v2.Config, client bool) (machine, error) {
	if p == protoV1 {
		c := v1.Config{Config: cfg, Nonce: m.nonce, SignMessages: true}
		if client {
			return v1.NewClient(c)
		}
		return v1.NewServer(c)
	}
	if client {
		return v2.NewClient(cfg)
	}
	return v2.NewServer(cfg)
}

package msgr

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// injector decides the faults of one connection (ms_inject_*). Owned by
// the connection's loop; nil when nothing is injected.
type injector struct {
	rng        *rand.Rand
	failEvery  uint64        // ms_inject_socket_failures
	delayProb  float64       // ms_inject_delay_probability, 0 if the peer type is not listed
	delayMax   time.Duration // ms_inject_delay_max
	delayTypes []uint16      // ms_inject_delay_msg_type; empty: every type
}

// newInjector returns nil when o injects nothing for this peer type.
// seed varies per connection; o.InjectSeed makes runs reproducible.
func newInjector(o *Options, seed uint64) *injector {
	if o.InjectSocketFailures == 0 && o.InjectDelayProbability <= 0 {
		return nil
	}
	s := o.InjectSeed
	if s == 0 {
		s = rand.Uint64()
	}
	in := &injector{
		rng:       rand.New(rand.NewPCG(s, seed)),
		failEvery: o.InjectSocketFailures,
		delayMax:  o.InjectDelayMax,
	}
	for _, f := range strings.Fields(o.InjectDelayMsgType) {
		if n, err := strconv.ParseUint(f, 10, 16); err == nil {
			in.delayTypes = append(in.delayTypes, uint16(n))
		}
	}
	return in
}

// setPeer enables delays if the peer's type is one ms_inject_delay_type
// lists.
func (in *injector) setPeer(o *Options, peerType uint8) {
	if in == nil {
		return
	}
	in.delayProb = 0
	for _, f := range strings.Fields(o.InjectDelayType) {
		if f == encoding.EntityTypeName(peerType) {
			in.delayProb = o.InjectDelayProbability
		}
	}
}

// socketFailure reports whether this socket operation must fail: about
// one in failEvery, as Ceph's rand() % ms_inject_socket_failures == 0.
func (in *injector) socketFailure() bool {
	if in == nil || in.failEvery == 0 {
		return false
	}
	return in.rng.Uint64N(in.failEvery) == 0
}

// delay returns how long a received message of type t waits before
// dispatch (0: not delayed).
func (in *injector) delay(t uint16) time.Duration {
	if in == nil || in.delayProb <= 0 || in.delayMax <= 0 {
		return 0
	}
	if len(in.delayTypes) > 0 {
		found := false
		for _, x := range in.delayTypes {
			found = found || x == t
		}
		if !found {
			return 0
		}
	}
	if in.rng.Float64() >= in.delayProb {
		return 0
	}
	return time.Duration(in.rng.Int64N(int64(in.delayMax)) + 1)
}

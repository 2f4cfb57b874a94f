package msgr

import "sync"

// Policy is the set of rules of a connection, Ceph's Messenger::Policy:
// what happens to it on a fault, who may re-establish it, and which
// throttles bound the messages read from it.
type Policy struct {
	// Lossy: on a fault the connection and everything queued on it are
	// dropped, and the dispatcher hears HandleReset. A lossless connection
	// reconnects and resends what the peer has not acknowledged.
	Lossy bool
	// Server: this side never re-establishes the connection; the peer must.
	Server bool
	// Standby: an idle lossless connection that faults waits for new
	// outgoing messages before reconnecting, instead of reconnecting at once.
	Standby bool
	// ResetCheck: detect that the peer lost our session (it restarted) and
	// report HandleRemoteReset instead of silently starting over.
	ResetCheck bool

	// ThrottlerBytes and ThrottlerMessages bound what has been read from
	// connections under this policy and not yet dispatched (Ceph's
	// throttler_bytes / throttler_messages). While a throttle is full the
	// connection stops reading its socket; TCP flow control then holds the
	// sender. Units are taken when a message's header has been read and
	// given back when the dispatcher returns. Nil: unbounded.
	ThrottlerBytes    *Throttle
	ThrottlerMessages *Throttle

	// FeaturesRequired are the Ceph feature bits a peer must offer in the
	// msgr2 handshake.
	FeaturesRequired uint64
}

// The named policies of Ceph (src/msg/Policy.h), each with the feature
// bits a peer must have.

// StatefulServer: a lossless server; sessions survive faults and only the
// client reconnects (monitors toward their peers, OSDs toward clients of
// the cluster network in some roles).
func StatefulServer(required uint64) Policy {
	return Policy{Server: true, Standby: true, ResetCheck: true, FeaturesRequired: required}
}

// StatelessServer: a lossy server; a fault forgets the session (OSD and MON
// toward clients).
func StatelessServer(required uint64) Policy {
	return Policy{Lossy: true, Server: true, FeaturesRequired: required}
}

// LosslessPeer: both sides may reconnect, sessions survive faults, no reset
// detection (OSD to OSD).
func LosslessPeer(required uint64) Policy {
	return Policy{Standby: true, FeaturesRequired: required}
}

// LosslessPeerReuse: LosslessPeer that detects peer restarts.
func LosslessPeerReuse(required uint64) Policy {
	return Policy{Standby: true, ResetCheck: true, FeaturesRequired: required}
}

// LossyClient: a client whose connection is dropped on a fault (clients
// toward OSDs and MONs).
func LossyClient(required uint64) Policy {
	return Policy{Lossy: true, FeaturesRequired: required}
}

// LosslessClient: a client that reconnects and resends, and detects server
// restarts (MDS clients).
func LosslessClient(required uint64) Policy {
	return Policy{ResetCheck: true, FeaturesRequired: required}
}

// policySet maps a peer's entity type to its policy, with a default, as
// Ceph's PolicySet. Safe for use from any goroutine.
type policySet struct {
	mu     sync.Mutex
	def    Policy
	byType map[uint8]Policy
}

func newPolicySet(def Policy) *policySet {
	return &policySet{def: def, byType: make(map[uint8]Policy)}
}

func (s *policySet) get(peerType uint8) Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.byType[peerType]; ok {
		return p
	}
	return s.def
}

func (s *policySet) set(peerType uint8, p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byType[peerType] = p
}

func (s *policySet) setDefault(p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = p
}

// setThrottlers installs throttles on the policy of peerType.
func (s *policySet) setThrottlers(peerType uint8, bytes, msgs *Throttle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.byType[peerType]
	if !ok {
		// Ceph's set_throttlers on a type without its own policy writes
		// into the default policy itself.
		s.def.ThrottlerBytes, s.def.ThrottlerMessages = bytes, msgs
		return
	}
	p.ThrottlerBytes, p.ThrottlerMessages = bytes, msgs
	s.byType[peerType] = p
}

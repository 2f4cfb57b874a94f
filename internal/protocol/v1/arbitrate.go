package v1

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// query is what a new server connection tells the existing one (Query.V1).
type query struct {
	globalSeq  uint32
	connectSeq uint32
	features   uint64
	peerAddr   encoding.EntityAddr
	resetcheck bool // the new connection's policy
}

// verdictKind is how handle_connect_message_2 settles a connect that
// found an existing connection.
type verdictKind uint8

const (
	vOpen         verdictKind = iota // proceed with a new session
	vRetryGlobal                     // RETRY_GLOBAL with globalSeq
	vRetrySession                    // RETRY_SESSION with connectSeq
	vResetSession                    // RESETSESSION
	vWait                            // WAIT: our own connection wins the race
	vReplace                         // the existing connection takes the socket
)

type verdict struct {
	kind       verdictKind
	globalSeq  uint32
	connectSeq uint32
}

// Arbitrate is called on the existing connection's Machine with the Query
// of a new server connection from the same peer (see v2.Lookup): the part
// of handle_connect_message_2 and replace that concerns the existing
// connection (this Machine).
func (m *Machine) Arbitrate(now time.Time, q *v2.Query) (*v2.Verdict, *v2.Ready) {
	m.begin()
	qq, ok := q.V1.(*query)
	if !ok {
		// A msgr2 connection's query: different protocols do not share
		// sessions. Ceph marks the existing connection down.
		m.stop(now, v2.ErrReplaced, true)
		return &v2.Verdict{Register: true, V1: &verdict{kind: vOpen}}, m.end()
	}
	v := m.decide(now, qq)
	reg := v.kind == vOpen
	return &v2.Verdict{Register: reg, V1: v}, m.end()
}

func (m *Machine) decide(now time.Time, q *query) *verdict {
	switch {
	case m.ph == phClosed:
		return &verdict{kind: vOpen}
	case m.replacing, q.globalSeq < m.peerGlobalSeq:
		return &verdict{kind: vRetryGlobal, globalSeq: m.peerGlobalSeq}
	case m.policy.Lossy:
		// Replacing a lossy channel: it is reset and closed.
		m.sessionReset()
		m.stop(now, v2.ErrReplaced, true)
		return &verdict{kind: vOpen}
	case q.connectSeq == 0 && m.connectSeq > 0:
		// The peer reset and connects anew.
		m.resetFromPeer = true
		if q.resetcheck {
			m.sessionReset()
		}
		return m.replace(now, q)
	case q.connectSeq < m.connectSeq:
		return &verdict{kind: vRetrySession, connectSeq: m.connectSeq + 1}
	case q.connectSeq == m.connectSeq:
		if m.ph == phReady || m.ph == phStandby {
			if q.resetcheck && m.connectSeq == 0 {
				return m.replace(now, q)
			}
			return &verdict{kind: vRetrySession, connectSeq: m.connectSeq + 1}
		}
		if addrLess(q.peerAddr, m.myAddr()) || m.policy.Server {
			return m.replace(now, q) // the incoming connection wins
		}
		// Our outgoing connection wins; make sure it goes through.
		m.keepalive = true
		switch m.ph {
		case phReady:
			m.flush(now)
		case phStandby, phNone:
			if !m.policy.Server {
				m.startConnect(now)
			}
		}
		return &verdict{kind: vWait}
	case q.resetcheck && m.connectSeq == 0:
		return &verdict{kind: vResetSession}
	}
	return m.replace(now, q)
}

// replace is ProtocolV1::replace seen from the existing connection: it
// drops its own socket and waits for the new one (Adopted), on which it
// answers RETRY_GLOBAL so that the client sends its connect once more.
func (m *Machine) replace(now time.Time, q *query) *verdict {
	m.dropSocket(v2.ErrReplaced)
	m.requeueSent()
	m.stopTimer(v2.TimerBackoff)
	m.conn = Connect{Features: q.features}
	m.adoptReply = &ConnectReply{Tag: TagRetryGlobal, GlobalSeq: m.peerGlobalSeq}
	m.replacing = true
	m.isClient = false
	m.ph = phReplacing
	if m.cfg.HandshakeTimeout > 0 {
		m.setTimer(v2.TimerHandshake, now.Add(m.cfg.HandshakeTimeout))
	}
	return &verdict{kind: vReplace}
}

// Adopted reports that the socket a Query's connection handed over is now
// this Machine's; pending are the bytes it had read and not processed.
func (m *Machine) Adopted(now time.Time, pending []byte) *v2.Ready {
	m.begin()
	if m.ph != phReplacing || m.adoptReply == nil {
		// Marked down or faulted meanwhile: the socket is not wanted.
		m.rd.Emit(v2.CloseSocket{Err: v2.ErrReplaced})
		return m.end()
	}
	r := m.adoptReply
	m.adoptReply = nil
	m.hasSocket = true
	m.rx.reset()
	m.ph = phAccConnect
	m.lastActive = now
	r.ProtocolVersion = ProtoVersion(m.cfg.Me.Type, m.peerType, false)
	m.sendReply(r.Tag, r)
	if len(pending) > 0 {
		m.rx.append(pending)
	}
	m.process(now)
	return m.end()
}

// Resolve answers this Machine's Lookup (nil: no existing connection).
func (m *Machine) Resolve(now time.Time, v *v2.Verdict) *v2.Ready {
	m.begin()
	if m.ph != phLookup {
		return m.end()
	}
	m.query = nil
	m.ph = phAccConnect
	if m.deferredDown {
		m.stop(now, v2.ErrMarkedDown, false)
		return m.end()
	}
	if err := m.deferredErr; err != nil {
		m.deferredErr = nil
		m.fault(now, fmt.Errorf("%w: %w", v2.ErrSocket, err))
		return m.end()
	}
	var vv *verdict
	if v != nil {
		vv, _ = v.V1.(*verdict)
	}
	reply := ConnectReply{ProtocolVersion: ProtoVersion(m.cfg.Me.Type, m.peerType, false)}
	switch {
	case vv == nil:
		if !m.replacing && m.conn.ConnectSeq > 0 {
			// We reset, and the peer wants its old session back.
			m.sendReply(TagResetSession, &reply)
		} else {
			m.open(now)
		}
	case vv.kind == vOpen:
		m.open(now)
	case vv.kind == vRetryGlobal:
		reply.GlobalSeq = vv.globalSeq
		m.sendReply(TagRetryGlobal, &reply)
	case vv.kind == vRetrySession:
		reply.ConnectSeq = vv.connectSeq
		m.sendReply(TagRetrySession, &reply)
	case vv.kind == vResetSession:
		m.sendReply(TagResetSession, &reply)
	case vv.kind == vWait:
		m.sendReply(TagWait, &reply)
	case vv.kind == vReplace:
		pending := bytes.Clone(m.rx.unread())
		m.hasSocket = false // it is the existing connection's now
		m.rx.release()
		m.stopTimer(v2.TimerHandshake)
		m.rd.Emit(v2.HandOff{Pending: pending})
		m.ph = phClosed
		m.discardAll()
		m.rd.Emit(v2.Closed{Err: v2.ErrReplaced})
		return m.end()
	}
	if m.ph == phAccConnect || m.ph == phReady || m.ph == phAccSeq {
		m.process(now)
	}
	return m.end()
}

// addrLess orders legacy addresses as entity_addr_t's operator< does (a
// memcmp of the struct: type and nonce little-endian, then the sockaddr
// with its family in host order and its port big-endian).
func addrLess(a, b encoding.EntityAddr) bool {
	return bytes.Compare(addrKey(a), addrKey(b)) < 0
}

func addrKey(a encoding.EntityAddr) []byte {
	k := binary.LittleEndian.AppendUint32(nil, uint32(encoding.AddrTypeLegacy))
	k = binary.LittleEndian.AppendUint32(k, a.Nonce)
	// The legacy encoding's sockaddr, family turned back to host order.
	sa := AppendAddr(nil, a)[8:]
	sa[0], sa[1] = sa[1], sa[0]
	return append(k, sa...)
}

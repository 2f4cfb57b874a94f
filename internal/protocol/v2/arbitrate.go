package v2

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// query is what an accepting Machine learnt from CLIENT_IDENT or
// SESSION_RECONNECT, and the socket's stream, which moves to the existing
// Machine if it takes the socket over.
type query struct {
	clientCookie uint64
	serverCookie uint64
	globalSeq    uint64
	connectSeq   uint64
	msgSeq       uint64
	peerGID      int64
	features     uint64
	resetcheck   bool // the new connection's policy
	target       encoding.EntityAddr
	authGID      uint64
	conMode      uint32
	stream       *stream
}

type verdictKind uint8

const (
	vProceed     verdictKind = iota + 1 // new session on the new connection
	vHandOff                            // the existing connection takes the socket
	vWait                               // send WAIT
	vStale                              // drop the new connection
	vRetry                              // send SESSION_RETRY(n)
	vRetryGlobal                        // send SESSION_RETRY_GLOBAL(n)
	vReset                              // send SESSION_RESET(full)
)

type verdict struct {
	kind verdictKind
	n    uint64
	full bool
}

// lookup pauses an accepting Machine until the messenger answers.
func (m *Machine) lookup(q *Query) {
	q.q.target = m.target
	q.q.authGID = m.authGID
	q.q.conMode = m.conMode
	q.q.stream = m.st
	m.query = q
	m.ph = phLookup
	m.rd.Emit(Lookup{Query: q})
}

// addrKey lays an address out as Ceph's entity_addr_t sits in memory
// (little-endian type and nonce, then the sockaddr union), so that
// comparing keys orders addresses as Ceph's memcmp-based operator< does.
func addrKey(a encoding.EntityAddr) []byte {
	k := make([]byte, 8, 8+28)
	binary.LittleEndian.PutUint32(k, uint32(a.Type))
	binary.LittleEndian.PutUint32(k[4:], a.Nonce)
	ip := a.Addr.Addr()
	var u [28]byte
	switch {
	case ip.Is4():
		binary.LittleEndian.PutUint16(u[0:], 2)
		binary.BigEndian.PutUint16(u[2:], a.Addr.Port())
		v4 := ip.As4()
		copy(u[4:], v4[:])
	case ip.Is6():
		binary.LittleEndian.PutUint16(u[0:], 10)
		binary.BigEndian.PutUint16(u[2:], a.Addr.Port())
		binary.LittleEndian.PutUint32(u[4:], a.FlowInfo)
		v6 := ip.As16()
		copy(u[8:], v6[:])
		binary.LittleEndian.PutUint32(u[24:], a.ScopeID)
	}
	return append(k, u[:]...)
}

func addrLess(a, b encoding.EntityAddr) bool { return bytes.Compare(addrKey(a), addrKey(b)) < 0 }

// Arbitrate is called on the existing connection's Machine (on its loop)
// with the Query of a new server connection from the same peer. It decides,
// as Ceph's handle_existing_connection / handle_reconnect do, whether the
// new connection waits, retries, is reset, replaces this one, or hands its
// socket over; the returned Ready is this Machine's.
func (m *Machine) Arbitrate(now time.Time, q *Query) (*Verdict, *Ready) {
	m.begin()
	v := m.judge(now, q)
	return &Verdict{Register: v.kind == vProceed, v: v}, m.end()
}

// judge is handle_existing_connection (CLIENT_IDENT) and the second half
// of handle_reconnect (SESSION_RECONNECT), seen from the existing side.
func (m *Machine) judge(now time.Time, q *Query) verdict {
	qq := &q.q
	me := m.env.MyAddrs().Msgr2()
	if q.Reconnect {
		switch {
		case m.ph == phClosed:
			return verdict{kind: vReset, full: true}
		case m.replacing:
			return verdict{kind: vRetryGlobal, n: m.peerGlobalSeq}
		case m.clientCookie != qq.clientCookie:
			// We must have reset: the peer's session is not ours.
			return verdict{kind: vReset, full: qq.resetcheck}
		case m.serverCookie == 0:
			// We were the client and never got SERVER_IDENT: the peer
			// has a session we never saw completed.
			return verdict{kind: vReset, full: false}
		case m.peerGlobalSeq > qq.globalSeq:
			return verdict{kind: vRetryGlobal, n: m.peerGlobalSeq}
		case m.connectSeq > qq.connectSeq:
			return verdict{kind: vRetry, n: m.connectSeq}
		case m.connectSeq == qq.connectSeq && addrLess(me, m.peerAddrs.Msgr2()) && !m.policy.Server:
			// Both sides reconnecting: the higher address's wins.
			return verdict{kind: vWait}
		}
		m.connectSeq = qq.connectSeq
		m.messageSeq = qq.msgSeq
		m.takeOver(now, q, true)
		return verdict{kind: vHandOff}
	}
	switch {
	case m.ph == phClosed:
		return verdict{kind: vProceed}
	case m.replacing:
		return verdict{kind: vWait}
	case m.peerGlobalSeq > qq.globalSeq:
		return verdict{kind: vStale}
	case m.policy.Lossy:
		m.stop(now, ErrReplaced, true)
		return verdict{kind: vProceed}
	case m.serverCookie != 0 && m.clientCookie != 0 && m.clientCookie != qq.clientCookie:
		// The peer restarted its session; we keep ours unless the
		// policy wants resets noticed.
		if qq.resetcheck {
			m.resetSession()
		}
	case m.clientCookie == qq.clientCookie:
		// Establishment was interrupted between the idents: go on.
	case m.ph == phReady || m.ph == phStandby:
	case addrLess(q.PeerAddrs.Msgr2(), me) || m.policy.Server:
		// Connection race won by the peer's connection.
	default:
		// Race won by ours: make sure it goes through.
		m.keepalive = true
		if m.ph == phReady {
			m.flush(now)
		}
		return verdict{kind: vWait}
	}
	m.takeOver(now, q, false)
	return verdict{kind: vHandOff}
}

// takeOver is the existing side of reuse_connection: drop our socket and
// wait for the new one (Adopted). The handshake timer bounds the wait, so
// that a socket lost on its way does not leave the session stuck.
func (m *Machine) takeOver(now time.Time, q *Query, reconnecting bool) {
	qq := &q.q
	m.dropSocket(ErrReplaced)
	m.stopTimer(TimerBackoff)
	m.requeueSent()
	if !reconnecting {
		m.clientCookie = qq.clientCookie
		m.peerGID = qq.peerGID
		m.features = qq.features
	}
	m.peerGlobalSeq = qq.globalSeq
	m.peerAddrs = q.PeerAddrs
	m.peerType = q.PeerType
	m.target = qq.target
	m.authGID = qq.authGID
	m.conMode = qq.conMode
	m.adopt = qq.stream
	m.replacing = true
	m.reconnecting = reconnecting
	m.ph = phReplacing
	if m.cfg.HandshakeTimeout > 0 {
		m.setTimer(TimerHandshake, now.Add(m.cfg.HandshakeTimeout))
	}
}

// Resolve answers this Machine's Lookup: v is nil when the messenger found
// no existing connection.
func (m *Machine) Resolve(now time.Time, v *Verdict) *Ready {
	m.begin()
	if m.ph != phLookup {
		return m.end()
	}
	q := m.query
	m.query = nil
	m.ph = phSessionAccepting
	var vd verdict
	if v != nil {
		vd = v.v
	}
	switch vd.kind {
	case 0:
		if q.Reconnect {
			m.writeFrame(now, &wire.SessionReset{Full: true})
		} else {
			m.sendServerIdent(now)
		}
	case vProceed:
		m.sendServerIdent(now)
	case vHandOff:
		pending := m.lookupBuf
		m.lookupBuf = nil
		m.st = nil // it belongs to the existing Machine now
		m.hasSocket = false
		m.rd.Emit(HandOff{Pending: pending})
		m.stop(now, ErrReplaced, false)
		return m.end()
	case vWait:
		m.writeFrame(now, &wire.Wait{})
	case vStale:
		m.stop(now, ErrStale, true)
		return m.end()
	case vRetry:
		m.writeFrame(now, &wire.SessionRetry{ConnectSeq: vd.n})
	case vRetryGlobal:
		m.writeFrame(now, &wire.SessionRetryGlobal{GlobalSeq: vd.n})
	case vReset:
		m.writeFrame(now, &wire.SessionReset{Full: vd.full})
	}
	m.afterLookup(now)
	return m.end()
}

// afterLookup replays what happened to the socket while the Machine
// waited: a mark down first, then the bytes that arrived, then the socket
// error that followed them.
func (m *Machine) afterLookup(now time.Time) {
	if m.deferredDown {
		m.deferredDown, m.deferredErr, m.lookupBuf = false, nil, nil
		m.stop(now, ErrMarkedDown, false)
		return
	}
	buf := m.lookupBuf
	m.lookupBuf = nil
	if len(buf) > 0 && m.st != nil {
		m.st.dec.Feed(buf)
		m.process(now)
	}
	if m.ph == phLookup {
		return // another lookup; the error waits for it
	}
	if err := m.deferredErr; err != nil {
		m.deferredErr = nil
		m.onSocketError(now, err)
	}
	if m.ph == phReady {
		m.flush(now)
	}
	m.releaseRx()
}

// Adopted reports that the socket of the connection whose Query this
// Machine took over (see HandOff) is now this connection's; pending are
// bytes that connection had read and not processed.
func (m *Machine) Adopted(now time.Time, pending []byte) *Ready {
	m.begin()
	if m.ph != phReplacing || m.adopt == nil {
		// Marked down (or stopped) while the socket was on its way.
		m.rd.Emit(CloseSocket{Err: ErrReplaced})
		return m.end()
	}
	m.st, m.adopt = m.adopt, nil
	m.hasSocket = true
	m.isClient = false
	m.ph = phSessionAccepting
	m.lastActive = now
	if m.reconnecting {
		m.sendReconnectOK(now)
	} else {
		m.sendServerIdent(now)
	}
	if m.st != nil && len(pending) > 0 {
		m.st.dec.Feed(pending)
	}
	m.process(now)
	m.releaseRx()
	return m.end()
}

// sendServerIdent opens a new session (send_server_ident).
func (m *Machine) sendServerIdent(now time.Time) {
	m.inSeq = 0
	if !m.policy.Lossy {
		m.serverCookie = m.env.Cookie()
	}
	if !m.writeFrame(now, &wire.ServerIdent{
		Addrs:             m.env.MyAddrs(),
		GlobalID:          m.cfg.Me.Num,
		GlobalSeq:         m.env.NextGlobalSeq(0),
		SupportedFeatures: m.supported,
		RequiredFeatures:  m.requiredFeatures(),
		Flags:             m.identFlags(),
		ServerCookie:      m.serverCookie,
	}) {
		return
	}
	m.established(false)
	m.ready(now)
}

// sendReconnectOK resumes the session (send_reconnect_ok).
func (m *Machine) sendReconnectOK(now time.Time) {
	m.discardRequeuedUpTo(m.messageSeq)
	if !m.writeFrame(now, &wire.SessionReconnectOK{MsgSeq: m.inSeq}) {
		return
	}
	m.established(true)
	m.ready(now)
}

package v2

import (
	"errors"
	"fmt"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

func (m *Machine) handleBanner(now time.Time, bn wire.Banner) {
	sup := wire.SupportedFeatures
	if m.cfg.DisableRev1 {
		sup &^= wire.FeatureRevision1
	}
	neg, err := wire.Negotiate(wire.Banner{Supported: sup}, bn)
	if err != nil {
		// Ceph stops (no reconnect): the peer will never do better.
		m.stop(now, fmt.Errorf("%w: banner: %w", ErrMissingFeatures, err), true)
		return
	}
	m.st.bannerIn = true
	m.st.setRev1(neg.Rev1)
	if m.ph == phBannerConnecting {
		m.ph = phHelloConnecting
	} else {
		m.ph = phHelloAccepting
	}
	m.writeFrame(now, &wire.Hello{EntityType: m.cfg.Me.Type, PeerAddr: m.target})
}

// expect reports whether a frame is allowed in the current phase, and
// faults if not.
func (m *Machine) expect(now time.Time, t wire.Tag, ok bool) bool {
	if !ok {
		m.fault(now, m.protoErr("unexpected "+t.String(), nil))
	}
	return ok
}

func (m *Machine) handleFrame(now time.Time, f *wire.Frame) {
	if f.Tag == wire.TagMessage {
		if m.expect(now, f.Tag, m.ph == phReady) {
			m.handleMessage(now, f)
		}
		return
	}
	if m.handleSmallFrame(now, f) {
		return
	}
	cf, err := wire.DecodeControlFrame(f.Tag, f.Payload())
	if err != nil {
		m.fault(now, m.protoErr("decoding "+f.Tag.String(), err))
		return
	}
	switch fr := cf.(type) {
	case *wire.Hello:
		if m.expect(now, f.Tag, m.ph == phHelloConnecting || m.ph == phHelloAccepting) {
			m.handleHello(now, fr)
		}
	case *wire.AuthBadMethod:
		if m.expect(now, f.Tag, m.ph == phAuthConnecting) {
			method, modes, payload, err := m.authC.HandleBadMethod(fr.Method, fr.Result, fr.AllowedMethods, fr.AllowedModes)
			if err != nil {
				m.fault(now, fmt.Errorf("%w: %w", ErrAuth, err))
				return
			}
			m.writeFrame(now, &wire.AuthRequest{Method: method, PreferredModes: modes, Payload: payload})
		}
	case *wire.AuthReplyMore:
		if m.expect(now, f.Tag, m.ph == phAuthConnecting) {
			reply, err := m.authC.HandleReplyMore(fr.Payload)
			if err != nil {
				m.fault(now, fmt.Errorf("%w: %w", ErrAuth, err))
				return
			}
			m.writeFrame(now, &wire.AuthRequestMore{Payload: reply})
		}
	case *wire.AuthDone:
		if m.expect(now, f.Tag, m.ph == phAuthConnecting) {
			m.handleAuthDone(now, fr)
		}
	case *wire.AuthSignature:
		if m.expect(now, f.Tag, m.ph == phAuthConnectingSign || m.ph == phAuthAcceptingSign) {
			m.handleAuthSignature(now, fr)
		}
	case *wire.AuthRequest:
		if m.expect(now, f.Tag, m.ph == phAuthAccepting) {
			reply, err := m.authS.HandleRequest(fr.Method, fr.PreferredModes, fr.Payload)
			m.handleAuthReply(now, reply, err)
		}
	case *wire.AuthRequestMore:
		if m.expect(now, f.Tag, m.ph == phAuthAcceptingMore) {
			reply, err := m.authS.HandleRequestMore(fr.Payload)
			m.handleAuthReply(now, reply, err)
		}
	case *wire.ClientIdent:
		if m.expect(now, f.Tag, m.ph == phSessionAccepting) {
			m.handleClientIdent(now, fr)
		}
	case *wire.SessionReconnect:
		if m.expect(now, f.Tag, m.ph == phSessionAccepting) {
			m.handleReconnect(now, fr)
		}
	case *wire.ServerIdent:
		if m.expect(now, f.Tag, m.ph == phSessionConnecting) {
			m.handleServerIdent(now, fr)
		}
	case *wire.IdentMissingFeatures:
		if m.expect(now, f.Tag, m.ph == phSessionConnecting) {
			m.fault(now, fmt.Errorf("%w: the peer requires %#x", ErrMissingFeatures, fr.Features))
		}
	case *wire.SessionReconnectOK:
		if m.expect(now, f.Tag, m.ph == phSessionReconnecting) {
			m.discardRequeuedUpTo(fr.MsgSeq)
			m.backoff = 0
			m.established(true)
			m.ready(now)
		}
	case *wire.SessionReset:
		if m.expect(now, f.Tag, m.ph == phSessionReconnecting) {
			if fr.Full {
				m.resetSession()
			} else {
				m.serverCookie, m.connectSeq, m.inSeq = 0, 0, 0
			}
			m.sendClientIdent(now)
		}
	case *wire.SessionRetry:
		if m.expect(now, f.Tag, m.ph == phSessionReconnecting) {
			m.connectSeq = fr.ConnectSeq + 1
			m.sendReconnect(now)
		}
	case *wire.SessionRetryGlobal:
		if m.expect(now, f.Tag, m.ph == phSessionReconnecting) {
			m.globalSeq = m.env.NextGlobalSeq(fr.GlobalSeq)
			m.sendReconnect(now)
		}
	case *wire.Wait:
		if m.expect(now, f.Tag, m.ph == phSessionConnecting || m.ph == phSessionReconnecting) {
			m.ph = phWait
			m.fault(now, ErrWait)
		}
	default:
		m.expect(now, f.Tag, false)
	}
}

// handleSmallFrame handles the control frames of an open session (ACK,
// KEEPALIVE2, KEEPALIVE2_ACK), decoded into values on the stack rather
// than the heap values of DecodeControlFrame: they come with every few
// messages. It reports whether f was one of them.
func (m *Machine) handleSmallFrame(now time.Time, f *wire.Frame) bool {
	switch f.Tag {
	case wire.TagAck:
		var a wire.Ack
		if m.decodeSmall(now, f, a.DecodePayload) && m.expect(now, f.Tag, m.ph == phReady) {
			m.handleAck(a.Seq)
		}
	case wire.TagKeepalive2:
		var k wire.Keepalive2
		if m.decodeSmall(now, f, k.DecodePayload) && m.expect(now, f.Tag, m.ph == phReady) {
			ack := wire.Keepalive2Ack{Timestamp: k.Timestamp}
			m.writeControl(now, ack.Tag(), ack.AppendPayload(m.ctlTmp[:0]))
		}
	case wire.TagKeepalive2Ack:
		var k wire.Keepalive2Ack
		if m.decodeSmall(now, f, k.DecodePayload) && m.expect(now, f.Tag, m.ph == phReady) {
			m.rd.Emit(KeepaliveAck{Stamp: k.Timestamp.Time()})
		}
	default:
		return false
	}
	return true
}

// decodeSmall decodes f's payload with decode, faulting on an error.
func (m *Machine) decodeSmall(now time.Time, f *wire.Frame, decode func([]byte) error) bool {
	if err := decode(f.Payload()); err != nil {
		m.fault(now, m.protoErr("decoding "+f.Tag.String(), err))
		return false
	}
	return true
}

func (m *Machine) handleHello(now time.Time, h *wire.Hello) {
	if m.ph == phHelloConnecting {
		if h.EntityType != m.peerType {
			m.stop(now, m.protoErr(fmt.Sprintf("peer is a %s, not a %s",
				encoding.EntityTypeName(h.EntityType), encoding.EntityTypeName(m.peerType)), nil), true)
			return
		}
	} else {
		m.peerType = h.EntityType
		m.policy = m.env.Policy(h.EntityType)
	}
	m.rd.Emit(LearnedAddr{Addr: h.PeerAddr})
	if m.ph == phHelloAccepting {
		a, err := m.env.AuthServer(m.peerType)
		if err != nil {
			m.stop(now, fmt.Errorf("%w: %w", ErrAuth, err), true)
			return
		}
		m.authS = a
		m.ph = phAuthAccepting
		return
	}
	a, err := m.env.AuthClient(m.peerType)
	if err == nil {
		m.authC = a
		var method uint32
		var modes []uint32
		var payload []byte
		method, modes, payload, err = a.Start()
		if err == nil {
			m.ph = phAuthConnecting
			m.writeFrame(now, &wire.AuthRequest{Method: method, PreferredModes: modes, Payload: payload})
			return
		}
	}
	// Ceph stops when it cannot even build a request.
	m.stop(now, fmt.Errorf("%w: %w", ErrAuth, err), true)
}

func (m *Machine) handleAuthDone(now time.Time, d *wire.AuthDone) {
	res, err := m.authC.HandleDone(d.GlobalID, d.ConMode, d.Payload)
	if err != nil {
		m.fault(now, fmt.Errorf("%w: %w", ErrAuth, err))
		return
	}
	m.authGID = d.GlobalID
	m.conMode = d.ConMode
	m.sessKey = res.SessionKey
	if !m.installMode(now, res, wire.RoleClient) {
		return
	}
	m.ph = phAuthConnectingSign
	m.sendSignature(now)
}

// installMode switches the stream to secure mode when the exchange chose
// it; AUTH_SIGNATURE is then the first encrypted frame each way.
func (m *Machine) installMode(now time.Time, res auth.Result, role wire.Role) bool {
	switch m.conMode {
	case auth.ModeCRC:
		return true
	case auth.ModeSecure:
		if err := m.st.secure(res.ConnectionSecret, role); err != nil {
			m.fault(now, fmt.Errorf("%w: secure mode: %w", ErrAuth, err))
			return false
		}
		return true
	}
	m.fault(now, m.protoErr(fmt.Sprintf("connection mode %d", m.conMode), nil))
	return false
}

// sendSignature signs what we received before auth ended and stops
// recording.
func (m *Machine) sendSignature(now time.Time) {
	var sig wire.AuthSignature
	copy(sig.Signature[:], auth.Signature(m.sessKey, m.st.rxLog))
	m.st.preAuth = false
	m.st.rxLog = nil
	m.writeFrame(now, &sig)
}

func (m *Machine) handleAuthSignature(now time.Time, s *wire.AuthSignature) {
	if err := auth.CheckSignature(m.sessKey, m.st.txLog, s.Signature[:]); err != nil {
		m.fault(now, fmt.Errorf("%w: %w", ErrAuth, err))
		return
	}
	m.st.txLog = nil
	if m.ph == phAuthAcceptingSign {
		m.ph = phSessionAccepting
		return
	}
	if m.serverCookie == 0 {
		m.sendClientIdent(now)
	} else {
		m.sendReconnect(now)
	}
}

func (m *Machine) handleAuthReply(now time.Time, r auth.ServerReply, err error) {
	if err != nil {
		var bad *auth.BadMethodError
		if errors.As(err, &bad) {
			m.ph = phAuthAccepting
			m.writeFrame(now, &wire.AuthBadMethod{Method: bad.Method, Result: bad.Result,
				AllowedMethods: bad.AllowedMethods, AllowedModes: bad.AllowedModes})
			return
		}
		m.fault(now, fmt.Errorf("%w: %w", ErrAuth, err))
		return
	}
	if !r.Done {
		m.ph = phAuthAcceptingMore
		m.writeFrame(now, &wire.AuthReplyMore{Payload: r.Payload})
		return
	}
	m.authGID = r.Result.GlobalID
	m.conMode = r.Result.ConMode
	m.sessKey = r.Result.SessionKey
	if !m.writeFrame(now, &wire.AuthDone{GlobalID: r.Result.GlobalID, ConMode: r.Result.ConMode, Payload: r.Payload}) {
		return
	}
	if !m.installMode(now, r.Result, wire.RoleServer) {
		return
	}
	m.ph = phAuthAcceptingSign
	m.sendSignature(now)
}

func (m *Machine) identFlags() uint64 {
	if m.policy.Lossy {
		return flagLossy
	}
	return 0
}

func (m *Machine) requiredFeatures() uint64 {
	return m.policy.FeaturesRequired | m.required | msgr2Required
}

func (m *Machine) sendClientIdent(now time.Time) {
	m.ph = phSessionConnecting
	if !m.policy.Lossy && m.clientCookie == 0 {
		m.clientCookie = m.env.Cookie()
	}
	m.writeFrame(now, &wire.ClientIdent{
		Addrs:             m.env.MyAddrs(),
		TargetAddr:        m.target,
		GlobalID:          m.cfg.Me.Num,
		GlobalSeq:         m.globalSeq,
		SupportedFeatures: m.supported,
		RequiredFeatures:  m.requiredFeatures(),
		Flags:             m.identFlags(),
		ClientCookie:      m.clientCookie,
	})
}

func (m *Machine) sendReconnect(now time.Time) {
	m.ph = phSessionReconnecting
	m.writeFrame(now, &wire.SessionReconnect{
		Addrs:        m.env.MyAddrs(),
		ClientCookie: m.clientCookie,
		ServerCookie: m.serverCookie,
		GlobalSeq:    m.globalSeq,
		ConnectSeq:   m.connectSeq,
		MsgSeq:       m.inSeq,
	})
}

// contains reports whether the addresses v of an entity include a, as
// Ceph's entity_addrvec_t::contains does. One leniency: an address bound to
// the unspecified IP (0.0.0.0 or ::) matches a with the same type, nonce
// and port, so that a messenger listening on every interface is reachable
// at each of them.
func contains(v encoding.EntityAddrVec, a encoding.EntityAddr) bool {
	for _, x := range v {
		if x == a {
			return true
		}
		if x.Addr.Addr().IsUnspecified() && x.Type == a.Type && x.Nonce == a.Nonce && x.Addr.Port() == a.Addr.Port() {
			return true
		}
	}
	return false
}

func (m *Machine) handleServerIdent(now time.Time, si *wire.ServerIdent) {
	if !contains(si.Addrs, m.target) {
		m.fault(now, m.protoErr(fmt.Sprintf("peer is %v, which does not include %v", si.Addrs, m.target), nil))
		return
	}
	m.serverCookie = si.ServerCookie
	m.peerAddrs = si.Addrs
	m.peerGID = si.GlobalID
	m.features = si.SupportedFeatures & m.supported
	m.peerGlobalSeq = si.GlobalSeq
	m.policy.Lossy = si.Flags&flagLossy != 0
	m.backoff = 0
	m.established(false)
	m.ready(now)
}

func (m *Machine) handleClientIdent(now time.Time, ci *wire.ClientIdent) {
	if len(ci.Addrs) == 0 || ci.Addrs[0] == (encoding.EntityAddr{}) {
		m.fault(now, m.protoErr("CLIENT_IDENT without addresses", nil))
		return
	}
	if my := m.env.MyAddrs(); !contains(my, ci.TargetAddr) {
		m.fault(now, m.protoErr(fmt.Sprintf("peer is trying to reach %v, which is not us (%v)", ci.TargetAddr, my), nil))
		return
	}
	m.peerAddrs = ci.Addrs
	m.target = inferTarget(ci.Addrs)
	m.peerGID = ci.GlobalID
	m.clientCookie = ci.ClientCookie
	if missing := m.requiredFeatures() &^ ci.SupportedFeatures; missing != 0 {
		m.writeFrame(now, &wire.IdentMissingFeatures{Features: missing})
		return
	}
	m.features = ci.SupportedFeatures & m.supported
	m.peerGlobalSeq = ci.GlobalSeq
	m.lookup(&Query{PeerAddrs: ci.Addrs, PeerType: m.peerType, q: query{
		clientCookie: ci.ClientCookie,
		globalSeq:    ci.GlobalSeq,
		peerGID:      ci.GlobalID,
		features:     ci.SupportedFeatures & m.supported,
		resetcheck:   m.policy.ResetCheck,
	}})
}

func (m *Machine) handleReconnect(now time.Time, r *wire.SessionReconnect) {
	m.peerAddrs = r.Addrs
	m.target = inferTarget(r.Addrs)
	m.peerGlobalSeq = r.GlobalSeq
	m.lookup(&Query{PeerAddrs: r.Addrs, PeerType: m.peerType, Reconnect: true, q: query{
		clientCookie: r.ClientCookie,
		serverCookie: r.ServerCookie,
		globalSeq:    r.GlobalSeq,
		connectSeq:   r.ConnectSeq,
		msgSeq:       r.MsgSeq,
		resetcheck:   m.policy.ResetCheck,
	}})
}

func (m *Machine) handleMessage(now time.Time, f *wire.Frame) {
	in, err := m.inMessage(f)
	if err != nil {
		m.fault(now, m.protoErr("MESSAGE header", err))
		return
	}
	seq := in.Header.Seq
	if seq <= m.inSeq || f.DataLost {
		// A duplicate from before a reconnect: Ceph drops it quietly.
		// Or its data went to an RxBuffer revoked meanwhile (see
		// Config.RxBuffer): counted, not delivered.
		if r := in.Payload.Owner; r != nil {
			r.Release()
		}
		if seq > m.inSeq {
			m.inSeq = seq
			if !m.policy.Lossy {
				m.ackLeft++
			}
			m.handleAck(in.Header.AckSeq)
		}
		return
	}
	if seq > m.inSeq+1 && m.cfg.FaultOnSeqGap {
		m.fault(now, m.protoErr(fmt.Sprintf("message seq %d after %d", seq, m.inSeq), ErrSeqGap))
		return
	}
	m.inSeq = seq
	if !m.policy.Lossy {
		m.ackLeft++
	}
	m.rd.Delivered = append(m.rd.Delivered, in)
	m.handleAck(in.Header.AckSeq)
}

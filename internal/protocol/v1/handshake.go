package v1

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// ---- connecting side ----

// handleServerBanner is handle_server_banner_and_identify: the server's
// banner, its address and ours as it sees us; then we send our address
// and the connect.
func (m *Machine) handleServerBanner(now time.Time) bool {
	if !m.checkBanner(now) {
		return false
	}
	p := m.rx.take(BannerLen + 2*AddrLen)
	if p == nil {
		return false
	}
	paddr, err := DecodeAddr(p[BannerLen:])
	if err != nil {
		m.fault(now, m.protoErr("server address", err))
		return false
	}
	forMe, err := DecodeAddr(p[BannerLen+AddrLen:])
	if err != nil {
		m.fault(now, m.protoErr("our address", err))
		return false
	}
	want := m.target
	if paddr.Addr != want.Addr || paddr.Nonce != want.Nonce {
		if !(paddr.IsBlank() || paddr.Addr.Addr().IsUnspecified()) || paddr.Addr.Port() != want.Addr.Port() || paddr.Nonce != want.Nonce {
			m.fault(now, m.protoErr("server address", fmt.Errorf("peer claims to be %v, not %v", paddr, want)))
			return false
		}
	}
	if forMe.Addr.IsValid() && !m.knowMyIP() {
		m.learnedIP = forMe.Addr.Addr()
		m.rd.Emit(v2.LearnedAddr{Addr: encoding.EntityAddr{Type: encoding.AddrTypeLegacy, Addr: netip.AddrPortFrom(forMe.Addr.Addr(), 0)}})
	}
	m.write(AppendAddr(make([]byte, 0, AddrLen), m.myAddr()))
	m.ph = phConnReply
	m.sendConnect(now)
	return m.ph == phConnReply
}

// checkBanner faults as soon as the peer's first bytes are not the
// banner (a msgr2 peer, say), without waiting for the addresses.
func (m *Machine) checkBanner(now time.Time) bool {
	p := m.rx.unread()
	n := min(len(p), BannerLen)
	if string(p[:n]) != Banner[:n] {
		m.fault(now, m.protoErr("banner", fmt.Errorf("%w: %q", ErrBadBanner, p[:n])))
		return false
	}
	return n == BannerLen
}

// knowMyIP reports whether the messenger has an IP of its own.
func (m *Machine) knowMyIP() bool {
	for _, a := range m.env.MyAddrs() {
		if a.Addr.IsValid() && !a.Addr.Addr().IsUnspecified() {
			return true
		}
	}
	return m.learnedIP.IsValid()
}

// presentsAuthorizer: a client presents an authorizer to every peer but a
// mon (unless it is a mon itself); to a mon it authenticates in messages.
func (m *Machine) presentsAuthorizer() bool {
	return m.peerType != encoding.EntityTypeMon || m.cfg.Me.Type == encoding.EntityTypeMon
}

// sendConnect is send_connect_message.
func (m *Machine) sendConnect(now time.Time) {
	c := Connect{
		Features:        m.supported,
		HostType:        uint32(m.cfg.Me.Type),
		GlobalSeq:       m.globalSeq,
		ConnectSeq:      m.connectSeq,
		ProtocolVersion: ProtoVersion(m.cfg.Me.Type, m.peerType, true),
	}
	if m.presentsAuthorizer() {
		if m.authMore != nil {
			c.Authorizer = m.authMore
		} else {
			h, err := m.env.AuthClient(m.peerType)
			if err != nil {
				m.fault(now, fmt.Errorf("%w: %w", v2.ErrAuth, err))
				return
			}
			method, _, payload, err := h.Start()
			if err != nil {
				m.fault(now, fmt.Errorf("%w: %w", v2.ErrAuth, err))
				return
			}
			m.authC, m.authMethod = h, method
			c.Authorizer = payload
		}
		c.AuthorizerProto = m.authMethod
	}
	if m.policy.Lossy {
		c.Flags |= FlagLossy // for information: the server decides
	}
	m.write(AppendConnect(make([]byte, 0, ConnectLen+len(c.Authorizer)), &c))
}

// handleConnectReply reads a whole connect reply (with its authorizer and,
// for SEQ, the server's in_seq) and acts on it (handle_connect_reply_*).
func (m *Machine) handleConnectReply(now time.Time) bool {
	p := m.rx.peek(ConnectReplyLen)
	if p == nil {
		return false
	}
	r := &m.reply
	_ = DecodeConnectReply(r, p)
	if r.AuthorizerLen > maxAuthorizer {
		m.fault(now, m.protoErr("connect reply", fmt.Errorf("%w: authorizer reply of %d bytes", ErrTooBig, r.AuthorizerLen)))
		return false
	}
	need := ConnectReplyLen + int(r.AuthorizerLen)
	if r.Tag == TagSeq {
		need += 8
	}
	p = m.rx.take(need)
	if p == nil {
		return false
	}
	r.Authorizer = p[ConnectReplyLen : ConnectReplyLen+int(r.AuthorizerLen)]
	if r.AuthorizerLen > 0 && m.presentsAuthorizer() {
		if r.Tag == TagChallengeAuthorizer {
			if m.authMore != nil || m.authC == nil {
				// A second challenge (a new server on this session):
				// answer it with a fresh authorizer.
				h, err := m.env.AuthClient(m.peerType)
				if err == nil {
					_, _, _, err = h.Start()
				}
				if err != nil {
					m.fault(now, fmt.Errorf("%w: %w", v2.ErrAuth, err))
					return false
				}
				m.authC = h
			}
			more, err := m.authC.HandleReplyMore(r.Authorizer)
			if err != nil {
				m.fault(now, fmt.Errorf("%w: authorizer challenge: %w", v2.ErrAuth, err))
				return false
			}
			m.authMore = more
			m.sendConnect(now)
			return true
		}
		if m.authC != nil {
			res, err := m.authC.HandleDone(0, auth.ModeCRC, r.Authorizer)
			if err != nil {
				m.fault(now, fmt.Errorf("%w: authorizer reply: %w", v2.ErrAuth, err))
				return false
			}
			m.authGID = res.GlobalID
			m.sessKey = nil
			if m.authMethod == auth.MethodCephX && m.cfg.SignMessages && len(res.SessionKey) > 0 {
				m.sessKey = res.SessionKey
			}
		}
	}
	switch r.Tag {
	case TagFeatures:
		m.fault(now, fmt.Errorf("%w: the peer requires %#x", v2.ErrMissingFeatures, r.Features&^m.supported))
		return false
	case TagBadProtoVer:
		m.fault(now, m.protoErr("connect", fmt.Errorf("protocol version %d refused, peer speaks %d",
			ProtoVersion(m.cfg.Me.Type, m.peerType, true), r.ProtocolVersion)))
		return false
	case TagBadAuthorizer:
		m.authMore = nil
		m.fault(now, fmt.Errorf("%w: peer refused our authorizer (BADAUTHORIZER)", v2.ErrAuth))
		return false
	case TagChallengeAuthorizer:
		m.fault(now, m.protoErr("connect reply", fmt.Errorf("%w: CHALLENGE_AUTHORIZER without a challenge", ErrBadTag)))
		return false
	case TagResetSession:
		m.sessionReset()
		m.sendConnect(now)
		return true
	case TagRetryGlobal:
		m.globalSeq = uint32(m.env.NextGlobalSeq(uint64(r.GlobalSeq)))
		m.sendConnect(now)
		return true
	case TagRetrySession:
		if r.ConnectSeq <= m.connectSeq {
			m.fault(now, m.protoErr("connect reply", fmt.Errorf("RETRY_SESSION to connect_seq %d, ours is %d", r.ConnectSeq, m.connectSeq)))
			return false
		}
		m.connectSeq = r.ConnectSeq
		m.sendConnect(now)
		return true
	case TagWait:
		m.ph = phWait
		m.fault(now, v2.ErrWait)
		return false
	case TagSeq, TagReady:
	default:
		m.fault(now, m.protoErr("connect reply", fmt.Errorf("%w: %v", ErrBadTag, r.Tag)))
		return false
	}
	if missing := (m.policy.FeaturesRequired | m.cfg.RequiredFeatures) &^ r.Features; missing != 0 {
		m.fault(now, fmt.Errorf("%w: the peer lacks %#x", v2.ErrMissingFeatures, missing))
		return false
	}
	if r.Tag == TagSeq {
		acked := binary.LittleEndian.Uint64(p[need-8:])
		m.discardRequeuedUpTo(acked)
		m.write(binary.LittleEndian.AppendUint64(make([]byte, 0, 8), m.inSeq))
	}
	return m.clientReady(now)
}

// clientReady is client_ready: the session is open.
func (m *Machine) clientReady(now time.Time) bool {
	r := &m.reply
	m.peerGlobalSeq = r.GlobalSeq
	m.policy.Lossy = r.Flags&FlagLossy != 0 // the server decides
	m.connectSeq++
	if m.connectSeq != r.ConnectSeq {
		m.fault(now, m.protoErr("connect reply", fmt.Errorf("connect_seq %d, expected %d", r.ConnectSeq, m.connectSeq)))
		return false
	}
	m.backoff = 0
	m.features = r.Features & m.supported
	m.msgAuth = encoding.HasFeatures(m.features, encoding.FeatureMsgAuth)
	if !m.presentsAuthorizer() || !encoding.HasFeatures(m.features, encoding.FeatureCephxV2) {
		// No authorizer: no session security (mons, over v1). Only
		// the CEPHX_V2 signature form is implemented.
		m.sessKey = nil
	}
	m.authMore = nil
	m.established()
	m.ready(now)
	return m.ph == phReady
}

// ---- accepting side ----

// handleClientBanner is handle_client_banner: the client's banner and its
// address (a blank IP is filled in from the socket).
func (m *Machine) handleClientBanner(now time.Time) bool {
	if !m.checkBanner(now) {
		return false
	}
	p := m.rx.take(BannerLen + AddrLen)
	if p == nil {
		return false
	}
	a, err := DecodeAddr(p[BannerLen:])
	if err != nil {
		m.fault(now, m.protoErr("client address", err))
		return false
	}
	if a.IsBlank() || a.Addr.Addr().IsUnspecified() {
		a.Addr = netip.AddrPortFrom(m.target.Addr.Addr(), a.Addr.Port())
	}
	a.Type = encoding.AddrTypeLegacy
	m.peerAddrs = encoding.EntityAddrVec{a}
	if a.Addr.Port() != 0 {
		// A bound peer: where we reconnect to if our policy does.
		m.target = a
	}
	m.ph = phAccConnect
	return true
}

// handleConnect is handle_connect_message_1/2: one connect and its
// authorizer.
func (m *Machine) handleConnect(now time.Time) bool {
	p := m.rx.peek(ConnectLen)
	if p == nil {
		return false
	}
	c := &m.conn
	_ = DecodeConnect(c, p)
	if c.AuthorizerLen > maxAuthorizer {
		m.fault(now, m.protoErr("connect", fmt.Errorf("%w: authorizer of %d bytes", ErrTooBig, c.AuthorizerLen)))
		return false
	}
	p = m.rx.take(ConnectLen + int(c.AuthorizerLen))
	if p == nil {
		return false
	}
	c.Authorizer = bytes.Clone(p[ConnectLen:])
	if c.HostType > 0xff {
		m.fault(now, m.protoErr("connect", fmt.Errorf("host type %d", c.HostType)))
		return false
	}
	m.peerType = uint8(c.HostType)
	m.policy = m.env.Policy(m.peerType)
	var reply ConnectReply
	reply.ProtocolVersion = ProtoVersion(m.cfg.Me.Type, m.peerType, false)
	if c.ProtocolVersion != reply.ProtocolVersion {
		m.sendReply(TagBadProtoVer, &reply)
		return true
	}
	if missing := (m.policy.FeaturesRequired | m.cfg.RequiredFeatures) &^ c.Features; missing != 0 {
		m.sendReply(TagFeatures, &reply)
		return true
	}
	if !m.verifyAuthorizer(now, &reply) {
		return m.hasSocket
	}
	// Ceph skips the lookup for an incoming lossy client; looking it up
	// too stops its previous connection (replaced: the old one's
	// undispatched messages are dropped) before the new one delivers, so
	// that a lossy peer's connections never overtake each other, as on
	// msgr2 here.
	m.ph = phLookup
	m.query = &v2.Query{PeerAddrs: m.peerAddrs, PeerType: m.peerType, V1: &query{
		globalSeq: c.GlobalSeq, connectSeq: c.ConnectSeq, features: c.Features,
		peerAddr: m.peerAddrs[0], resetcheck: m.policy.ResetCheck,
	}}
	m.rd.Emit(v2.Lookup{Query: m.query})
	return false
}

// verifyAuthorizer runs the server's auth handler on the connect's
// authorizer. It returns true when the connect may proceed; otherwise it
// has sent BADAUTHORIZER or CHALLENGE_AUTHORIZER (or faulted).
func (m *Machine) verifyAuthorizer(now time.Time, reply *ConnectReply) bool {
	c := &m.conn
	m.sessKey, m.authGID = nil, 0
	if c.AuthorizerProto == 0 && len(c.Authorizer) == 0 && m.cfg.Me.Type == encoding.EntityTypeMon {
		// A client of a mon authenticates in MAuth messages.
		m.authedPresent = false
		return true
	}
	if m.authedPresent && c.AuthorizerProto == m.authedMethod && bytes.Equal(c.Authorizer, m.authedBytes) {
		// The same authorizer again on this socket (a retried connect).
		m.setServerSession(m.authedMethod, m.authedResult)
		reply.Authorizer = m.authedReply
		return true
	}
	if m.authS == nil || m.authedPresent {
		h, err := m.env.AuthServer(m.peerType)
		if err != nil {
			m.fault(now, fmt.Errorf("%w: %w", v2.ErrAuth, err))
			return false
		}
		m.authS, m.challenged, m.authedPresent = h, false, false
	}
	var rep auth.ServerReply
	var err error
	if m.challenged {
		rep, err = m.authS.HandleRequestMore(c.Authorizer)
	} else {
		rep, err = m.authS.HandleRequest(c.AuthorizerProto, []uint32{auth.ModeCRC}, c.Authorizer)
	}
	if err != nil {
		// The handler starts over after a refusal; so does the client.
		m.authS, m.challenged = nil, false
		m.sendReply(TagBadAuthorizer, reply)
		return false
	}
	if !rep.Done {
		m.challenged = true
		reply.Authorizer = rep.Payload
		m.sendReply(TagChallengeAuthorizer, reply)
		return false
	}
	m.authedPresent, m.authedMethod = true, c.AuthorizerProto
	m.authedBytes, m.authedReply, m.authedResult = c.Authorizer, rep.Payload, rep.Result
	m.setServerSession(c.AuthorizerProto, rep.Result)
	reply.Authorizer = rep.Payload
	return true
}

func (m *Machine) setServerSession(method uint32, r auth.Result) {
	m.authGID = r.GlobalID
	if method == auth.MethodCephX && m.cfg.SignMessages && len(r.SessionKey) > 0 {
		m.sessKey = r.SessionKey
	}
}

// sendReply is send_connect_message_reply: a reply that is not the final
// one; the client sends another connect (or gives up).
func (m *Machine) sendReply(tag Tag, r *ConnectReply) {
	r.Tag = tag
	r.Features = (m.conn.Features & m.supported) | m.policy.FeaturesRequired | m.cfg.RequiredFeatures
	m.write(AppendConnectReply(make([]byte, 0, ConnectReplyLen+len(r.Authorizer)), r))
	m.ph = phAccConnect
}

// open is ProtocolV1::open: a new or resumed session on this socket.
func (m *Machine) open(now time.Time) {
	c := &m.conn
	m.connectSeq = c.ConnectSeq + 1
	m.peerGlobalSeq = c.GlobalSeq
	r := ConnectReply{Authorizer: m.authedReply}
	if !m.authedPresent {
		r.Authorizer = nil
	}
	waitSeq := encoding.HasFeatures(c.Features, encoding.FeatureReconnectSeq) && !m.resetFromPeer
	if waitSeq {
		r.Tag = TagSeq
	} else {
		r.Tag = TagReady
		m.discardRequeuedUpTo(0)
		m.resetFromPeer = false
		m.inSeq = 0
	}
	r.Features = m.supported
	r.GlobalSeq = uint32(m.env.NextGlobalSeq(0))
	r.ConnectSeq = m.connectSeq
	r.ProtocolVersion = ProtoVersion(m.cfg.Me.Type, m.peerType, false)
	if m.policy.Lossy {
		r.Flags |= FlagLossy
	}
	m.features = m.supported & c.Features
	m.msgAuth = encoding.HasFeatures(m.features, encoding.FeatureMsgAuth)
	if !encoding.HasFeatures(m.features, encoding.FeatureCephxV2) {
		m.sessKey = nil
	}
	b := AppendConnectReply(make([]byte, 0, ConnectReplyLen+len(r.Authorizer)+8), &r)
	if waitSeq {
		b = binary.LittleEndian.AppendUint64(b, m.inSeq)
	}
	m.write(b)
	m.established()
	m.onceReady = true
	if waitSeq {
		m.ph = phAccSeq
		return
	}
	m.ready(now)
}

// handleSeq is handle_seq: the client's in_seq after a SEQ reply.
func (m *Machine) handleSeq(now time.Time) bool {
	p := m.rx.take(8)
	if p == nil {
		return false
	}
	m.discardRequeuedUpTo(binary.LittleEndian.Uint64(p))
	m.ready(now)
	return m.ph == phReady
}

package cephx

import (
	"fmt"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// MonHandler is the client side of cephx on one mon connection. It is an
// auth.ClientHandler; get one from Session.MonHandler for each connection.
type MonHandler struct {
	s     *Session
	modes []uint32

	state           int
	globalID        uint64
	oldTicket       TicketBlob
	oldKey          auth.CryptoKey
	serverChallenge uint64
	result          authReplyResult
	doneGlobalID    uint64
}

const (
	monStart = iota
	monWaitChallenge
	monWaitDone
	monDone
)

// MonHandler returns a handler for a new mon connection that will offer
// modes (in preference order; nil means crc). A session that already has a
// global id and auth ticket reclaims them, as Ceph's MonClient does when it
// reconnects.
func (s *Session) MonHandler(modes []uint32) *MonHandler {
	if len(modes) == 0 {
		modes = []uint32{auth.ModeCRC}
	}
	return &MonHandler{s: s, modes: modes}
}

// Start implements auth.ClientHandler.
func (h *MonHandler) Start() (uint32, []uint32, []byte, error) {
	if h.state != monStart {
		return 0, nil, nil, fmt.Errorf("%w: Start called twice", auth.ErrUnexpected)
	}
	h.s.mu.Lock()
	h.globalID = h.s.globalID
	if h.globalID != 0 {
		t := h.s.tickets[ServiceAuth]
		h.oldTicket, h.oldKey = t.Blob, t.SessionKey
	}
	h.s.mu.Unlock()
	h.state = monWaitChallenge
	p := auth.AppendMonRequest(nil, auth.MonRequest{Name: h.s.name, GlobalID: h.globalID})
	return auth.MethodCephX, h.modes, p, nil
}

// HandleReplyMore implements auth.ClientHandler: it takes the mon's
// challenge and answers with the key proof and the tickets wanted.
func (h *MonHandler) HandleReplyMore(payload []byte) ([]byte, error) {
	if h.state != monWaitChallenge {
		return nil, fmt.Errorf("%w: AUTH_REPLY_MORE in cephx state %d", auth.ErrUnexpected, h.state)
	}
	d := encoding.NewDecoder(payload)
	d.U8()
	h.serverChallenge = d.U64()
	if err := d.Err(); err != nil {
		return nil, wrapDecodeErr("server challenge", err)
	}
	// The auth ticket is always renewed on a new connection; other
	// tickets only when missing or due.
	need := h.s.Need() | ServiceAuth
	req, err := h.s.buildAuthenticate(h.serverChallenge, h.oldTicket, need)
	if err != nil {
		return nil, err
	}
	h.state = monWaitDone
	return req, nil
}

// HandleDone implements auth.ClientHandler: it decrypts the tickets and the
// connection secret and stores the tickets in the session.
func (h *MonHandler) HandleDone(globalID uint64, conMode uint32, payload []byte) (auth.Result, error) {
	if h.state != monWaitDone {
		return auth.Result{}, fmt.Errorf("%w: AUTH_DONE in cephx state %d", auth.ErrUnexpected, h.state)
	}
	if err := checkMode(conMode, h.modes); err != nil {
		return auth.Result{}, err
	}
	d := encoding.NewDecoder(payload)
	typ := d.U16()
	status := d.I32()
	if err := d.Err(); err != nil {
		return auth.Result{}, wrapDecodeErr("auth done", err)
	}
	if typ != ReqGetAuthSessionKey {
		return auth.Result{}, fmt.Errorf("%w: reply type %#x to get_auth_session_key", ErrProtocol, typ)
	}
	if status < 0 {
		return auth.Result{}, fmt.Errorf("%w: mon replied %d", auth.ErrDenied, status)
	}
	r, err := h.s.parseAuthReply(d, h.oldKey)
	if err != nil {
		return auth.Result{}, err
	}
	if conMode == auth.ModeSecure && len(r.connSecret) < 40 {
		return auth.Result{}, fmt.Errorf("%w: secure mode with a %d-byte connection secret", ErrProtocol, len(r.connSecret))
	}
	h.result = r
	h.state = monDone
	h.doneGlobalID = globalID
	h.commit(globalID)
	return auth.Result{
		GlobalID:         globalID,
		ConMode:          conMode,
		SessionKey:       r.sessionKey.Secret,
		ConnectionSecret: r.connSecret,
	}, nil
}

// commit makes this connection's tickets and challenge the session's.
func (h *MonHandler) commit(globalID uint64) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.globalID = globalID
	h.s.serverChallenge = h.serverChallenge
	h.s.commitLocked(h.result.tickets)
}

// Adopt makes h's tickets, global id and challenge the session's again. A
// MonClient hunting over several connections calls it for the connection
// it keeps, so that renewals go through that connection's mon state (each
// finished handler stores its tickets; the last one to finish wins).
func (s *Session) Adopt(h *MonHandler) error {
	if h.s != s || h.state != monDone {
		return fmt.Errorf("%w: Adopt of an unfinished or foreign handler", auth.ErrUnexpected)
	}
	h.commit(h.doneGlobalID)
	return nil
}

// HandleBadMethod implements auth.ClientHandler: cephx is the only method
// this handler speaks, so a refusal ends the exchange with an error that
// matches auth.ErrDenied and carries the mon's errno (-EPERM for a wrong
// key or an unknown entity).
func (h *MonHandler) HandleBadMethod(method uint32, result int32, methods, modes []uint32) (uint32, []uint32, []byte, error) {
	return 0, nil, nil, &auth.BadMethodError{Method: method, Result: result, AllowedMethods: methods, AllowedModes: modes}
}

// checkMode refuses an AUTH_DONE whose mode the client did not offer.
func checkMode(mode uint32, offered []uint32) error {
	for _, m := range offered {
		if m == mode {
			return nil
		}
	}
	return fmt.Errorf("%w: server chose connection mode %d, not offered", ErrProtocol, mode)
}

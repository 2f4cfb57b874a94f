package cephx

import (
	"fmt"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// AuthorizerHandler is the client side of cephx on a connection to an OSD,
// a mgr or an MDS: it presents the service's ticket with an authorizer,
// answers the CEPHX_V2 challenge, and checks the service's reply. It is an
// auth.ClientHandler; get one from Session.ServiceHandler.
type AuthorizerHandler struct {
	s       *Session
	service uint32
	modes   []uint32

	state    int
	ticket   Ticket
	globalID uint64
	nonce    uint64
	base     []byte // the authorizer up to its encrypted part
}

// ServiceHandler returns a handler for a new connection to a service
// (ServiceOSD, ServiceMgr, ServiceMDS) offering modes (nil means crc). The
// session's ticket is read when Start is called.
func (s *Session) ServiceHandler(service uint32, modes []uint32) *AuthorizerHandler {
	if len(modes) == 0 {
		modes = []uint32{auth.ModeCRC}
	}
	return &AuthorizerHandler{s: s, service: service, modes: modes}
}

// Start implements auth.ClientHandler.
func (h *AuthorizerHandler) Start() (uint32, []uint32, []byte, error) {
	if h.state != 0 {
		return 0, nil, nil, fmt.Errorf("%w: Start called twice", auth.ErrUnexpected)
	}
	t, err := h.s.Ticket(h.service)
	if err != nil {
		return 0, nil, nil, err
	}
	nonce, err := h.s.randU64()
	if err != nil {
		return 0, nil, nil, err
	}
	h.ticket, h.nonce, h.globalID = t, nonce, h.s.GlobalID()
	h.base = appendAuthorizerBase(nil, h.globalID, h.service, t.Blob)
	p, err := appendSealed(append([]byte(nil), h.base...), t.SessionKey, appendAuthorize(nil, authorize{Nonce: nonce}))
	if err != nil {
		return 0, nil, nil, err
	}
	h.state = 1
	return auth.MethodCephX, h.modes, p, nil
}

// appendAuthorizerBase appends the clear part of an authorizer: version,
// global id, service and ticket.
func appendAuthorizerBase(b []byte, globalID uint64, service uint32, t TicketBlob) []byte {
	b = append(b, auth.AuthModeAuthorizer)
	b = encoding.AppendU64(b, globalID)
	b = encoding.AppendU32(b, service)
	return appendTicketBlob(b, t)
}

// HandleReplyMore implements auth.ClientHandler: it answers the service's
// challenge with challenge+1, as CEPHX_V2 requires.
func (h *AuthorizerHandler) HandleReplyMore(payload []byte) ([]byte, error) {
	if h.state != 1 {
		return nil, fmt.Errorf("%w: AUTH_REPLY_MORE in authorizer state %d", auth.ErrUnexpected, h.state)
	}
	a := authorize{Nonce: h.nonce}
	if len(payload) > 0 {
		body, err := openEnc(h.ticket.SessionKey, payload)
		if err != nil {
			return nil, fmt.Errorf("cephx: authorizer challenge: %w", err)
		}
		d := encoding.NewDecoder(body)
		d.U8()
		ch := d.U64()
		if err := d.Err(); err != nil {
			return nil, wrapDecodeErr("authorizer challenge", err)
		}
		a.HaveChallenge, a.ServerChallengePlusOne = true, ch+1
	}
	p, err := appendSealed(append([]byte(nil), h.base...), h.ticket.SessionKey, appendAuthorize(nil, a))
	if err != nil {
		return nil, err
	}
	h.state = 2
	return p, nil
}

// ErrBadReply reports a service whose reply does not prove it read the
// ticket (wrong nonce). It matches auth.ErrDenied.
var ErrBadReply = fmt.Errorf("%w: cephx authorizer reply does not match", auth.ErrDenied)

// HandleDone implements auth.ClientHandler: the service proves it holds the
// ticket's session key by returning nonce+1, and sends the connection
// secret.
func (h *AuthorizerHandler) HandleDone(globalID uint64, conMode uint32, payload []byte) (auth.Result, error) {
	if h.state != 1 && h.state != 2 {
		return auth.Result{}, fmt.Errorf("%w: AUTH_DONE in authorizer state %d", auth.ErrUnexpected, h.state)
	}
	if err := checkMode(conMode, h.modes); err != nil {
		return auth.Result{}, err
	}
	d := encoding.NewDecoder(payload)
	body := openSealed(d, h.ticket.SessionKey)
	bd := encoding.NewDecoder(body)
	r := decodeAuthorizeReply(bd)
	if err := d.Err(); err != nil {
		return auth.Result{}, wrapDecodeErr("authorizer reply", err)
	}
	if err := bd.Err(); err != nil {
		return auth.Result{}, wrapDecodeErr("authorizer reply", err)
	}
	if r.NoncePlusOne != h.nonce+1 {
		return auth.Result{}, ErrBadReply
	}
	if conMode == auth.ModeSecure && len(r.ConnectionSecret) < 40 {
		return auth.Result{}, fmt.Errorf("%w: secure mode with a %d-byte connection secret", ErrProtocol, len(r.ConnectionSecret))
	}
	h.state = 3
	return auth.Result{
		GlobalID:         globalID,
		ConMode:          conMode,
		SessionKey:       h.ticket.SessionKey.Secret,
		ConnectionSecret: r.ConnectionSecret,
	}, nil
}

// HandleBadMethod implements auth.ClientHandler. A service refuses a ticket
// it cannot read with -EACCES; the caller may renew tickets and reconnect.
func (h *AuthorizerHandler) HandleBadMethod(method uint32, result int32, methods, modes []uint32) (uint32, []uint32, []byte, error) {
	return 0, nil, nil, &auth.BadMethodError{Method: method, Result: result, AllowedMethods: methods, AllowedModes: modes}
}

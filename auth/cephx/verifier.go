package cephx

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// AuthorizerServerConfig configures the side of a service (an OSD, a mgr)
// that checks the authorizers clients present.
type AuthorizerServerConfig struct {
	Service uint32          // this service's id, e.g. ServiceOSD
	Secrets *ServiceSecrets // the secrets the mon seals this service's tickets with
	Modes   []uint32        // allowed modes; nil: crc and secure
	Rand    io.Reader       // nil: crypto/rand
}

// AuthorizerServer verifies cephx authorizers, always with the CEPHX_V2
// challenge round. Safe for concurrent use; each connection gets a Handler.
type AuthorizerServer struct {
	cfg AuthorizerServerConfig
}

// NewAuthorizerServer checks cfg and fills in its defaults.
func NewAuthorizerServer(cfg AuthorizerServerConfig) (*AuthorizerServer, error) {
	if cfg.Secrets == nil {
		return nil, errors.New("cephx: authorizer server needs service secrets")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []uint32{auth.ModeCRC, auth.ModeSecure}
	}
	return &AuthorizerServer{cfg: cfg}, nil
}

// Handler returns the server side of one connection.
func (s *AuthorizerServer) Handler() *AuthorizerServerHandler {
	return &AuthorizerServerHandler{srv: s}
}

// AuthorizerServerHandler is an auth.ServerHandler for one connection to a
// service.
type AuthorizerServerHandler struct {
	srv       *AuthorizerServer
	mode      uint32
	challenge uint64 // non-zero once sent
	done      bool
}

// refuse resets h (the client may start over after AUTH_BAD_METHOD) and
// returns the refusal.
func (h *AuthorizerServerHandler) refuse(errno int32, why string) error {
	*h = AuthorizerServerHandler{srv: h.srv}
	return fmt.Errorf("%w: cephx authorizer: %s", &auth.BadMethodError{
		Method: auth.MethodCephX, Result: -errno,
		AllowedMethods: []uint32{auth.MethodCephX}, AllowedModes: h.srv.cfg.Modes,
	}, why)
}

// HandleRequest implements auth.ServerHandler. Any authorizer that does
// not check out is refused with -EACCES, as Ceph's services do.
func (h *AuthorizerServerHandler) HandleRequest(method uint32, preferred []uint32, payload []byte) (auth.ServerReply, error) {
	if h.mode != auth.ModeUnknown || h.done {
		return auth.ServerReply{}, fmt.Errorf("%w: second AUTH_REQUEST", auth.ErrUnexpected)
	}
	if method != auth.MethodCephX {
		return auth.ServerReply{}, h.refuse(auth.EOPNOTSUPP, "method not allowed")
	}
	h.mode = auth.PickMode(preferred, h.srv.cfg.Modes)
	if h.mode == auth.ModeUnknown {
		return auth.ServerReply{}, h.refuse(auth.EOPNOTSUPP, "no common connection mode")
	}
	return h.verify(payload, false)
}

// HandleRequestMore implements auth.ServerHandler: the authorizer again,
// now answering the challenge.
func (h *AuthorizerServerHandler) HandleRequestMore(payload []byte) (auth.ServerReply, error) {
	if h.challenge == 0 || h.done {
		return auth.ServerReply{}, fmt.Errorf("%w: AUTH_REQUEST_MORE without a challenge", auth.ErrUnexpected)
	}
	return h.verify(payload, true)
}

func (h *AuthorizerServerHandler) verify(payload []byte, more bool) (auth.ServerReply, error) {
	d := encoding.NewDecoder(payload)
	v := d.U8()
	gid := d.U64()
	svc := d.U32()
	tb := decodeTicketBlob(d)
	if err := d.Err(); err != nil {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "bad authorizer: "+err.Error())
	}
	if v < auth.AuthModeAuthorizer || v > auth.AuthModeAuthorizer+8 {
		return auth.ServerReply{}, h.refuse(auth.EACCES, fmt.Sprintf("auth mode %d is not an authorizer", v))
	}
	if svc != h.srv.cfg.Service {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "ticket for another service")
	}
	info, ok := openTicketWith(h.srv.cfg.Secrets, svc, tb)
	if !ok {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "ticket does not decrypt")
	}
	if info.Ticket.GlobalID != gid {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "global id does not match the ticket")
	}
	body := openSealed(d, info.SessionKey)
	a := decodeAuthorize(encoding.NewDecoder(body))
	if err := d.Err(); err != nil {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "authorize does not decrypt")
	}
	if !more {
		var b [8]byte
		for h.challenge == 0 {
			if _, err := io.ReadFull(h.srv.cfg.Rand, b[:]); err != nil {
				return auth.ServerReply{}, fmt.Errorf("cephx: random: %w", err)
			}
			h.challenge = binary.LittleEndian.Uint64(b[:])
		}
		p, err := sealEnc(info.SessionKey, append([]byte{1}, b[:]...))
		if err != nil {
			return auth.ServerReply{}, err
		}
		return auth.ServerReply{Payload: p, Result: auth.Result{GlobalID: gid, ConMode: h.mode}}, nil
	}
	if !a.HaveChallenge || a.ServerChallengePlusOne != h.challenge+1 {
		return auth.ServerReply{}, h.refuse(auth.EACCES, "wrong challenge answer")
	}
	var secret []byte
	if h.mode == auth.ModeSecure {
		secret = make([]byte, secureSecretLen)
		if _, err := io.ReadFull(h.srv.cfg.Rand, secret); err != nil {
			return auth.ServerReply{}, fmt.Errorf("cephx: random: %w", err)
		}
	}
	p, err := appendSealed(nil, info.SessionKey, appendAuthorizeReply(nil, authorizeReply{NoncePlusOne: a.Nonce + 1, ConnectionSecret: secret}))
	if err != nil {
		return auth.ServerReply{}, err
	}
	h.done = true
	return auth.ServerReply{
		Done:     true,
		Payload:  p,
		Result:   auth.Result{GlobalID: gid, ConMode: h.mode, SessionKey: info.SessionKey.Secret, ConnectionSecret: secret},
		PeerType: info.Ticket.Name.Type,
		PeerName: info.Ticket.Name.String(),
	}, nil
}

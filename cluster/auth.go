package cluster

import (
	"fmt"
	"slices"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
)

// authPolicy is what a daemon allows its peers: the methods and connection
// modes, and the cephx side it runs (a mon authenticates principals; an OSD
// checks the authorizers of tickets the mon issued).
type authPolicy struct {
	methods []uint32
	modes   []uint32
	mon     bool
	gids    *auth.GlobalIDs
	cx      *cephx.Server           // mon, cephx
	az      *cephx.AuthorizerServer // OSD, cephx
	keyring *auth.Keyring           // the principals and their caps (cephx)
}

// handler is the messenger's AuthServer.
func (p *authPolicy) handler(uint8) (auth.ServerHandler, error) {
	return &authHandler{p: p}, nil
}

// authHandler runs one connection's exchange with the method the client
// picks, if allowed. Owned by the connection's event loop; after the
// exchange the mon's dispatcher reads cur for ticket renewals (MAuth),
// serialised by the dispatch queue.
type authHandler struct {
	p   *authPolicy
	cur auth.ServerHandler
}

func (h *authHandler) refuse(method uint32) error {
	return &auth.BadMethodError{Method: method, Result: -auth.EOPNOTSUPP, AllowedMethods: h.p.methods, AllowedModes: h.p.modes}
}

// HandleRequest implements auth.ServerHandler; every AUTH_REQUEST starts over.
func (h *authHandler) HandleRequest(method uint32, preferred []uint32, payload []byte) (auth.ServerReply, error) {
	h.cur = nil
	if !slices.Contains(h.p.methods, method) {
		return auth.ServerReply{}, h.refuse(method)
	}
	switch method {
	case auth.MethodNone:
		if !slices.Contains(h.p.modes, auth.ModeCRC) {
			return auth.ServerReply{}, h.refuse(method) // none is crc only, as in Ceph
		}
		h.cur = &auth.NoneServer{Mon: h.p.mon, GlobalIDs: h.p.gids, AllowedModes: []uint32{auth.ModeCRC}}
	case auth.MethodCephX:
		if h.p.mon {
			h.cur = h.p.cx.Handler()
		} else {
			h.cur = h.p.az.Handler()
		}
	}
	return h.cur.HandleRequest(method, preferred, payload)
}

// HandleRequestMore implements auth.ServerHandler.
func (h *authHandler) HandleRequestMore(payload []byte) (auth.ServerReply, error) {
	if h.cur == nil {
		return auth.ServerReply{}, fmt.Errorf("%w: AUTH_REQUEST_MORE before AUTH_REQUEST", auth.ErrUnexpected)
	}
	return h.cur.HandleRequestMore(payload)
}

// entityTypeName names a peer type for logs.
func entityTypeName(t uint8) string { return encoding.EntityTypeName(t) }

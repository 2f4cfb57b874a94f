package msgr

import (
	"strings"

	"github.com/gomsgr/msgr/auth"
)

// AuthInfo is what authentication established for a connection's current
// session (the latest socket's exchange).
type AuthInfo struct {
	// GlobalID is the global id of AUTH_DONE. On an accepted connection
	// it is the peer's (Ceph's Connection::peer_global_id); on an
	// outgoing one it is ours as the server gave it (a mon assigns a new
	// client its global id there).
	GlobalID uint64
	// ConMode is auth.ModeCRC or auth.ModeSecure.
	ConMode uint32
	// Entity is, on an accepted connection, the principal the auth server
	// authenticated ("client.admin"), as its final reply names it; zero
	// on an outgoing connection, and when the handler names nobody.
	Entity auth.EntityName
}

// AuthInfo returns what authentication established for the current
// session; zero before the first session opens.
func (c *Conn) AuthInfo() AuthInfo { return c.info.Load().auth }

// PeerGlobalID returns the peer's global id on an accepted connection
// (Ceph's Connection::peer_global_id), 0 on an outgoing one (whose
// AuthInfo().GlobalID is our own).
func (c *Conn) PeerGlobalID() uint64 {
	if i := c.info.Load(); i.accepted {
		return i.auth.GlobalID
	}
	return 0
}

// ConMode returns the connection mode of the current session:
// auth.ModeCRC, auth.ModeSecure, or auth.ModeUnknown before it opens.
func (c *Conn) ConMode() uint32 { return c.info.Load().auth.ConMode }

// AuthServerHandler returns, on an accepted connection, the handler (made
// by Config.AuthServer) whose exchange authenticated the current session,
// so that a mon can answer the requests a client sends in MAuth on it
// (cephx.ServerHandler.HandleTicketRequest); nil on an outgoing
// connection or before the session opens. The connection's loop no longer
// calls it once the session is open; calls on it must be serialised by
// the caller (the queued dispatch goroutine is one goroutine). A session
// resumed on a new socket was authenticated anew, by a new handler.
func (c *Conn) AuthServerHandler() auth.ServerHandler { return c.info.Load().authSrv }

// sockAuth is what the server side's exchange on one socket ended with.
type sockAuth struct {
	handler auth.ServerHandler
	entity  auth.EntityName
}

// connEnv is a server connection's Machine environment: the messenger's,
// except that the auth handlers it makes report to that connection.
type connEnv struct {
	*env
	c *Conn // set once the Conn exists, before its Machine first runs
}

func (e *connEnv) AuthServer(peerType uint8) (auth.ServerHandler, error) {
	h, err := e.env.AuthServer(peerType)
	if err != nil {
		return nil, err
	}
	return &authRecorder{h: h, c: e.c}, nil
}

// authRecorder passes an exchange through to the user's handler and keeps
// the entity its final reply names: the Machine reports only the global id
// and mode. Called on the connection's loop.
type authRecorder struct {
	h auth.ServerHandler
	c *Conn
}

func (r *authRecorder) HandleRequest(method uint32, preferred []uint32, payload []byte) (auth.ServerReply, error) {
	rep, err := r.h.HandleRequest(method, preferred, payload)
	r.note(rep, err)
	return rep, err
}

func (r *authRecorder) HandleRequestMore(payload []byte) (auth.ServerReply, error) {
	rep, err := r.h.HandleRequestMore(payload)
	r.note(rep, err)
	return rep, err
}

func (r *authRecorder) note(rep auth.ServerReply, err error) {
	if err != nil || !rep.Done {
		return
	}
	// PeerName is "type.id"; the id may hold dots.
	id := rep.PeerName
	if _, after, ok := strings.Cut(id, "."); ok {
		id = after
	}
	var ent auth.EntityName
	if rep.PeerName != "" {
		ent = auth.EntityName{Type: rep.PeerType, ID: id}
	}
	r.c.authDone = sockAuth{handler: r.h, entity: ent}
}

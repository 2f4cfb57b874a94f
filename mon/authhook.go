package mon

import (
	"fmt"
	"sync/atomic"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// AuthHook lets a Client hear that a monitor refused its credentials:
// the messenger reports an exchange that fails before a session opens
// only by closing the connection, so the Client watches the auth handlers
// themselves (Ceph's MonClient is the AuthClient for the same reason).
// Wrap the credentials given to the messenger, then Attach the Client.
type AuthHook struct {
	c atomic.Pointer[Client]
}

// Wrap returns cred with its mon handlers watched.
func (h *AuthHook) Wrap(cred auth.Credentials) auth.Credentials { return hookedCred{cred, h} }

// Attach makes failures reach c.
func (h *AuthHook) Attach(c *Client) { h.c.Store(c) }

func (h *AuthHook) failed(err error) {
	if c := h.c.Load(); c != nil {
		// Off the connection's event loop: failing marks connections down.
		go c.authFailed(err)
	}
}

type hookedCred struct {
	auth.Credentials
	h *AuthHook
}

func (hc hookedCred) ClientHandler(peerType uint32) (auth.ClientHandler, error) {
	ch, err := hc.Credentials.ClientHandler(peerType)
	if err != nil || peerType != uint32(encoding.EntityTypeMon) {
		return ch, err
	}
	return hookedHandler{ch, hc.h}, nil
}

// GlobalID passes through to the credentials.
func (hc hookedCred) GlobalID() uint64 {
	if g, ok := hc.Credentials.(interface{ GlobalID() uint64 }); ok {
		return g.GlobalID()
	}
	return 0
}

type hookedHandler struct {
	auth.ClientHandler
	h *AuthHook
}

func (hh hookedHandler) HandleReplyMore(p []byte) ([]byte, error) {
	out, err := hh.ClientHandler.HandleReplyMore(p)
	if err != nil {
		hh.h.failed(err)
	}
	return out, err
}

func (hh hookedHandler) HandleDone(gid uint64, mode uint32, p []byte) (auth.Result, error) {
	r, err := hh.ClientHandler.HandleDone(gid, mode, p)
	if err != nil {
		hh.h.failed(err)
	}
	return r, err
}

func (hh hookedHandler) HandleBadMethod(method uint32, result int32, methods, modes []uint32) (uint32, []uint32, []byte, error) {
	m, md, p, err := hh.ClientHandler.HandleBadMethod(method, result, methods, modes)
	if err != nil {
		hh.h.failed(err)
	}
	return m, md, p, err
}

func (c *Client) authFailed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.failLocked(fmt.Errorf("%w (%w): %w", ErrAuthFailed, auth.ErrDenied, err))
}

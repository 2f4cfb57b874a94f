package mon

import (
	"fmt"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
)

// auth1 is the authentication of one msgr1 mon connection. Over msgr1 the
// handshake carries no authorizer to a mon: the MonClient authenticates
// in MAuth messages (MonConnection::start, _negotiate, authenticate). The
// exchange is msgr2's with other envelopes: a first MAuth (protocol 0)
// lists the methods and names us; the mon's MAuthReply picks the method
// and, for cephx, carries the server challenge (msgr2's AUTH_REPLY_MORE);
// the next MAuth carries the key proof (AUTH_REQUEST_MORE), and the
// mon's reply the tickets (AUTH_DONE's payload, with an empty connection
// secret). The same auth.ClientHandler runs both.
type auth1 struct {
	h       auth.ClientHandler
	method  uint32
	replies int
}

// startAuth1Locked sends the first MAuth on a new msgr1 mon connection
// (which also starts the connection).
func (c *Client) startAuth1Locked(conn Conn) error {
	h, err := c.cred.ClientHandler(uint32(encoding.EntityTypeMon))
	if err != nil {
		return err
	}
	method, _, req, err := h.Start()
	if err != nil {
		return err
	}
	// The msgr2 request is {AUTH_MODE_MON, name, global id}; msgr1's
	// initial payload is {1, methods, name, global id}.
	d := encoding.NewDecoder(req)
	r := auth.DecodeMonRequest(d)
	if err := d.Err(); err != nil {
		return fmt.Errorf("mon: msgr1 auth request: %w", err)
	}
	p := []byte{1}
	p = encoding.AppendU32(p, 1)
	p = encoding.AppendU32(p, method)
	p = auth.AppendEntityName(p, r.Name)
	p = encoding.AppendU64(p, r.GlobalID)
	if c.auth1 == nil {
		c.auth1 = map[Conn]*auth1{}
	}
	c.auth1[conn] = &auth1{h: h, method: method}
	return conn.Send(&messages.MAuth{Paxos: messages.ClientPaxos, Protocol: 0, Payload: p, MonMapEpoch: c.monmapEpochLocked()})
}

func (c *Client) monmapEpochLocked() uint32 {
	if c.monmap != nil {
		return c.monmap.Epoch
	}
	return 0
}

// handleAuth1Locked takes an MAuthReply on a hunting msgr1 connection.
func (c *Client) handleAuth1Locked(conn Conn, m *messages.MAuthReply) {
	a := c.auth1[conn]
	if a == nil {
		return
	}
	fail := func(err error) {
		delete(c.auth1, conn)
		delete(c.hunting, conn)
		conn.MarkDown()
		c.noteFailureLocked(conn, err)
		if len(c.hunting) == 0 && c.active == nil && c.fatal == nil && !c.closed {
			c.armHuntLocked(c.opts.HuntInterval / 4)
		}
	}
	if m.Result < 0 {
		err := fmt.Errorf("mon refused authentication: %s (%d)", m.ResultMsg, m.Result)
		if m.Result == -auth.EACCES || m.Result == -auth.EPERM {
			err = fmt.Errorf("%w: %w", auth.ErrDenied, err)
		}
		fail(err)
		return
	}
	if m.Protocol != a.method {
		fail(fmt.Errorf("%w: mon chose auth method %d, we offered %d", auth.ErrDenied, m.Protocol, a.method))
		return
	}
	a.replies++
	if a.method == auth.MethodCephX && a.replies == 1 {
		more, err := a.h.HandleReplyMore(m.ResultBL)
		if err != nil {
			fail(err)
			return
		}
		if err := conn.Send(&messages.MAuth{Paxos: messages.ClientPaxos, Protocol: a.method, Payload: more, MonMapEpoch: c.monmapEpochLocked()}); err != nil {
			fail(err)
		}
		return
	}
	if _, err := a.h.HandleDone(m.GlobalID, auth.ModeCRC, m.ResultBL); err != nil {
		fail(err)
		return
	}
	delete(c.auth1, conn)
	c.sessionOpenLocked(conn)
	// As over msgr2, the monmap first.
	if err := conn.Send(&messages.MMonGetMap{}); err != nil {
		c.log.Warn("mon: sending MMonGetMap", "err", err)
	}
}

package mon

import (
	"fmt"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/messages"
)

// ticker renews tickets before they expire (MonClient::tick →
// _check_auth_tickets).
func (c *Client) ticker() {
	defer close(c.tickDone)
	t := time.NewTicker(c.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-c.tickStop:
			return
		case <-t.C:
			c.tick()
		}
	}
}

func (c *Client) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active == nil || c.closed {
		return
	}
	now := time.Now()
	// MonClient::tick: keepalives, and a mon that stopped answering them
	// is left for another.
	if now.Sub(c.lastPing) >= c.opts.PingInterval {
		c.lastPing = now
		c.active.SendKeepalive()
	}
	ref := c.sessionAt
	if ack := c.active.LastKeepaliveAck(); ack.After(ref) {
		ref = ack
	}
	if now.Sub(ref) > c.opts.PingTimeout {
		c.log.Warn("mon: no keepalive answer; hunting", "mon", c.active.PeerAddrs().String(), "silent", now.Sub(ref))
		c.lastErr = fmt.Errorf("%v: %w: no keepalive answer for %v", c.active.PeerAddrs(), msgr.ErrTimeout, now.Sub(ref))
		c.renewing = false
		c.reopenLocked()
		return
	}
	// _check_auth_tickets: renew before expiry, over MAuth.
	r, ok := c.cred.(auth.Renewer)
	if !ok || c.renewing || now.Before(r.NextRenewal()) {
		return
	}
	payload, ok, err := r.RenewalRequest()
	if err != nil {
		c.log.Warn("mon: ticket renewal", "err", err)
		return
	}
	if !ok {
		return
	}
	c.renewing = true
	c.sendAuthLocked(payload)
}

func (c *Client) sendAuthLocked(payload []byte) {
	var epoch uint32
	if c.monmap != nil {
		epoch = c.monmap.Epoch
	}
	m := &messages.MAuth{Paxos: messages.ClientPaxos, Protocol: auth.MethodCephX, Payload: payload, MonMapEpoch: epoch}
	if err := c.active.Send(m); err != nil {
		c.renewing = false
		c.log.Warn("mon: sending MAuth", "err", err)
	}
}

func (c *Client) handleAuthReplyLocked(m *messages.MAuthReply) {
	r, ok := c.cred.(auth.Renewer)
	if !ok || !c.renewing {
		return
	}
	next, err := r.HandleRenewalReply(m.Result, m.ResultBL)
	if err != nil {
		c.renewing = false
		c.log.Warn("mon: ticket renewal refused", "err", err, "msg", m.ResultMsg)
		return
	}
	if next != nil {
		c.sendAuthLocked(next)
		return
	}
	c.renewing = false
	c.renewals++
	c.log.Debug("mon: tickets renewed", "next", r.NextRenewal())
}

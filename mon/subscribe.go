package mon

import (
	"fmt"

	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/messages"
)

// OnOSDMap sets the handler of MOSDMap messages (called on the dispatch
// goroutine). Subscribe to "osdmap" to receive them.
func (c *Client) OnOSDMap(f func(*messages.MOSDMap)) {
	c.mu.Lock()
	c.onOSDMap = f
	c.mu.Unlock()
}

// OnConfig sets the handler of the configuration the mons push
// (subscription "config").
func (c *Client) OnConfig(f func(map[string]string)) {
	c.mu.Lock()
	c.onConfig = f
	c.mu.Unlock()
}

func (c *Client) handleMonMapLocked(m *messages.MMonMap) {
	mm, err := m.Map()
	if err != nil {
		c.log.Warn("mon: bad monmap", "err", err)
		return
	}
	if c.haveFSID && mm.FSID != c.fsid {
		c.failLocked(fmt.Errorf("%w: %s has %s, configured %s", ErrWrongFSID, c.active.PeerAddrs(), mm.FSID, c.fsid))
		return
	}
	c.monmap = mm
	c.fsid = mm.FSID
	if s, ok := c.subs[messages.SubMonMap]; ok {
		s.Start = uint64(mm.Epoch) + 1
		c.subs[messages.SubMonMap] = s
	}
	// Hunt among the monmap's mons from now on.
	var mons []config.Mon
	for _, name := range mm.Ranks {
		if mi, ok := mm.Mon(name); ok && mi.PublicAddrs.Msgr2().Addr.IsValid() {
			mons = append(mons, config.Mon{Name: name, Addrs: mi.PublicAddrs, Priority: mi.Priority, Weight: mi.Weight})
		}
	}
	if len(mons) > 0 {
		c.mons = mons
	}
	select {
	case <-c.mapCh:
	default:
		// The first monmap: commands issued before it can go now.
		for tid, p := range c.cmds {
			c.sendCmdLocked(tid, p)
		}
		c.resendReqsLocked()
	}
	closeOnce(c.mapCh)
}

// sendSubsLocked sends every wanted subscription (MonClient::_renew_subs).
func (c *Client) sendSubsLocked() {
	if c.active == nil || len(c.subs) == 0 {
		return
	}
	what := make(map[string]messages.SubscribeItem, len(c.subs))
	for k, v := range c.subs {
		what[k] = v
	}
	if err := c.active.Send(&messages.MMonSubscribe{What: what, Hostname: c.opts.Hostname}); err != nil {
		c.log.Warn("mon: subscribe", "err", err)
	}
}

// Subscribe asks for map what ("osdmap", "monmap", "config", "mgrmap")
// from epoch start (0: the latest); onetime ends the subscription after
// one delivery.
func (c *Client) Subscribe(what string, start uint64, onetime bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := messages.SubscribeItem{Start: start}
	if onetime {
		it.Flags = messages.SubscribeOnetime
	}
	if old, ok := c.subs[what]; ok && old == it {
		return
	}
	c.subs[what] = it
	c.sendSubsLocked()
}

// Unsubscribe drops a subscription (the mon keeps sending until the
// session ends; Ceph has no unsubscribe message for clients).
func (c *Client) Unsubscribe(what string) {
	c.mu.Lock()
	delete(c.subs, what)
	c.mu.Unlock()
}

package rados

import "github.com/gomsgr/msgr"

// MessengerStats returns the stats of the messenger under a Conn that
// Connect built (tests check which protocol its connections speak).
func MessengerStats(c *Conn) (msgr.Stats, bool) {
	cl, ok := c.cl.(*client)
	if !ok {
		return msgr.Stats{}, false
	}
	return cl.m.Stats(), true
}

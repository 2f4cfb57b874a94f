package rados

import (
	"context"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/messages"
)

// MessengerStats returns the stats of the messenger under a Conn that
// Connect built (tests check which protocol its connections speak).
func MessengerStats(c *Conn) (msgr.Stats, bool) {
	cl, ok := c.cl.(*client)
	if !ok {
		return msgr.Stats{}, false
	}
	return cl.m.Stats(), true
}

// ReadDirect is Read that also reports whether the reply's data was read
// from the socket straight into data (osdc.Request.Into) or copied.
func ReadDirect(ctx context.Context, io *IOContext, oid string, data []byte, offset uint64) (n int, direct bool, err error) {
	r := io.req1(oid, 0, messages.NewReadOp(offset, uint64(len(data))))
	r.Into = data
	res, err := io.doReq(ctx, r)
	if err != nil {
		return 0, false, err
	}
	d := res.Ops[0].Data
	direct = len(d) > 0 && len(data) > 0 && &d[0] == &data[0]
	return readResult(res, data), direct, nil
}

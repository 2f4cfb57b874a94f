package mon

import (
	"context"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

// Requests whose answer the mon sends back with the request's tid in the
// message header (statfs, pool stats, pool ops): sent on the session,
// resent on the next one if the session is lost first, as MonClient does
// for its commands.

type pendingReq struct {
	build func(tid uint64, fsid encoding.UUID) message.Message
	done  chan messages.MonReply
}

// Request sends the message build makes for tid and the cluster's fsid,
// and waits for the reply carrying tid, until ctx ends.
func (c *Client) Request(ctx context.Context, build func(tid uint64, fsid encoding.UUID) message.Message) (messages.MonReply, error) {
	p := &pendingReq{build: build, done: make(chan messages.MonReply, 1)}
	c.mu.Lock()
	if c.closed || c.fatal != nil {
		c.mu.Unlock()
		return nil, c.closedErr()
	}
	if c.reqs == nil {
		c.reqs = map[uint64]*pendingReq{}
	}
	c.tid++
	tid := c.tid
	c.reqs[tid] = p
	c.sendReqLocked(tid, p)
	c.mu.Unlock()
	return await(ctx, c, p.done, func() { delete(c.reqs, tid) }, fmt.Sprintf("request %d", tid))
}

func (c *Client) sendReqLocked(tid uint64, p *pendingReq) {
	if c.active == nil || c.monmap == nil {
		return // sent when a session opens and the fsid is known
	}
	if err := c.active.Send(p.build(tid, c.fsid)); err != nil {
		c.log.Warn("mon: sending a request", "err", err)
	}
}

// handleReplyLocked hands a reply to its request; it unlocks c.mu.
func (c *Client) handleReplyLocked(r messages.MonReply) {
	p := c.reqs[r.ReplyTid()]
	delete(c.reqs, r.ReplyTid())
	c.mu.Unlock()
	if p != nil {
		p.done <- r
	}
}

// resendReqsLocked sends again what a lost session left unanswered, and
// what waited for the first session.
func (c *Client) resendReqsLocked() {
	for tid, p := range c.reqs {
		c.sendReqLocked(tid, p)
	}
}

// closeReqsLocked fails every request waiting (Close).
func (c *Client) closeReqsLocked() {
	for tid, p := range c.reqs {
		delete(c.reqs, tid)
		close(p.done)
	}
}

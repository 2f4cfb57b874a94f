package mon

import (
	"context"
	"fmt"
	"strings"

	"github.com/gomsgr/msgr/messages"
)

type pendingCmd struct {
	cmd  []string
	data []byte
	done chan *messages.MMonCommandAck
}

type pendingVersion struct {
	what string
	done chan *messages.MMonGetVersionReply
}

// CommandResult is a mon command's answer.
type CommandResult struct {
	Result int32  // 0 or a negative errno
	Status string // the status text (what ceph prints on stderr)
	Data   []byte // the output
}

// Command runs a mon command given as JSON strings (usually one) with
// optional input, waiting for the answer until ctx ends. A non-zero
// result comes back both in the CommandResult and as a *ResultError.
// Commands outlive sessions: one lost with a session is sent again on the
// next, as Ceph's MonClient does.
func (c *Client) Command(ctx context.Context, cmd []string, inbuf []byte) (*CommandResult, error) {
	p := &pendingCmd{cmd: cmd, data: inbuf, done: make(chan *messages.MMonCommandAck, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if c.fatal != nil {
		err := c.fatal
		c.mu.Unlock()
		return nil, err
	}
	c.tid++
	tid := c.tid
	c.cmds[tid] = p
	c.sendCmdLocked(tid, p)
	c.mu.Unlock()
	ack, err := await(ctx, c, p.done, func() { delete(c.cmds, tid) }, "command "+strings.Join(cmd, " "))
	if err != nil {
		return nil, err
	}
	r := &CommandResult{Result: ack.Result, Status: ack.Status, Data: ack.Data}
	if ack.Result != 0 {
		return r, &ResultError{Code: ack.Result, Status: ack.Status}
	}
	return r, nil
}

// await waits for the answer to a request registered under the lock: it
// comes on done (closed: the Client closed or failed), or ctx ends first
// and forget (run under the lock) drops the request.
func await[R any](ctx context.Context, c *Client, done <-chan R, forget func(), what string) (R, error) {
	var zero R
	select {
	case r, ok := <-done:
		if !ok {
			return zero, c.closedErr()
		}
		return r, nil
	case <-ctx.Done():
		c.mu.Lock()
		forget()
		c.mu.Unlock()
		return zero, fmt.Errorf("mon: %s: %w", what, c.ctxErr(ctx))
	}
}

// ctxErr explains a context that ended while waiting on the mons.
func (c *Client) ctxErr(ctx context.Context) error {
	c.mu.Lock()
	active := c.active != nil
	c.mu.Unlock()
	if active {
		return context.Cause(ctx)
	}
	return c.failure(ctx)
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal != nil {
		return c.fatal
	}
	return ErrClosed
}

func (c *Client) sendCmdLocked(tid uint64, p *pendingCmd) {
	if c.active == nil || c.monmap == nil {
		// Sent when a session opens; the mon checks the command's fsid,
		// so not before the monmap says what it is.
		return
	}
	m := messages.NewMMonCommand(tid, c.fsid, p.cmd, p.data)
	if err := c.active.Send(m); err != nil {
		c.log.Warn("mon: sending a command", "err", err)
	}
}

// GetVersion asks for the newest and oldest epochs the mons have of map
// what ("osdmap", "monmap", "mgrmap").
func (c *Client) GetVersion(ctx context.Context, what string) (newest, oldest uint64, err error) {
	p := &pendingVersion{what: what, done: make(chan *messages.MMonGetVersionReply, 1)}
	c.mu.Lock()
	if c.closed || c.fatal != nil {
		c.mu.Unlock()
		return 0, 0, c.closedErr()
	}
	c.tid++
	h := c.tid
	c.versions[h] = p
	if c.active != nil {
		c.active.Send(&messages.MMonGetVersion{Handle: h, What: what})
	}
	c.mu.Unlock()
	r, err := await(ctx, c, p.done, func() { delete(c.versions, h) }, "get_version "+what)
	if err != nil {
		return 0, 0, err
	}
	return r.MapVersion, r.OldestVersion, nil
}

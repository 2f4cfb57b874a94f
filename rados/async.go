package rados

import (
	"context"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
)

// Completion is an op started by one of the Async calls (librados' aio).
// The op is sent when the call returns; Wait collects its outcome.
type Completion struct {
	p    *osdc.Pending
	err  error // the op could not be started
	read []byte
	n    int
	// copied: the data was copied into read and its buffer released
	// (once: a second Wait must not read it again).
	copied bool
	req    oneOpRequest // the op's request, in the same allocation
}

// Done is closed when the op has completed.
func (c *Completion) Done() <-chan struct{} {
	if c.p == nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return c.p.Done()
}

// Wait waits for the op (or for ctx, which stops only the waiting; the op
// ends with the context it was started with) and returns its error.
func (c *Completion) Wait(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	res, err := c.p.Wait(ctx)
	if err != nil {
		return err
	}
	if c.read != nil && !c.copied && len(res.Ops) > 0 {
		c.n = readResult(res, c.read)
		c.copied = true
	}
	return nil
}

// OnDone arranges for f to run once the op has completed (librados'
// completion callback): at once, in this goroutine, if it already has (or
// could not be started); otherwise in the goroutine that completed it,
// usually a connection's event loop, which handles the reply there: no
// goroutine is woken for it. So f must be short and must not block; it
// may call Wait (which then returns at once) and start other Async ops,
// while fewer than objecter_inflight_ops (1024) and 100 MiB are in
// flight (a Start waits for room, which would stall the loop). Call it
// at most once.
func (c *Completion) OnDone(f func()) {
	if c.p == nil {
		f()
		return
	}
	c.p.OnDone(f)
}

// BytesRead is how many bytes a ReadAsync read, after Wait.
func (c *Completion) BytesRead() int { return c.n }

func (io *IOContext) start(ctx context.Context, oid string, flags uint32, op messages.OSDOp) *Completion {
	if oid == "" {
		return &Completion{err: ErrInvalidInput}
	}
	c := new(Completion)
	io.fill1(&c.req, oid, flags, op)
	c.p, c.err = io.o.Start(ctx, &c.req.Request)
	return c
}

// WriteAsync starts a Write; data must not change until the op has
// completed: Done is closed (Wait returned the op's outcome, not its own
// ctx's end). See the slice rule of Write.
func (io *IOContext) WriteAsync(ctx context.Context, oid string, data []byte, offset uint64) *Completion {
	return io.start(ctx, oid, 0, messages.NewWriteOp(offset, data))
}

// WriteFullAsync starts a WriteFull (the slice rule of WriteAsync).
func (io *IOContext) WriteFullAsync(ctx context.Context, oid string, data []byte) *Completion {
	return io.start(ctx, oid, 0, messages.NewWriteFullOp(data))
}

// AppendAsync starts an Append (the slice rule of WriteAsync).
func (io *IOContext) AppendAsync(ctx context.Context, oid string, data []byte) *Completion {
	return io.start(ctx, oid, 0, messages.NewAppendOp(data))
}

// ReadAsync starts a Read into data; BytesRead says how much after Wait.
// The reply's data may be read straight into data (see Read) at any time
// until the op is done: leave data alone until Done is closed (it is when
// Wait returns nil); msgr never touches it after.
func (io *IOContext) ReadAsync(ctx context.Context, oid string, data []byte, offset uint64) *Completion {
	if oid == "" {
		return &Completion{err: ErrInvalidInput}
	}
	c := &Completion{read: data}
	io.fill1(&c.req, oid, 0, messages.NewReadOp(offset, uint64(len(data))))
	c.req.Into = data
	c.p, c.err = io.o.Start(ctx, &c.req.Request)
	return c
}

// DeleteAsync starts a Delete.
func (io *IOContext) DeleteAsync(ctx context.Context, oid string) *Completion {
	return io.start(ctx, oid, deleteFlags, messages.NewDeleteOp())
}

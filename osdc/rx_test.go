package osdc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	. "github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdc/osdctest"
)

// rxOSD is an OSD whose connections take posted RxBuffers (RxPoster) and
// log what the Objecter posts and revokes. It answers nothing by itself:
// the test replies with reply, which lands the data where a connection's
// receive path would, in the posted buffer when there is one.
type rxOSD struct {
	mu    sync.Mutex
	o     *Objecter
	log   []string
	sent  []*messages.MOSDOp
	conns []*rxConn
	posts map[uint64]*message.RxBuffer // by tid, on the latest conn
}

type rxConn struct {
	d *rxOSD
	n int
}

func (d *rxOSD) DialOSD(int32, encoding.EntityAddrVec) (Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := &rxConn{d: d, n: len(d.conns)}
	d.conns = append(d.conns, c)
	return c, nil
}

func (c *rxConn) Send(m message.Message) error {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if op, ok := m.(*messages.MOSDOp); ok {
		c.d.sent = append(c.d.sent, op)
		c.d.log = append(c.d.log, fmt.Sprintf("send %d on %d", op.Tid, c.n))
	}
	return nil
}

func (c *rxConn) Close() {}

func (c *rxConn) PostRxBuffer(tid uint64, typ uint16, b *message.RxBuffer) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if typ != messages.TypeOSDOpReply {
		panic("posted for another type")
	}
	c.d.posts[tid] = b
	c.d.log = append(c.d.log, fmt.Sprintf("post %d on %d", tid, c.n))
}

func (c *rxConn) RevokeRxBuffer(tid uint64, b *message.RxBuffer) bool {
	filled := b.Revoke()
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.d.log = append(c.d.log, fmt.Sprintf("revoke %d on %d", tid, c.n))
	return filled
}

// reply answers the last send of tid with data, as a connection would
// receive it: into the buffer posted for tid when it takes it.
func (d *rxOSD) reply(tid uint64, data []byte) {
	d.mu.Lock()
	var op *messages.MOSDOp
	for _, m := range d.sent {
		if m.Tid == tid {
			op = m
		}
	}
	c := d.conns[len(d.conns)-1]
	b := d.posts[tid]
	d.mu.Unlock()
	r := osdctest.Reply(op, 0)
	r.Ops[0].Data = data
	if b != nil && b.Claim(len(data)) {
		if mem := b.Pin(); mem != nil {
			copy(mem, data)
			b.Unpin()
		}
		if mem := b.Fill(); mem != nil {
			r.Ops[0].Data = mem
		}
	}
	d.o.HandleMessage(c, r)
}

func (d *rxOSD) events() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.log)
}

func newRxOSD(t *testing.T, cfg Config) *rxOSD {
	d := &rxOSD{posts: map[uint64]*message.RxBuffer{}}
	d.o = New(d, cfg)
	t.Cleanup(d.o.Close)
	d.o.HandleOSDMap(osdctest.DeriveMap(osdctest.BaseMap(t), 10, 1, nil, nil))
	return d
}

// TestRxPost: a single read's Into is posted with each send and revoked
// when the op completes (a reply, a cancel, a timeout) and before it is
// sent again (a reset); the data then is Into's memory when the reply
// landed there. Requests without Into, or of more than one op, post
// nothing.
func TestRxPost(t *testing.T) {
	data := []byte("0123456789abcdef")
	read := func(into []byte) *Request {
		return &Request{Pool: 1, Oid: "obj", Ops: []messages.OSDOp{messages.NewReadOp(0, 16)}, Into: into}
	}
	t.Run("reply", func(t *testing.T) {
		d := newRxOSD(t, Config{})
		into := make([]byte, 16)
		p, err := d.o.Start(t.Context(), read(into))
		if err != nil {
			t.Fatal(err)
		}
		d.reply(1, data)
		res, err := p.Wait(t.Context())
		if err != nil || &res.Ops[0].Data[0] != &into[0] || string(into) != string(data) {
			t.Fatalf("%v: data not read into Into", err)
		}
		if got, want := d.events(), []string{"post 1 on 0", "send 1 on 0", "revoke 1 on 0"}; !slices.Equal(got, want) {
			t.Fatalf("events %q, want %q", got, want)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		d := newRxOSD(t, Config{})
		ctx, cancel := context.WithCancel(t.Context())
		p, err := d.o.Start(ctx, read(make([]byte, 16)))
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		<-p.Done()
		if got, want := d.events(), []string{"post 1 on 0", "send 1 on 0", "revoke 1 on 0"}; !slices.Equal(got, want) {
			t.Fatalf("events %q, want %q", got, want)
		}
		d.reply(1, data) // a late reply does not take the revoked buffer
	})
	t.Run("timeout", func(t *testing.T) {
		d := newRxOSD(t, Config{OpTimeout: time.Millisecond})
		_, err := d.o.Do(t.Context(), read(make([]byte, 16)))
		if !errors.Is(err, ErrTimedOut) {
			t.Fatal(err)
		}
		if got := d.events(); len(got) != 3 || got[2] != "revoke 1 on 0" {
			t.Fatalf("events %q", got)
		}
	})
	t.Run("reset", func(t *testing.T) {
		d := newRxOSD(t, Config{})
		into := make([]byte, 16)
		p, err := d.o.Start(t.Context(), read(into))
		if err != nil {
			t.Fatal(err)
		}
		d.o.HandleReset(d.conns[0])
		waitFor(t, "the resend", func() bool { return len(d.events()) >= 5 })
		d.reply(1, data)
		if res, err := p.Wait(t.Context()); err != nil || &res.Ops[0].Data[0] != &into[0] {
			t.Fatalf("%v: data not read into Into", err)
		}
		want := []string{"post 1 on 0", "send 1 on 0", "revoke 1 on 0", "post 1 on 1", "send 1 on 1", "revoke 1 on 1"}
		if got := d.events(); !slices.Equal(got, want) {
			t.Fatalf("events %q, want %q", got, want)
		}
	})
	t.Run("not posted", func(t *testing.T) {
		d := newRxOSD(t, Config{})
		for _, r := range []*Request{
			read(nil),
			{Pool: 1, Oid: "obj", Ops: []messages.OSDOp{messages.NewReadOp(0, 8), messages.NewReadOp(8, 8)}, Into: make([]byte, 16)},
			{Pool: 1, Oid: "obj", Ops: []messages.OSDOp{messages.NewStatOp()}, Into: make([]byte, 16)},
		} {
			if _, err := d.o.Start(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range d.events() {
			if e[:4] != "send" {
				t.Fatalf("events %q", d.events())
			}
		}
	})
}

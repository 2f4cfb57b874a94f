package msgr

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/stack"
	"github.com/gomsgr/msgr/message"
)

// holdStack is a transport whose dialed sockets, once armed, keep what
// arrives to themselves until armed bytes are there, then hand it all over
// in one readable event, served from memory: what a receiver finds when a
// peer's big messages are queued in the kernel ahead of its reads, without
// depending on how much the kernel's buffers take.
type holdStack struct {
	stack.Stack
	sock chan *holdSocket
}

type holdWorker struct {
	stack.Worker
	hs *holdStack
}

// holdSocket and its handler belong to the connection's loop.
type holdSocket struct {
	stack.Socket
	armed  int    // hold until this many bytes are kept; 0: pass through
	kept   []byte // read from the socket, not yet handed over
	events int    // readable events delivered
}

type holdHandler struct {
	stack.Handler
	s *holdSocket
}

func (s *holdStack) Pick() (stack.Worker, func()) {
	w, release := s.Stack.Pick()
	return &holdWorker{Worker: w, hs: s}, release
}

func (w *holdWorker) Connect(a netip.AddrPort, cfg stack.DialConfig, h stack.Handler) (stack.Socket, error) {
	hs := &holdSocket{}
	s, err := w.Worker.Connect(a, cfg, &holdHandler{Handler: h, s: hs})
	if err != nil {
		return nil, err
	}
	hs.Socket = s
	w.hs.sock <- hs
	return hs, nil
}

func (h *holdHandler) OnReadable() {
	h.s.events++
	h.Handler.OnReadable()
}

func (s *holdSocket) Read(p []byte) (int, error) {
	if s.armed > 0 {
		for {
			b := make([]byte, 256<<10)
			n, err := s.Socket.Read(b)
			s.kept = append(s.kept, b[:n]...)
			if errors.Is(err, stack.ErrWouldBlock) {
				break
			}
			if err != nil {
				return 0, err
			}
		}
		if len(s.kept) < s.armed {
			return 0, stack.ErrWouldBlock
		}
		s.armed = 0
	}
	if len(s.kept) > 0 {
		n := copy(p, s.kept)
		s.kept = s.kept[n:]
		return n, nil
	}
	return s.Socket.Read(p)
}

// TestBigRepliesLeaveEarly: when one readable event reads several big
// messages, a reply a fast dispatcher sent for the first goes out as soon
// as that message is read (about every flushEvery bytes), not after the
// event's last read, so that a peer waiting for it keeps its window full.
// Two messages of 1.5 MiB (and a small one after them) arrive together;
// when the second is dispatched, the first one's reply must already be
// written.
func TestBigRepliesLeaveEarly(t *testing.T) {
	const size = 3 << 19 // 1.5 MiB: more than flushEvery
	st, err := NewEventLoopStack("bigreply", 1)
	if err != nil {
		t.Fatal(err)
	}
	hs := &holdStack{Stack: st, sock: make(chan *holdSocket, 4)}
	reg := message.NewRegistry()
	reg.Register(bulkMsgType, func() message.Message { return &bulkMsg{} })
	conns := make(chan *Conn, 1)
	srv := startMessengerCfg(t, Config{Name: osdName(1), Nonce: 31, Registry: reg}, true, Options{},
		DispatcherFunc(func(c *Conn, m message.Message) bool {
			if bm, ok := m.(*bulkMsg); ok {
				if bm.Tid == 0 {
					conns <- c
				}
				if bm.buf != nil {
					bm.buf.Release()
				}
				return true
			}
			return false
		}))
	srv.SetDefaultPolicy(StatelessServer(0))

	type seen struct {
		tid        uint64
		event      int
		replyQueue bool // a reply sent earlier still waits to be written
		err        error
	}
	seenCh := make(chan seen, 8)
	var hsock *holdSocket
	fast := &fastFunc{fn: func(c *Conn, m message.Message) {
		bm := m.(*bulkMsg)
		if bm.buf != nil {
			bm.buf.Release()
		}
		s := seen{tid: bm.Tid, event: hsock.events, replyQueue: c.drainLater || len(c.out) > 0}
		s.err = c.Send(&bulkMsg{Tid: 100 + bm.Tid, Data: []byte("ok")})
		seenCh <- s
	}}
	cli := startOnStack(t, Config{Name: clientName(2), Nonce: 32, Registry: reg, Stack: hs}, Options{}, st)
	cli.SetDefaultPolicy(LossyClient(0))
	cli.AddDispatcherHead(fast)
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&bulkMsg{Tid: 0, Data: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	hsock = <-hs.sock
	var sc *Conn
	select {
	case sc = <-conns:
	case <-time.After(time.Minute):
		t.Fatal("no session")
	}
	onLoop(t, c, func() { hsock.armed = 2*size + 4<<10 })
	for tid, n := range []int{size, size, 8 << 10} {
		if err := sc.Send(&bulkMsg{Tid: uint64(tid + 1), Data: takeData(uint64(tid), n)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []seen
	for len(got) < 3 {
		select {
		case s := <-seenCh:
			if s.err != nil {
				t.Fatal(s.err)
			}
			got = append(got, s)
		case <-time.After(time.Minute):
			t.Fatalf("only %v arrived", got)
		}
	}
	if got[0].tid != 1 || got[1].tid != 2 || got[0].event != got[1].event {
		t.Fatalf("the two big messages were not read in one event: %+v", got)
	}
	if got[1].replyQueue {
		t.Fatalf("the reply to the first big message still waited when the second was dispatched: %+v", got)
	}
}

// fastFunc is a FastDispatcher for bulkMsg.
type fastFunc struct {
	fn func(c *Conn, m message.Message)
}

func (f *fastFunc) Dispatch(*Conn, message.Message) bool { return false }
func (f *fastFunc) CanFastDispatch(m message.Message) bool {
	_, ok := m.(*bulkMsg)
	return ok
}
func (f *fastFunc) FastDispatch(c *Conn, m message.Message) { f.fn(c, m) }

package msgr

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/stack"
	"github.com/gomsgr/msgr/message"
)

// markStack is a transport whose dialed sockets read at most 64 KiB at a
// time and record the receive low-water marks the connection sets (and
// pass them on): a 4 MiB message then takes more reads than one readable
// event does (maxReadsPerEvent), so its reading stops mid-frame. With
// oneRead, every read that got bytes is followed by a would-block, so
// that each readable event reads once and any frame is read across
// events.
type markStack struct {
	stack.Stack
	sock    chan *markSocket
	oneRead bool
}

type markWorker struct {
	stack.Worker
	ms *markStack
}

// markSocket belongs to the connection's loop.
type markSocket struct {
	stack.Socket
	marks   []int
	oneRead bool
	read    bool // oneRead: the event's read is done
}

func (s *markStack) Pick() (stack.Worker, func()) {
	w, release := s.Stack.Pick()
	return &markWorker{Worker: w, ms: s}, release
}

func (w *markWorker) Connect(a netip.AddrPort, cfg stack.DialConfig, h stack.Handler) (stack.Socket, error) {
	s, err := w.Worker.Connect(a, cfg, h)
	if err != nil {
		return nil, err
	}
	ms := &markSocket{Socket: s, oneRead: w.ms.oneRead}
	w.ms.sock <- ms
	return ms, nil
}

func (s *markSocket) Read(p []byte) (int, error) {
	if s.read {
		s.read = false
		return 0, stack.ErrWouldBlock
	}
	n, err := s.Socket.Read(p[:min(len(p), 64<<10)])
	s.read = s.oneRead && n > 0
	return n, err
}

func (s *markSocket) SetRecvLowat(n int) {
	s.marks = append(s.marks, n)
	if lw, ok := s.Socket.(stack.RecvLowater); ok {
		lw.SetRecvLowat(n)
	}
}

// TestRecvLowat: while a big message streams in, the receiving socket's
// low-water mark is raised (at most lowatMax, never past what the message
// still lacks), and it is lowered again however the reading ends, so that
// a small message after a big one is not held back by the big one's mark:
// each message below is sent alone, and must arrive. (A would-block after
// each read, oneRead, is safe: the socket's readiness is level-triggered.)
func TestRecvLowat(t *testing.T) {
	for _, tc := range []struct {
		name     string
		srv, cli Options
		oneRead  bool
	}{
		{"msgr2", Options{}, Options{}, false},
		{"msgr2-one-read", Options{}, Options{}, true},
		{"msgr1", Options{BindMsgr1: true}, Options{NoMsgr2: true}, false},
		{"msgr1-one-read", Options{BindMsgr1: true}, Options{NoMsgr2: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := NewEventLoopStack("lowat-"+tc.name, 1)
			if err != nil {
				t.Fatal(err)
			}
			ms := &markStack{Stack: st, sock: make(chan *markSocket, 4), oneRead: tc.oneRead}
			reg := message.NewRegistry()
			reg.Register(bulkMsgType, func() message.Message { return &bulkMsg{} })
			conns := make(chan *Conn, 1)
			srv := startMessengerCfg(t, Config{Name: osdName(1), Nonce: 41, Registry: reg}, true, tc.srv,
				DispatcherFunc(func(c *Conn, m message.Message) bool {
					bm, ok := m.(*bulkMsg)
					if ok && bm.Tid == 0 {
						conns <- c
					}
					return ok
				}))
			srv.SetDefaultPolicy(StatelessServer(0))
			got := make(chan *bulkMsg, 4)
			cli := startOnStack(t, Config{Name: clientName(2), Nonce: 42, Registry: reg, Stack: ms}, tc.cli, st)
			cli.AddDispatcherHead(DispatcherFunc(func(_ *Conn, m message.Message) bool {
				bm, ok := m.(*bulkMsg)
				if ok {
					got <- bm
				}
				return ok
			}))
			cli.SetDefaultPolicy(LossyClient(0))
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Send(&bulkMsg{Tid: 0, Data: []byte("hello")}); err != nil {
				t.Fatal(err)
			}
			msock := <-ms.sock
			var sc *Conn
			select {
			case sc = <-conns:
			case <-time.After(time.Minute):
				t.Fatal("no session")
			}
			for tid, n := range []int{4 << 20, 100, 1<<20 + 3, 1, 300 << 10, 10, 3 << 20, 5 << 10} {
				data := takeData(uint64(tid), n)
				if err := sc.Send(&bulkMsg{Tid: uint64(tid + 1), Data: data}); err != nil {
					t.Fatal(err)
				}
				select {
				case m := <-got:
					if m.Tid != uint64(tid+1) || len(m.Data) != n {
						t.Fatalf("got message %d of %d bytes, want %d of %d", m.Tid, len(m.Data), tid+1, n)
					}
					if m.buf != nil {
						m.buf.Release()
					}
				case <-time.After(30 * time.Second):
					var marks []int
					onLoop(t, c, func() { marks = append(marks, msock.marks[max(len(msock.marks)-8, 0):]...) })
					t.Fatalf("message %d (%d bytes) held back; the last marks %v", tid+1, n, marks)
				}
			}
			onLoop(t, c, func() {
				raised := false
				for _, n := range msock.marks {
					raised = raised || n == lowatMax
					if n > lowatMax || n > 1 && n < lowatLeast {
						t.Errorf("mark %d: want 0 or %d..%d", n, lowatLeast, lowatMax)
					}
				}
				if !raised {
					t.Errorf("the mark never reached %d: %v", lowatMax, msock.marks)
				}
				if k := len(msock.marks); k == 0 || msock.marks[k-1] > 1 {
					t.Errorf("the mark stays raised after the last message: %v", msock.marks)
				}
			})
		})
	}
}

package msgr

import (
	"bytes"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// bulkMsg carries its tid in the header and its bytes as data, kept
// without copying (Decode takes the buffer, or the data is an RxBuffer's
// memory).
type bulkMsg struct {
	Tid  uint64
	Data []byte
	buf  message.Releaser
}

const bulkMsgType = 0x7e05

func (*bulkMsg) Type() uint16              { return bulkMsgType }
func (*bulkMsg) Version() (uint16, uint16) { return 1, 1 }

func (m *bulkMsg) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	p.Front = append(p.Front, 1)
	p.Data = m.Data
	return nil
}

func (m *bulkMsg) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	m.Tid = h.Tid
	m.Data, m.buf = p.Data, p.Take()
	return nil
}

// TestRxBuffer: a posted RxBuffer receives the data of the message of its
// tid and type straight from the socket, over msgr2 (crc) and msgr1; one
// revoked while that data arrives is never written after RevokeRxBuffer
// returns (the reading is paused mid-data, the buffer revoked and
// overwritten, the reading resumed: the message is dropped, the next one
// delivered, the buffer keeps what was written); a buffer too small, of
// another type, or revoked before, is not used. Also on the gonet stack,
// whose reads are Go copies (seen by the race detector).
func TestRxBuffer(t *testing.T) {
	const size = 4 << 20
	for _, tc := range []struct {
		name     string
		srv, cli Options
		gonet    bool
	}{
		{"msgr2", Options{}, Options{}, false},
		{"msgr1", Options{BindMsgr1: true}, Options{NoMsgr2: true}, false},
		{"msgr2-gonet", Options{}, Options{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.gonet {
				useGoNet(t)
			}
			got := make(chan *bulkMsg, 16)
			conns := make(chan *Conn, 1)
			disp := DispatcherFunc(func(c *Conn, m message.Message) bool {
				bm, ok := m.(*bulkMsg)
				if !ok {
					return false
				}
				select {
				case conns <- c:
				default:
				}
				got <- bm
				return true
			})
			reg := message.NewRegistry()
			reg.Register(bulkMsgType, func() message.Message { return &bulkMsg{} })
			srv := startMessengerCfg(t, Config{Name: osdName(1), Nonce: 21, Registry: reg}, true, tc.srv, disp)
			srv.SetDefaultPolicy(StatelessServer(0))
			cli := startMessengerCfg(t, Config{Name: clientName(2), Nonce: 22, Registry: reg}, false, tc.cli, newRecorder())
			cli.SetDefaultPolicy(LossyClient(0))
			pz := pauseReads(srv)
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			send := func(tid uint64, data []byte) {
				t.Helper()
				if err := c.SendContext(t.Context(), &bulkMsg{Tid: tid, Data: data}); err != nil {
					t.Fatal(err)
				}
			}
			recv := func(tid uint64) *bulkMsg {
				t.Helper()
				select {
				case m := <-got:
					if m.Tid != tid {
						t.Fatalf("got tid %d, want %d", m.Tid, tid)
					}
					return m
				case <-time.After(time.Minute):
					t.Fatalf("no message %d", tid)
				}
				return nil
			}
			send(100, []byte("hello"))
			recv(100)
			sc := <-conns
			data := takeData(1, size)

			// Posted: the data lands in buf.
			buf := make([]byte, size+100)
			rb := message.NewRxBuffer(buf)
			sc.PostRxBuffer(1, bulkMsgType, rb)
			send(1, data)
			m := recv(1)
			if !bytes.Equal(m.Data, data) || &m.Data[0] != &buf[0] {
				t.Fatal("the data is not in the posted buffer")
			}
			if !sc.RevokeRxBuffer(1, rb) {
				t.Fatal("a filled buffer revoked as not filled")
			}

			// Revoked with its data under way.
			buf = make([]byte, size)
			rb = message.NewRxBuffer(buf)
			sc.PostRxBuffer(2, bulkMsgType, rb)
			onLoop(t, sc, func() { pz.armed, pz.read = 1<<20, 0 })
			send(2, data)
			select {
			case <-pz.paused:
			case <-time.After(time.Minute):
				t.Fatal("the reading did not pause")
			}
			if sc.RevokeRxBuffer(2, rb) {
				t.Fatal("revoked mid-data, yet filled")
			}
			for i := range buf {
				buf[i] = 0x77
			}
			onLoop(t, sc, func() {
				sc.testPaused = false
				sc.sock.PauseRead(sc.paused)
				sc.onReadable() // what arrived meanwhile
			})
			send(3, []byte("after"))
			recv(3) // 2 was dropped
			if !bytes.Equal(buf, bytes.Repeat([]byte{0x77}, size)) {
				t.Fatal("the buffer was written after RevokeRxBuffer returned")
			}

			// Not used: too small, another type, revoked before.
			for _, k := range []struct {
				name string
				buf  int
				typ  uint16
				pre  bool
			}{
				{"small", size - 1, bulkMsgType, false},
				{"type", size, bulkMsgType + 1, false},
				{"revoked", size, bulkMsgType, true},
			} {
				buf := make([]byte, k.buf)
				rb := message.NewRxBuffer(buf)
				sc.PostRxBuffer(4, k.typ, rb)
				if k.pre {
					sc.RevokeRxBuffer(4, rb)
				}
				send(4, data)
				m := recv(4)
				if !bytes.Equal(m.Data, data) || &m.Data[0] == &buf[0] {
					t.Fatalf("%s: data wrong, or in the buffer", k.name)
				}
				if sc.RevokeRxBuffer(4, rb) || !bytes.Equal(buf, make([]byte, k.buf)) {
					t.Fatalf("%s: the buffer was used", k.name)
				}
			}
		})
	}
}

// readPauser pauses a server connection's reading once armed bytes were
// read on it; armed and read are its loop's (set them there, by onLoop).
type readPauser struct {
	armed, read int
	paused      chan struct{}
}

// pauseReads installs a readPauser as srv's receive hook.
func pauseReads(srv *Messenger) *readPauser {
	pz := &readPauser{paused: make(chan struct{}, 1)}
	hook := func(c *Conn, p []byte) []byte {
		if pz.armed == 0 {
			return nil
		}
		if pz.read += len(p); pz.read >= pz.armed {
			pz.armed = 0
			c.testPaused = true
			c.sock.PauseRead(true)
			pz.paused <- struct{}{}
		}
		return nil
	}
	srv.testRecvHook.Store(&hook)
	return pz
}

package msgr

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

// onLoop runs f on c's loop and waits for it (Worker.Exec does not wait).
func onLoop(t *testing.T, c *Conn, f func()) {
	t.Helper()
	done := make(chan struct{})
	if err := c.worker.Exec(func() { f(); close(done) }); err != nil {
		t.Fatal(err)
	}
	<-done
}

// holdsMem reports, on c's loop, whether c still refers to mem: in a
// buffer waiting to be written, or in the payload of a message queued.
func holdsMem(c *Conn, mem []byte) (out, queued bool) {
	m := []span{spanOf(mem)}
	for _, b := range c.out {
		out = out || touches(b, m)
	}
	check := func(om *v2.OutMessage) {
		queued = queued || touches(om.Payload.Data, m)
	}
	c.mu.Lock()
	for _, om := range c.sendq {
		check(om)
	}
	c.mu.Unlock()
	c.mach.(queueHolder).EachQueued(check)
	return out, queued
}

// TestDetachData: a big message is sent while the peer has stopped
// reading after its first MiB, so that its frame is partly written and
// the rest waits in the connection; DetachData is called, the caller's
// slice overwritten at once, and the reading resumed: the peer receives
// the original bytes (in crc mode the frame's crcs were taken from them).
// Lossless: the socket also faults right after DetachData, so the
// message is framed again after the reconnect, from the payload, and
// must still arrive once, intact. Secure mode never refers to the slice
// once the message is framed (the frame is encrypted into a buffer of
// its own).
func TestDetachData(t *testing.T) {
	const size = 16 << 20
	for _, tc := range []struct {
		name     string
		srv, cli Options
		mode     uint32 // cephx mode, 0: no auth
		lossless bool
	}{
		{name: "msgr2"},
		{name: "msgr1", srv: Options{BindMsgr1: true}, cli: Options{NoMsgr2: true}},
		{name: "msgr2-secure", mode: auth.ModeSecure},
		{name: "msgr2-lossless", lossless: true},
		{name: "msgr1-lossless", srv: Options{BindMsgr1: true}, cli: Options{NoMsgr2: true}, lossless: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBulkPair(t, tc.srv, tc.cli, tc.mode, tc.lossless)
			srv, c, got, send, recv := b.srv, b.c, b.got, b.send, b.recv
			pz := pauseReads(srv)
			send(1, []byte("hello"))
			recv(1)
			sc := <-b.conns

			data := takeData(2, size)
			orig := bytes.Clone(data)
			onLoop(t, sc, func() { pz.armed, pz.read = 1<<20, 0 })
			send(2, data)
			select {
			case <-pz.paused:
			case <-time.After(30 * time.Second):
				t.Fatal("the reading did not pause")
			}
			// The peer has read a MiB of the frame; the rest waits here.
			onLoop(t, c, func() {
				out, _ := holdsMem(c, data)
				if secure := tc.mode == auth.ModeSecure; out == secure {
					t.Errorf("secure %v, yet buffers to write refer to the data: %v", secure, out)
				}
			})
			detached := make(chan struct{})
			c.DetachData([][]byte{data}, func() { close(detached) })
			<-detached
			onLoop(t, c, func() {
				if out, queued := holdsMem(c, data); out || queued {
					t.Errorf("after DetachData: buffers to write %v, queued payloads %v refer to the data", out, queued)
				}
				if tc.lossless {
					c.sockFail(errors.New("test: fault after DetachData"))
					if out, queued := holdsMem(c, data); out || queued {
						t.Errorf("after the fault: buffers to write %v, queued payloads %v refer to the data", out, queued)
					}
				}
			})
			for i := range data {
				data[i] = 0x77
			}
			onLoop(t, sc, func() {
				sc.testPaused = false
				if sc.sock != nil {
					sc.sock.PauseRead(sc.paused)
				}
				sc.onReadable() // what arrived meanwhile
			})
			m := recv(2)
			if !bytes.Equal(m.Data, orig) {
				t.Fatal("the peer received bytes written after DetachData returned")
			}
			send(3, []byte("after"))
			recv(3) // and no second copy of 2 before it
			if len(got) != 0 {
				t.Fatalf("%d messages more", len(got))
			}
		})
	}
}

// TestDetachQueued: DetachData copies the payload of a message not yet
// framed: in the connection's send queue, or in a Machine whose session
// is not open yet. The slice is overwritten right after; the peer gets
// the original bytes.
func TestDetachQueued(t *testing.T) {
	for _, where := range []string{"sendq", "machine"} {
		t.Run(where, func(t *testing.T) {
			b := newBulkPair(t, Options{}, Options{}, 0, false)
			c := b.c
			data := takeData(5, 1<<20)
			orig := bytes.Clone(data)
			sent, ran := make(chan struct{}), make(chan struct{})
			// The loop waits in this task while Send queues (its drain
			// comes after).
			if err := c.worker.Exec(func() {
				defer close(ran)
				<-sent
				if where == "machine" {
					c.drainQueued() // the Machine starts connecting
				}
				if out, queued := holdsMem(c, data); out || !queued {
					t.Errorf("before: buffers to write %v, queued payloads %v refer to the data", out, queued)
				}
				c.detachData([][]byte{data})
				if out, queued := holdsMem(c, data); out || queued {
					t.Errorf("after: buffers to write %v, queued payloads %v refer to the data", out, queued)
				}
			}); err != nil {
				t.Fatal(err)
			}
			b.send(1, data)
			close(sent)
			<-ran
			for i := range data {
				data[i] = 0x77
			}
			if m := b.recv(1); !bytes.Equal(m.Data, orig) {
				t.Fatal("the peer received bytes written after DetachData")
			}
		})
	}
}

// bulkPair is a server that takes bulkMsgs and a client connection to it.
type bulkPair struct {
	srv   *Messenger
	c     *Conn
	got   chan *bulkMsg
	conns chan *Conn // the server's connection, once
	send  func(tid uint64, data []byte)
	recv  func(tid uint64) *bulkMsg
}

// newBulkPair starts the pair: mode is a cephx mode (0: no auth);
// lossless: a lossless client and stateful server, else lossy. The
// server's receive buffer is small, so that the kernel takes little of
// a message while the server does not read.
func newBulkPair(t *testing.T, srvOpts, cliOpts Options, mode uint32, lossless bool) *bulkPair {
	t.Helper()
	b := &bulkPair{got: make(chan *bulkMsg, 16), conns: make(chan *Conn, 1)}
	disp := DispatcherFunc(func(c *Conn, m message.Message) bool {
		bm, ok := m.(*bulkMsg)
		if !ok {
			return false
		}
		select {
		case b.conns <- c:
		default:
		}
		b.got <- bm
		return true
	})
	reg := message.NewRegistry()
	reg.Register(bulkMsgType, func() message.Message { return &bulkMsg{} })
	srvCfg := Config{Name: osdName(1), Nonce: 31, Registry: reg}
	cliCfg := Config{Name: clientName(2), Nonce: 32, Registry: reg}
	peer := uint8(encoding.EntityTypeOSD)
	if mode != 0 {
		srvCfg.AuthServer, cliCfg.AuthClient = cephxPair(t, mode)
		srvCfg.Name = encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}
		peer = encoding.EntityTypeMon
	}
	srvOpts.TCPRcvBuf = 128 << 10
	b.srv = startMessengerCfg(t, srvCfg, true, srvOpts, disp)
	cli := startMessengerCfg(t, cliCfg, false, cliOpts, newRecorder())
	if lossless {
		b.srv.SetDefaultPolicy(StatefulServer(0))
		cli.SetDefaultPolicy(LosslessClient(0))
	} else {
		b.srv.SetDefaultPolicy(StatelessServer(0))
		cli.SetDefaultPolicy(LossyClient(0))
	}
	c, err := cli.GetConnection(b.srv.Addrs(), peer)
	if err != nil {
		t.Fatal(err)
	}
	b.c = c
	b.send = func(tid uint64, data []byte) {
		t.Helper()
		if err := c.SendContext(t.Context(), &bulkMsg{Tid: tid, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	b.recv = func(tid uint64) *bulkMsg {
		t.Helper()
		select {
		case m := <-b.got:
			if m.Tid != tid {
				t.Fatalf("got tid %d, want %d", m.Tid, tid)
			}
			return m
		case <-time.After(30 * time.Second):
			t.Fatalf("no message %d", tid)
		}
		return nil
	}
	return b
}

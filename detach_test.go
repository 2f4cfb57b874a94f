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
			srvCfg := Config{Name: osdName(1), Nonce: 31, Registry: reg}
			cliCfg := Config{Name: clientName(2), Nonce: 32, Registry: reg}
			peer := uint8(encoding.EntityTypeOSD)
			if tc.mode != 0 {
				srvCfg.AuthServer, cliCfg.AuthClient = cephxPair(t, tc.mode)
				srvCfg.Name = encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}
				peer = encoding.EntityTypeMon
			}
			// A small receive buffer: the kernel takes little of the
			// message while the peer does not read.
			tc.srv.TCPRcvBuf = 128 << 10
			srv := startMessengerCfg(t, srvCfg, true, tc.srv, disp)
			cli := startMessengerCfg(t, cliCfg, false, tc.cli, newRecorder())
			if tc.lossless {
				srv.SetDefaultPolicy(StatefulServer(0))
				cli.SetDefaultPolicy(LosslessClient(0))
			} else {
				srv.SetDefaultPolicy(StatelessServer(0))
				cli.SetDefaultPolicy(LossyClient(0))
			}
			var armed, read int // the server's loop's
			paused := make(chan struct{}, 1)
			hook := func(c *Conn, p []byte) []byte {
				if armed == 0 {
					return nil
				}
				if read += len(p); read >= armed {
					armed = 0
					c.testPaused = true
					c.sock.PauseRead(true)
					paused <- struct{}{}
				}
				return nil
			}
			srv.testRecvHook.Store(&hook)
			c, err := cli.GetConnection(srv.Addrs(), peer)
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
				case <-time.After(30 * time.Second):
					t.Fatalf("no message %d", tid)
				}
				return nil
			}
			send(1, []byte("hello"))
			recv(1)
			sc := <-conns

			data := takeData(2, size)
			orig := bytes.Clone(data)
			onLoop(t, sc, func() { armed, read = 1<<20, 0 })
			send(2, data)
			select {
			case <-paused:
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
		})
	}
}

package msgr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// connsSnapshot returns the messenger's live connections.
func (m *Messenger) connsSnapshot() map[*Conn]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[*Conn]bool{}
	for c := range m.all {
		out[c] = true
	}
	return out
}

func banner() []byte {
	return wire.AppendBanner(nil, wire.Banner{Supported: 1})
}

// TestBadBytes feeds garbage to a server: the connection that sent it is
// closed with an error matching ErrProtocol, and nothing else happens:
// a healthy connection goes on, no dispatcher hears anything.
func TestBadBytes(t *testing.T) {
	preamble := func(mut func(p []byte)) []byte {
		p := make([]byte, 32)
		p[0] = 1 // HELLO
		p[1] = 1 // one segment
		binary.LittleEndian.PutUint32(p[2:], 10)
		binary.LittleEndian.PutUint16(p[6:], 8)
		mut(p)
		return p
	}
	withCRC := func(p []byte) {
		binary.LittleEndian.PutUint32(p[28:], encoding.CRC32C(0, p[:28]))
	}
	cases := []struct {
		name string
		send []byte
	}{
		{"http request instead of a banner", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"banner then a preamble with a bad crc", append(banner(), preamble(func([]byte) {})...)},
		{"banner then a frame of unknown tag", append(banner(), preamble(func(p []byte) { p[0] = 200; withCRC(p) })...)},
		{"banner then a huge segment", append(banner(), preamble(func(p []byte) {
			binary.LittleEndian.PutUint32(p[2:], 0xffffff00)
			withCRC(p)
		})...)},
		{"banner then zero segments", append(banner(), preamble(func(p []byte) { p[1] = 0; withCRC(p) })...)},
	}
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(1), true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(5), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))
	good, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	sendRange(t, good, 1, 0, 10)
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.countFrom(1) == 10 })

	closed := make(chan error, 10)
	srv.mu.Lock()
	srv.closedHook = func(_ *Conn, err error) { closed <- err }
	srv.mu.Unlock()
	addr := srv.Addrs()[0].Addr.String()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := srv.connsSnapshot()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			// The server closes the socket: read until EOF or reset.
			nc.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err = io.Copy(io.Discard, nc)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server did not close the connection")
			}
			// Exactly this connection closed, with a protocol error.
			select {
			case err := <-closed:
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("closed with %v, want ErrProtocol", err)
				}
				t.Logf("closed with: %v", err)
			case <-time.After(20 * time.Second):
				t.Fatal("no connection closed")
			}
			if n := srv.Stats().Conns; n != len(before) {
				t.Fatalf("%d connections, want %d", n, len(before))
			}
			// The healthy connection still works.
			sendRange(t, good, 1, uint64(10*(i+1)), uint64(10*(i+2)))
			cliRec.waitFor(t, "echoes after bad bytes", func() bool { return cliRec.countFrom(1) == 10*(i+2) })
		})
	}
	checkInOrder(t, cliRec, 1, 0, uint64(10*(len(cases)+1)))
	if n := srvRec.get(&srvRec.resets) + srvRec.get(&srvRec.remote) + srvRec.get(&srvRec.accepts); n != 1 {
		t.Fatalf("server dispatcher heard %d events, want only the healthy accept", n)
	}
	if !bytes.Equal(banner()[:8], []byte(wire.BannerPrefix)) {
		t.Fatal("banner helper broken")
	}
}

// badDecode is a message type the receiver cannot decode: an error, or a
// panic when its front is empty.
type badDecode struct{ empty bool }

const badDecodeType = 0x7e03

func (*badDecode) Type() uint16              { return badDecodeType }
func (*badDecode) Version() (uint16, uint16) { return 1, 1 }
func (b *badDecode) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	if !b.empty {
		p.Front = append(p.Front, 1, 2, 3)
	}
	return nil
}
func (*badDecode) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	if len(p.Front) == 0 {
		panic("index out of range") // a careless decoder
	}
	return errors.New("bad body")
}

// TestUndecodableMessage: a message whose body does not decode faults
// its connection, as in Ceph's handle_message; on a lossy connection the
// peer hears a reset, and the message is dispatched to nobody.
func TestUndecodableMessage(t *testing.T) {
	srvRec := newRecorder()
	srv := newTestMessenger(t, osdName(1), true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	if err := srv.registry.Register(badDecodeType, func() message.Message { return &badDecode{} }); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 4)
	srv.mu.Lock()
	srv.closedHook = func(_ *Conn, err error) { closed <- err }
	srv.mu.Unlock()
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(2), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	sendRange(t, c, 1, 0, 3)
	srvRec.waitFor(t, "good messages", func() bool { return srvRec.countFrom(1) == 3 })
	for round, m := range []*badDecode{{}, {empty: true}} {
		if err := c.Send(m); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-closed:
			var de *message.DecodeError
			if !errors.As(err, &de) || de.Type != badDecodeType || !errors.Is(err, ErrProtocol) {
				t.Fatalf("closed with %v, want ErrProtocol and a *message.DecodeError", err)
			}
			t.Logf("closed with: %v", err)
		case <-time.After(20 * time.Second):
			t.Fatal("the server connection did not close")
		}
		cliRec.waitFor(t, "reset on the client", func() bool { return cliRec.get(&cliRec.resets) == round+1 })
		<-c.Done()
		if c, err = cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD); err != nil {
			t.Fatal(err)
		}
	}
	if n := srvRec.count(); n != 3 {
		t.Fatalf("server dispatched %d messages, want 3", n)
	}
}

package v2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/internal/wire"
)

// bigMsg makes a message whose data is size bytes derived from id.
func bigMsg(id uint64, size int) *OutMessage {
	m := msg(id)
	m.Payload.Data = make([]byte, size)
	for i := range m.Payload.Data {
		m.Payload.Data[i] = byte(i*7) ^ byte(id)
	}
	m.Payload.Middle = binary.LittleEndian.AppendUint64(nil, id*3)
	return m
}

func checkBig(t *testing.T, nd *node, sizes []int) {
	t.Helper()
	if len(nd.delivered) != len(sizes) {
		t.Fatalf("%v: %d messages delivered, want %d (ids %v)", nd.name, len(nd.delivered), len(sizes), nd.ids())
	}
	for k, in := range nd.delivered {
		want := bigMsg(msgID(in), sizes[k])
		if !bytes.Equal(in.Payload.Data, want.Payload.Data) || !bytes.Equal(in.Payload.Middle, want.Payload.Middle) {
			t.Fatalf("%v: message %d (%d bytes) differs", nd.name, msgID(in), len(in.Payload.Data))
		}
		if int(in.Header.DataLen) != sizes[k] || int(in.Header.MiddleLen) != 8 || int(in.Header.FrontLen) != 8 {
			t.Fatalf("%v: message %d lengths %d/%d/%d", nd.name, msgID(in), in.Header.FrontLen, in.Header.MiddleLen, in.Header.DataLen)
		}
		if cap(in.Payload.Front) != len(in.Payload.Front) || cap(in.Payload.Middle) != len(in.Payload.Middle) {
			t.Fatalf("%v: segments not capped", nd.name)
		}
	}
}

// cephxPair makes cl authenticate to srv with cephx in mode: a mon node
// gives cl a ticket for srv first (what cl has delivered is then cleared).
func cephxPair(t *testing.T, n *net, cl, srv *node, kr *auth.Keyring, key auth.CryptoKey, mode uint32, rev0 bool) {
	t.Helper()
	cs, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	osdSrv, err := cephx.NewAuthorizerServer(cephx.AuthorizerServerConfig{Service: cephx.ServiceOSD, Secrets: cs.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cephx.NewSession(cephx.Config{Name: cephtest.Admin, Key: key, MonModes: []uint32{mode}, Modes: []uint32{mode}})
	if err != nil {
		t.Fatal(err)
	}
	mon := n.addNode(encoding.EntityName{Type: encoding.EntityTypeMon}, 3300, 0)
	mon.env.defPolicy = statefulServer
	mon.env.authServer = func(uint8) (auth.ServerHandler, error) { return cs.Handler(), nil }
	cl.env.authClient = func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }
	srv.env.authServer = func(uint8) (auth.ServerHandler, error) { return osdSrv.Handler(), nil }
	cm := cl.connect(mon, func(c *Config) { c.DisableRev1 = rev0 })
	cm.send(msg(1))
	n.settle()
	if len(cm.established) != 1 {
		t.Fatalf("mon session: %v", cm.log)
	}
	cl.delivered = nil
}

// TestReadIntoBigMessages: messages from tiny to several times
// wire.BigFrame both ways, read with ReadBuffer/Commit and Received in
// turn, in random chunks, in crc and secure mode, v2.0 and v2.1. Each
// arrives whole, also those read straight into a buffer of their own
// and handed over, which later traffic must never overwrite; the receive
// buffers of the idle sessions are given back at the end.
func TestReadIntoBigMessages(t *testing.T) {
	kr, key := cephtest.AdminKey(t, "testdata/cephx-crc.keyring")
	sizes := []int{10, wire.BigFrame + 1, 200, 3 * wire.BigFrame, 0, wire.BigFrame - 64, 1 << 20, 5}
	for _, mode := range []uint32{0, auth.ModeCRC, auth.ModeSecure} {
		for _, rev0 := range []bool{false, true} {
			for _, chunk := range []int{0, 1000, 70000} {
				t.Run(fmt.Sprintf("mode%d/rev0=%v/chunk=%d", mode, rev0, chunk), func(t *testing.T) {
					n, cl, srv := pair(t, uint64(chunk)+7, losslessClient, statefulServer)
					n.maxChunk = chunk
					n.readInto = true
					n.streamSums = true
					if mode != 0 {
						cephxPair(t, n, cl, srv, kr, key, mode, rev0)
					}
					c := cl.connect(srv, func(c *Config) { c.DisableRev1 = rev0 })
					for k, size := range sizes {
						c.send(bigMsg(uint64(k+1), size))
					}
					n.settle()
					s := srv.registry[cl.addrs.String()]
					if s == nil || c.m.State() != StateReady {
						t.Fatalf("not open: %v", c.log)
					}
					if mode == auth.ModeSecure && !c.m.st.dec.Secure() {
						t.Fatal("not in secure mode")
					}
					for k, size := range slices.Backward(sizes) {
						s.send(bigMsg(uint64(100+len(sizes)-k), size))
					}
					c.send(bigMsg(uint64(len(sizes)+1), 7))
					n.settle()
					checkBig(t, srv, append(slices.Clone(sizes), 7))
					back := slices.Clone(sizes)
					slices.Reverse(back)
					checkBig(t, cl, back)
					if chunk != 0 && (c.m.handedOver == 0 || s.m.handedOver == 0) {
						t.Fatalf("no message handed over without a copy (%d, %d)", c.m.handedOver, s.m.handedOver)
					}
					for _, m := range []*Machine{c.m, s.m} {
						if m.st.dec.Buffered() != 0 {
							t.Fatalf("%d bytes left", m.st.dec.Buffered())
						}
						if got := m.st.dec.Held(); got != 0 {
							t.Fatalf("idle decoder holds a buffer of %d bytes", got)
						}
					}
				})
			}
		}
	}
}

// TestIdleHoldsNoBuffer: right after the handshake (the server side goes
// through a Lookup) and after traffic, fed with Received, an open session's
// decoder holds no receive buffer.
func TestIdleHoldsNoBuffer(t *testing.T) {
	for _, rev0 := range []bool{false, true} {
		n, cl, srv := pair(t, 3, losslessClient, statefulServer)
		n.maxChunk = 100
		c := cl.connect(srv, func(c *Config) { c.DisableRev1 = rev0 })
		c.apply(c.m.Start(n.now))
		n.settle()
		s := srv.registry[cl.addrs.String()]
		if s == nil || c.m.State() != StateReady || s.m.State() != StateReady {
			t.Fatalf("not open: %v", c.log)
		}
		held := func(when string) {
			t.Helper()
			for _, m := range []*Machine{c.m, s.m} {
				if got := m.st.dec.Held(); got != 0 {
					t.Fatalf("rev0 %v %s: idle decoder holds %d bytes", rev0, when, got)
				}
			}
		}
		held("after the handshake")
		c.send(msg(1), bigMsg(2, 100000))
		s.send(msg(3))
		n.settle()
		held("after messages")
		if !slices.Equal(srv.ids(), []uint64{1, 2}) || !slices.Equal(cl.ids(), []uint64{3}) {
			t.Fatalf("ids %v %v", srv.ids(), cl.ids())
		}
	}
}

// TestReadLoopHoldsInFlight: a stream of messages of every size class,
// cut at random points and read as the Conn reads (ReadBuffer, Commit, and
// Unread where a read loop ends, often mid-frame), in crc and secure mode,
// v2.0 and v2.1. After each loop the decoder holds no buffer when nothing
// is buffered, and otherwise one no bigger than what the frame under way
// needs (a frame with a buffer of its own keeps that). Every message is
// checked byte for byte at the end, after all later reads; in race builds
// the released buffers are overwritten as they go back to the pool, so
// anything still referring to one reads garbage.
func TestReadLoopHoldsInFlight(t *testing.T) {
	kr, key := cephtest.AdminKey(t, "testdata/cephx-crc.keyring")
	rng := rand.New(rand.NewPCG(12, 12))
	for _, mode := range []uint32{0, auth.ModeSecure} {
		for _, rev0 := range []bool{false, true} {
			t.Run(fmt.Sprintf("mode%d/rev0=%v", mode, rev0), func(t *testing.T) {
				n, cl, srv := pair(t, 5, losslessClient, statefulServer)
				if mode != 0 {
					cephxPair(t, n, cl, srv, kr, key, mode, rev0)
				}
				c := cl.connect(srv, func(c *Config) { c.DisableRev1 = rev0 })
				c.apply(c.m.Start(n.now))
				n.settle()
				s := srv.registry[cl.addrs.String()]
				if s == nil || c.m.State() != StateReady {
					t.Fatalf("not open: %v", c.log)
				}
				var sizes []int
				for range 300 {
					size := rng.IntN(5000)
					if rng.IntN(20) == 0 {
						size = rng.IntN(3 * wire.BigFrame)
					}
					sizes = append(sizes, size)
					c.send(bigMsg(uint64(len(sizes)), size))
				}
				// Take the client's bytes off the socket and read them
				// on the server here, as its Conn would.
				side := c.sock.side(c)
				stream := c.sock.buf[side]
				c.sock.buf[side] = nil
				for len(stream) > 0 {
					for reads := 1 + rng.IntN(3); reads > 0 && len(stream) > 0; reads-- {
						b := s.m.ReadBuffer(64 << 10)
						k := copy(b[:min(len(b), 1+rng.IntN(9000))], stream)
						stream = stream[k:]
						s.apply(s.m.Commit(n.now, k))
					}
					s.m.Unread()
					dec := s.m.st.dec
					held, buffered := dec.Held(), dec.Buffered()
					if pre, ok := dec.Pending(); ok && pre.Tag == wire.TagMessage && held > 0 && buffered > 0 && held >= wire.BigFrame {
						continue // a big frame's own buffer
					}
					if buffered == 0 && held != 0 || held > max(2*(buffered+dec.Need()), 4<<10) {
						t.Fatalf("between reads: holds %d bytes with %d buffered, %d more needed", held, buffered, dec.Need())
					}
				}
				n.settle()
				checkBig(t, srv, sizes)
				if got := s.m.st.dec.Held(); got != 0 {
					t.Fatalf("idle decoder holds %d bytes", got)
				}
			})
		}
	}
}

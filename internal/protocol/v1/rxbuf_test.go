package v1

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

// TestReadLoopHoldsInFlight: messages of random sizes cut at random points
// and read as the Conn reads (ReadBuffer, Commit, and Unread where a read
// loop ends, often mid-message). After each loop the session holds no
// receive buffer when nothing is unread, and a small one for a partial
// message head; every message is checked byte for byte at the end.
func TestReadLoopHoldsInFlight(t *testing.T) {
	srvAddr := v1addr("127.0.0.1:6800", 566)
	cenv := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 1}, policy: v2.Policy{Lossy: true}}
	senv := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 0}, addrs: encoding.EntityAddrVec{srvAddr}, policy: v2.Policy{Lossy: true, Server: true}}
	c := newTestClient(t, cenv, encoding.EntityTypeOSD, srvAddr, 9)
	s := newTestServer(t, senv)
	var ca, sa acts
	ca.add(c.Start(t0))
	ca.add(c.Connected(t0))
	sa.add(s.Accepted(t0, netip.MustParseAddrPort("127.0.0.1:50000")))
	for range 10 {
		cw, sw := ca.takeWrites(), sa.takeWrites()
		if len(cw) == 0 && len(sw) == 0 {
			break
		}
		if len(cw) > 0 {
			sa.feed(s, cw)
		}
		if len(sw) > 0 {
			ca.feed(c, sw)
		}
	}
	if len(ca.est) != 1 || len(sa.est) != 1 {
		t.Fatalf("not open: client %+v, server %+v", ca, sa)
	}
	rng := rand.New(rand.NewPCG(12, 1))
	var want [][]byte
	for i := range 400 {
		size := rng.IntN(6000)
		if rng.IntN(20) == 0 {
			size = rng.IntN(200 << 10)
		}
		data := make([]byte, size)
		for k := range data {
			data[k] = byte(k*7) ^ byte(i)
		}
		want = append(want, data)
		front := binary.LittleEndian.AppendUint64(nil, uint64(i))
		ca.add(c.Send(t0, &v2.OutMessage{Header: message.Header{Type: 0x4242, Priority: message.PrioDefault, Version: 1, CompatVersion: 1},
			Payload: message.Payload{Front: front, Data: data}}))
	}
	stream := ca.takeWrites()
	for len(stream) > 0 {
		for reads := 1 + rng.IntN(3); reads > 0 && len(stream) > 0; reads-- {
			b := s.ReadBuffer(64 << 10)
			k := copy(b[:min(len(b), 1+rng.IntN(9000))], stream)
			stream = stream[k:]
			sa.add(s.Commit(t0, k))
		}
		s.Unread()
		if n, held := s.rx.len(), len(s.rx.buf); n == 0 && held != 0 || n > 0 && n <= rxSmall && held > rxSmall {
			t.Fatalf("between reads: holds %d bytes with %d unread", held, n)
		}
	}
	if len(sa.delivered) != len(want) {
		t.Fatalf("%d messages delivered, want %d", len(sa.delivered), len(want))
	}
	for i, in := range sa.delivered {
		if id := binary.LittleEndian.Uint64(in.Payload.Front); id != uint64(i) || !bytes.Equal(in.Payload.Data, want[i]) {
			t.Fatalf("message %d (id %d, %d bytes) differs", i, id, len(in.Payload.Data))
		}
	}
}

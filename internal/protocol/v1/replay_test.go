package v1

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/internal/wire"
)

// The rados CLI's connection to the OSD in none-crc/1-put: client.4126
// (nonce 1497961402, not bound) to osd.0 at 127.0.0.1:6800/566, which sees
// the client at 127.0.0.1:39566; auth none; one MOSDOp, one reply.
const (
	replayCli = "testdata/none-crc/1-put.conn0.client-to-osd.bin"
	replaySrv = "testdata/none-crc/1-put.conn0.osd-to-client.bin"
)

// TestReplayClient: a client Machine in the CLI's place writes the CLI's
// bytes exactly (banner, address, connect with its none authorizer, in_seq,
// then the MOSDOp with the CLI's header and crcs) and takes the OSD's
// stream (SEQ reply, the reply message) as Ceph sent it. The MOSDOp goes
// with each kind of data PreSum: none or one taken from msgr1's seed give
// the CLI's bytes, a msgr2 one is ignored, a planted one of msgr1's seed
// is the footer's data_crc (it is used, not summed again).
func TestReplayClient(t *testing.T) {
	cli, srv := readFile(t, replayCli), readFile(t, replaySrv)
	c, _ := walkPair(t, cli, srv)
	op := c.msgs[0]
	cases := []struct {
		name    string
		sum     wire.PreSum
		planted bool
	}{
		{"none", wire.PreSum{}, false},
		{"taken", wire.TakePreSum(SectionSeed, op.pay.Data), false},
		{"msgr2-seed", wire.PreSum{CRC: 0xdeadbeef, Seed: wire.SegmentSeed, Len: len(op.pay.Data)}, false},
		{"planted", wire.PreSum{CRC: 0xdeadbeef, Seed: SectionSeed, Len: len(op.pay.Data)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 4126}, gseq: 1, policy: v2.Policy{Lossy: true}}
			env.authClient = func(uint8) (auth.ClientHandler, error) {
				return &auth.NoneClient{Name: auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}, GlobalID: 4126}, nil
			}
			m := newTestClient(t, env, encoding.EntityTypeOSD, v1addr("127.0.0.1:6800", 566), 1497961402)
			var a acts
			a.add(m.Start(t0))
			if a.dials != 1 {
				t.Fatalf("no dial: %+v", a)
			}
			a.add(m.Connected(t0))
			if w := a.takeWrites(); !bytes.Equal(w, cli[:BannerLen]) {
				t.Fatalf("banner %q", w)
			}
			// The OSD's handshake in two pieces, cut inside the reply.
			a.add(m.Received(t0, srv[:290]))
			a.add(m.Received(t0, srv[290:315]))
			if w := a.takeWrites(); !bytes.Equal(w, cli[BannerLen:208]) {
				t.Fatalf("handshake differs from the CLI's:\n got %x\nwant %x", w, cli[BannerLen:208])
			}
			if len(a.est) != 1 || a.est[0].Features != pacificFeatures || m.State() != v2.StateReady {
				t.Fatalf("not established: %+v state %v", a.est, m.State())
			}
			// Send the CLI's MOSDOp: same header fields, same payload.
			out := &v2.OutMessage{Header: op.hdr, Payload: op.pay, DataSum: tc.sum}
			a.add(m.Send(t0, out))
			w := a.takeWrites()
			if tc.planted {
				// The footer: front_crc, middle_crc, data_crc, sig, flags.
				crc := w[len(w)-FooterLen+8 : len(w)-FooterLen+12]
				if got := binary.LittleEndian.Uint32(crc); got != tc.sum.CRC {
					t.Fatalf("data_crc %#x, want the planted %#x", got, tc.sum.CRC)
				}
				copy(crc, cli[len(cli)-FooterLen+8:])
			}
			if !bytes.Equal(w, cli[208:]) {
				t.Fatalf("MOSDOp differs from the CLI's")
			}
			if a.acked != 1 {
				t.Fatalf("lossy: the framed message should be done, acked %d", a.acked)
			}
			// The OSD's reply, a byte at a time.
			for i := 315; i < len(srv); i++ {
				a.add(m.Received(t0, srv[i:i+1]))
			}
			if len(a.delivered) != 1 || a.delivered[0].Header.Type != 43 || a.delivered[0].Header.Src.Type != encoding.EntityTypeOSD {
				t.Fatalf("delivered %v", a.delivered)
			}
			if len(a.closed)+len(a.resets)+a.sockClose != 0 {
				t.Fatalf("unexpected close: %+v", a)
			}
		})
	}
}

// TestReplayServer: a server Machine in osd.0's place answers the CLI's
// stream with the OSD's bytes exactly, delivers the MOSDOp, and frames the
// OSD's reply as the OSD did.
func TestReplayServer(t *testing.T) {
	cli, srv := readFile(t, replayCli), readFile(t, replaySrv)
	env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 0}, gseq: 1,
		addrs: encoding.EntityAddrVec{v1addr("127.0.0.1:6800", 566)}, policy: v2.Policy{Lossy: true, Server: true}}
	m := newTestServer(t, env)
	var a acts
	a.add(m.Accepted(t0, netip.MustParseAddrPort("127.0.0.1:39566")))
	if w := a.takeWrites(); !bytes.Equal(w, srv[:BannerLen+2*AddrLen]) {
		t.Fatalf("banner and addresses differ from the OSD's")
	}
	a.feed(m, cli[:208])
	if w := a.takeWrites(); !bytes.Equal(w, srv[BannerLen+2*AddrLen:315]) {
		t.Fatalf("connect reply differs from the OSD's:\n got %x\nwant %x", w, srv[281:315])
	}
	if len(a.est) != 1 || !a.est[0].Accepted || a.est[0].AuthGlobalID != 4126 {
		t.Fatalf("not established: %+v", a.est)
	}
	a.feed(m, cli[208:])
	if len(a.delivered) != 1 || a.delivered[0].Header.Type != 42 || len(a.delivered[0].Payload.Data) != 4096 {
		t.Fatalf("delivered %v", a.delivered)
	}
	_, s := walkPair(t, cli, srv)
	rep := s.msgs[0]
	a.add(m.Send(t0, &v2.OutMessage{Header: rep.hdr, Payload: rep.pay}))
	if w := a.takeWrites(); !bytes.Equal(w, srv[315:]) {
		t.Fatalf("reply differs from the OSD's")
	}
}

// TestReplayMonClient: the bootstrap MonClient connection: no authorizer
// to a mon, SEQ, KEEPALIVE2_ACK and four messages from the mon.
func TestReplayMonClient(t *testing.T) {
	cli := readFile(t, "testdata/none-crc/1-put.conn0.client-to-mon.bin")
	srv := readFile(t, "testdata/none-crc/1-put.conn0.mon-to-client.bin")
	env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}}
	m := newTestClient(t, env, encoding.EntityTypeMon, v1addr("127.0.0.1:6789", 0), 2344126422)
	var a acts
	a.add(m.Start(t0))
	a.add(m.Connected(t0))
	a.add(m.SendKeepalive(t0))
	a.add(m.Received(t0, srv))
	w := a.takeWrites()
	if !bytes.Equal(w[:178], cli[:178]) {
		t.Fatalf("handshake differs from the CLI's:\n got %x\nwant %x", w[:178], cli[:178])
	}
	if Tag(w[186]) != TagKeepalive2 {
		t.Fatalf("no KEEPALIVE2 after in_seq: %x", w[178:])
	}
	if len(a.delivered) != 4 || a.kaAcks != 1 {
		t.Fatalf("delivered %d, keepalive acks %d", len(a.delivered), a.kaAcks)
	}
	for i, d := range a.delivered {
		if d.Header.Seq != uint64(i+1) || d.Header.Src.Type != encoding.EntityTypeMon {
			t.Fatalf("message %d: %+v", i, d.Header)
		}
	}
	if !m.policy.Lossy {
		t.Fatal("the mon's reply made the connection lossy")
	}
}

// TestReplayPeer: an OSD <-> OSD lossless connection: both Machines
// deliver every message of the captured streams and ack them.
func TestReplayPeer(t *testing.T) {
	cli := readFile(t, "testdata/peer-none-crc/repl.conn0.client-to-osd.bin")
	srv := readFile(t, "testdata/peer-none-crc/repl.conn0.osd-to-client.bin")
	c, _ := walkPair(t, cli, srv)
	peerAddr, _ := DecodeAddr(cli[BannerLen:])
	env := &testEnv{name: encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 0}, addrs: encoding.EntityAddrVec{mustAddr(t, srv[BannerLen:])}}
	m := newTestServer(t, env)
	var a acts
	a.add(m.Accepted(t0, peerAddr.Addr))
	a.add(m.Received(t0, cli))
	if len(a.lookups) != 1 {
		t.Fatalf("a lossless peer should be looked up: %+v", a)
	}
	r := m.Resolve(t0, nil)
	due := r.AckDue
	a.add(r)
	if len(a.delivered) != len(c.msgs) {
		t.Fatalf("delivered %d of %d", len(a.delivered), len(c.msgs))
	}
	if !due {
		t.Fatal("no ACK asked for on a lossless session")
	}
	a.add(m.WriteAck(t0))
	if !bytes.Contains(a.writes, []byte{byte(TagAck)}) {
		t.Fatal("no ACK written on a lossless session")
	}
}

func mustAddr(t *testing.T, p []byte) encoding.EntityAddr {
	a, err := DecodeAddr(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

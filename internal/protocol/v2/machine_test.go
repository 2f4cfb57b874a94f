package v2

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

var (
	clientName = encoding.EntityName{Type: encoding.EntityTypeClient, Num: 4100}
	osdName    = encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 0}
	osd1Name   = encoding.EntityName{Type: encoding.EntityTypeOSD, Num: 1}
)

func seq(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// pair makes a client node and an OSD node with the given policies.
func pair(t testing.TB, seed uint64, cp, sp Policy) (*net, *node, *node) {
	n := newNet(t, seed)
	cl := n.addNode(clientName, 5000, 11)
	srv := n.addNode(osdName, 6800, 22)
	cl.env.defPolicy = cp
	srv.env.defPolicy = sp
	return n, cl, srv
}

func TestHandshakeAndMessages(t *testing.T) {
	for _, rev0 := range []bool{false, true} {
		n, cl, srv := pair(t, 1, losslessClient, statefulServer)
		n.maxChunk = 7
		c := cl.connect(srv, func(cfg *Config) { cfg.DisableRev1 = rev0 })
		c.send(msg(1), msg(2))
		n.settle()
		if len(c.established) != 1 || c.established[0].Accepted || c.established[0].Reconnected {
			t.Fatalf("client established: %+v", c.established)
		}
		if got := c.established[0].Peer; got != osdName {
			t.Fatalf("peer %v", got)
		}
		s := srv.registry[cl.addrs.String()]
		if s == nil || len(s.established) != 1 || !s.established[0].Accepted {
			t.Fatalf("server side not established: %+v", s)
		}
		if c.m.State() != StateReady || s.m.State() != StateReady {
			t.Fatalf("states %v %v", c.m.State(), s.m.State())
		}
		if !c.m.st.rev1 == !rev0 {
			t.Fatalf("rev1 = %v with DisableRev1 %v", c.m.st.rev1, rev0)
		}
		s.send(msg(100), msg(101), msg(102))
		c.send(msg(3))
		n.settle()
		if got := srv.ids(); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("server got %v", got)
		}
		if got := cl.ids(); !slices.Equal(got, []uint64{100, 101, 102}) {
			t.Fatalf("client got %v", got)
		}
		if got := srv.delivered[0].Header.Src; got != clientName {
			t.Fatalf("src %v", got)
		}
		if string(srv.delivered[2].Payload.Data) != "data-3" {
			t.Fatalf("data %q", srv.delivered[2].Payload.Data)
		}
		// Every message was acked (ACK frames), so nothing is queued.
		if len(c.acked) != 3 || len(s.acked) != 3 || c.m.Queued() != 0 || s.m.Queued() != 0 {
			t.Fatalf("acked %d/%d queued %d/%d", len(c.acked), len(s.acked), c.m.Queued(), s.m.Queued())
		}
		if len(cl.learned) == 0 || cl.learned[0].Addr.Port() != 40001 {
			t.Fatalf("learned %v", cl.learned)
		}
		// Keepalive round trip.
		c.apply(c.m.SendKeepalive(n.now))
		n.settle()
		if len(c.keepAcks) != 1 || !c.keepAcks[0].Equal(n.now) {
			t.Fatalf("keepalive acks %v", c.keepAcks)
		}
		// Mark down: closed, no reset callback.
		c.apply(c.m.MarkDown(n.now))
		n.settle()
		if !c.closed || !errors.Is(c.err, ErrMarkedDown) || len(c.resets) != 0 {
			t.Fatalf("after mark down: closed %v err %v resets %v", c.closed, c.err, c.resets)
		}
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func TestContains(t *testing.T) {
	a := func(ip string, port uint16, nonce uint32) encoding.EntityAddr {
		return encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Nonce: nonce, Addr: netip.AddrPortFrom(netip.MustParseAddr(ip), port)}
	}
	v := encoding.EntityAddrVec{a("0.0.0.0", 6800, 5), a("10.0.0.1", 6801, 5)}
	tests := []struct {
		addr encoding.EntityAddr
		want bool
	}{
		{a("10.0.0.1", 6801, 5), true},
		{a("10.0.0.2", 6801, 5), false},
		{a("192.168.1.9", 6800, 5), true}, // the wildcard listener
		{a("192.168.1.9", 6800, 6), false},
		{a("192.168.1.9", 6802, 5), false},
	}
	for _, tc := range tests {
		if got := contains(v, tc.addr); got != tc.want {
			t.Errorf("contains(%v) = %v", tc.addr, got)
		}
	}
}

package v2

import (
	"testing"

	"github.com/gomsgr/msgr/message"
)

// TestAckDue: a message received on a lossless session is acked by the
// next frame that can carry the ack, as in Ceph's ProtocolV2 (its write
// event follows handle_message, and write_message zeroes ack_left): a
// reply framed before WriteAck carries it and WriteAck writes nothing;
// without a reply WriteAck writes one ACK frame. Lossy sessions ack
// nothing.
func TestAckDue(t *testing.T) {
	joined := func(r *Ready) []byte {
		var b []byte
		for _, x := range r.Bufs {
			b = append(b, x...)
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		cp, sp    Policy
		reply     bool
		wantDue   bool
		wantFrame bool // WriteAck writes a frame
	}{
		{"lossless, reply carries the ack", losslessClient, statefulServer, true, true, false},
		{"lossless, no reply: an ACK frame", losslessClient, statefulServer, false, true, true},
		{"lossy", lossyClient, statelessServer, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, cl, srv := pair(t, 1, tc.cp, tc.sp)
			c := cl.connect(srv, nil)
			n.settle()
			if c.m.State() != StateReady || len(srv.conns) != 1 || srv.conns[0].m.State() != StateReady {
				t.Fatalf("not open: client %v", c.m.State())
			}
			s := srv.conns[0].m
			req := &OutMessage{Header: message.Header{Type: 1, Priority: message.PrioDefault}, Payload: message.Payload{Front: []byte("request")}}
			c2s := joined(c.m.Send(n.now, req))
			r := s.Received(n.now, c2s)
			if len(r.Delivered) != 1 || len(r.Bufs) != 0 || r.AckDue != tc.wantDue {
				t.Fatalf("received: delivered %d, %d bufs, AckDue %v", len(r.Delivered), len(r.Bufs), r.AckDue)
			}
			var s2c []byte
			if tc.reply {
				rep := &OutMessage{Header: message.Header{Type: 2, Priority: message.PrioDefault}, Payload: message.Payload{Front: []byte("reply")}}
				s2c = joined(s.Send(n.now, rep))
			}
			w := joined(s.WriteAck(n.now))
			if (len(w) > 0) != tc.wantFrame {
				t.Fatalf("WriteAck wrote %d bytes, want a frame: %v", len(w), tc.wantFrame)
			}
			s2c = append(s2c, w...)
			if len(s2c) == 0 {
				return
			}
			cr := c.m.Received(n.now, s2c)
			wantAcked := 0 // lossy: acked when framed
			if !tc.cp.Lossy {
				wantAcked = 1
			}
			if len(cr.Acked) != wantAcked || cr.AckDue != (tc.reply && !tc.cp.Lossy) {
				t.Fatalf("client: acked %d (want %d), AckDue %v", len(cr.Acked), wantAcked, cr.AckDue)
			}
		})
	}
}

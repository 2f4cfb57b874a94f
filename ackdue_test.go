package msgr

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// fastEcho answers every testMsg from the connection's loop (fast
// dispatch), as an OSD answers an op.
type fastEcho struct{}

func (fastEcho) Dispatch(*Conn, message.Message) bool { return false }
func (fastEcho) CanFastDispatch(m message.Message) bool {
	_, ok := m.(*testMsg)
	return ok
}
func (fastEcho) FastDispatch(c *Conn, m message.Message) {
	tm := m.(*testMsg)
	_ = c.Send(&testMsg{From: tm.From, Seq: tm.Seq, Data: tm.Data})
}

// TestAckRidesOnReply: on a lossless session a request answered by fast
// dispatch is acked by the reply's ack_seq alone, as in Ceph (the ACK
// frame is written only after dispatch, and framing a message clears
// ack_left), not by an ACK frame besides: the client reads as many bytes
// per round trip as on a lossy session, which sends no ACK frames at all.
func TestAckRidesOnReply(t *testing.T) {
	const rounds = 40
	perRound := map[string]int64{}
	for _, tc := range policyCases[:2] { // lossy client, then lossless client
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestMessenger(t, osdName(1), true, Options{}, fastEcho{})
			srv.SetDefaultPolicy(tc.srv)
			rec := newRecorder()
			cli := newTestMessenger(t, osdName(2), false, Options{}, rec)
			cli.SetDefaultPolicy(tc.cli)
			var in atomic.Int64
			hook := func(_ *Conn, p []byte) []byte { in.Add(int64(len(p))); return nil }
			cli.testRecvHook.Store(&hook)
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			// One at a time, so that each read holds one request.
			for i := range rounds + 1 {
				if i == 1 {
					in.Store(0) // the handshake is behind
				}
				if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: []byte(fmt.Sprintf("%04d", i))}); err != nil {
					t.Fatal(err)
				}
				rec.waitFor(t, "echo", func() bool { return rec.count() == i+1 })
			}
			checkInOrder(t, rec, 1, 0, rounds+1)
			perRound[tc.name] = in.Load() / rounds
		})
	}
	lossy, lossless := perRound[policyCases[0].name], perRound[policyCases[1].name]
	if lossy == 0 || lossless != lossy {
		t.Fatalf("bytes read per round trip: lossless %d, lossy %d: want equal (an ACK frame besides the reply?)", lossless, lossy)
	}
}

// TestAckWithoutReply: messages nobody answers are acked by ACK frames,
// so a lossless sender whose queue holds only 4 unacked messages gets
// 200 through, over msgr2 and msgr1.
func TestAckWithoutReply(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("msgr1=%v", v1), func(t *testing.T) {
			srvRec := newRecorder()
			srv := newTestMessenger(t, osdName(1), true, Options{NoMsgr2: v1}, srvRec)
			srv.SetDefaultPolicy(StatefulServer(0))
			cli := newTestMessenger(t, osdName(2), false, Options{NoMsgr2: v1, OutboundQueueMessages: 4}, newRecorder())
			cli.SetDefaultPolicy(LosslessClient(0))
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for i := range 200 {
				if err := c.SendContext(ctx, &testMsg{From: 1, Seq: uint64(i)}); err != nil {
					t.Fatalf("send %d: %v (messages not acked?)", i, err)
				}
			}
			srvRec.waitFor(t, "all messages", func() bool { return srvRec.count() == 200 })
			checkInOrder(t, srvRec, 1, 0, 200)
			if c.IsMsgr1() != v1 {
				t.Fatalf("msgr1 %v, want %v", c.IsMsgr1(), v1)
			}
		})
	}
}

package msgr

import (
	"testing"

	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
)

// TestApplyReadyOrder: a Conn carries out a Ready's lists up to each
// event before the event: the message delivered before a Reset goes with
// the session it drops, the one after it stays; frames and acks are all
// carried out, in order.
func TestApplyReadyOrder(t *testing.T) {
	m, err := New(Config{Name: osdName(0), Registry: testRegistry(t)}, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, m)
	c := &Conn{msgr: m, worker: &queueWorker{}, log: m.log}
	c.info.Store(&connInfo{connected: true})
	old, kept := inTestMsg().im, inTestMsg().im
	acked := &outMsg{size: 10}
	acked.Ref = acked
	c.outMsgs, c.outBytes = 1, 10
	b1, b2 := []byte("old"), []byte("new")
	c.apply(&v2.Ready{
		Bufs:      [][]byte{b1, b2},
		Delivered: []*v2.InMessage{old, kept},
		Acked:     []*v2.OutMessage{&acked.OutMessage},
		Events:    []v2.Event{{Action: v2.Reset{Remote: true}, NBufs: 1, NDelivered: 1}},
	})
	if c.inq.Len() != 1 || c.inq.Peek().im != kept {
		t.Fatalf("%d messages queued after the reset, want the one delivered after it", c.inq.Len())
	}
	if len(c.out) != 2 || &c.out[0][0] != &b1[0] || &c.out[1][0] != &b2[0] {
		t.Fatalf("out %q", c.out)
	}
	if c.outMsgs != 0 || c.outBytes != 0 || len(c.spent) != 1 || c.spent[0] != acked {
		t.Fatalf("acked: %d msgs, %d bytes outstanding, spent %v", c.outMsgs, c.outBytes, c.spent)
	}
	if c.IsConnected() {
		t.Fatal("still connected after the reset")
	}
	c.dropUndispatched()
}

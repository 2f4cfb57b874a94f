package msgr

import (
	"encoding/binary"
	"testing"

	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

// queueWorker runs Exec'd functions only when the test says so.
type queueWorker struct {
	fakeWorker
	q []func()
}

func (w *queueWorker) Exec(f func()) error { w.q = append(w.q, f); return nil }

func (w *queueWorker) run() {
	for len(w.q) > 0 {
		f := w.q[0]
		w.q = w.q[1:]
		f()
	}
}

func inTestMsg() inMsg {
	front := binary.LittleEndian.AppendUint64(nil, 1)
	front = binary.LittleEndian.AppendUint64(front, 2)
	im := &v2.InMessage{Header: message.Header{Type: testMsgType, Version: 1, CompatVersion: 1, Priority: message.PrioDefault, FrontLen: 16},
		Payload: message.Payload{Front: front}}
	return inMsg{im: im, size: 16}
}

// A throttle grant that arrives after its wait was withdrawn by a session
// reset, once a later message waits for the same throttle, is not taken
// for that later wait's: the later message waits for its own budget.
func TestStaleThrottleGrant(t *testing.T) {
	m, err := New(Config{Name: osdName(0), Registry: testRegistry(t)}, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, m)
	w := &queueWorker{}
	thr := NewThrottle("policy msgs", 1)
	c := &Conn{msgr: m, worker: w, log: m.log, policy: Policy{ThrottlerMessages: thr}}
	c.info.Store(&connInfo{})

	if !thr.TryGet(1) { // an earlier message holds the budget
		t.Fatal("budget")
	}
	c.inq.Push(inTestMsg())
	c.pumpIn()
	if !c.inWaiting {
		t.Fatal("the message does not wait for the budget")
	}
	thr.Put(1) // granted to the waiter; its notification is queued
	c.dropUndispatched()
	if got := thr.Current(); got != 0 || c.inq.Len() != 0 {
		t.Fatalf("after the reset: budget %d, %d messages", got, c.inq.Len())
	}

	// The new session: the budget is taken again, a message waits.
	if !thr.TryGet(1) {
		t.Fatal("budget")
	}
	c.inq.Push(inTestMsg())
	c.pumpIn()
	w.run() // the stale grant
	if !c.inWaiting || c.inq.Len() != 1 || thr.Current() != 1 {
		t.Fatalf("stale grant taken: waiting %v, %d messages, budget %d", c.inWaiting, c.inq.Len(), thr.Current())
	}
	thr.Put(1) // now it is the new message's turn
	w.run()
	if c.inWaiting || c.inq.Len() != 0 || thr.Current() != 1 || m.dispatchMsgs.Current() != 1 {
		t.Fatalf("after its grant: waiting %v, %d messages, budget %d, dispatch %d", c.inWaiting, c.inq.Len(), thr.Current(), m.dispatchMsgs.Current())
	}
	if n := m.dq.discard(c); n != 1 || thr.Current() != 0 || m.dispatchMsgs.Current() != 0 || m.dispatchBytes.Current() != 0 {
		t.Fatalf("discarded %d; budgets left %d %d %d", n, thr.Current(), m.dispatchMsgs.Current(), m.dispatchBytes.Current())
	}
}

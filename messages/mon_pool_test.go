package messages

import (
	"testing"

	"github.com/gomsgr/msgr/message"
)

// roundTrip encodes m and decodes it into fresh.
func roundTrip(t testing.TB, m, fresh message.Message) {
	t.Helper()
	var h message.Header
	h.Version, _ = m.Version()
	var p message.Payload
	if err := m.Encode(&h, 0, &p); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Decode(&h, 0, &p); err != nil {
		t.Fatalf("%T: %v", m, err)
	}
}

func TestMonPoolMessages(t *testing.T) {
	pool := int64(7)
	for _, tc := range []struct {
		m, fresh message.Message
		check    func(message.Message) bool
	}{
		{&MStatfs{Tid: 3, DataPool: &pool}, &MStatfs{}, func(m message.Message) bool { x := m.(*MStatfs); return x.Tid == 3 && *x.DataPool == 7 }},
		{&MStatfsReply{Tid: 4, KB: 10, KBUsed: 2, KBAvail: 8, NumObjects: 5}, &MStatfsReply{}, func(m message.Message) bool {
			x := m.(*MStatfsReply)
			return x.Tid == 4 && x.KB == 10 && x.KBAvail == 8 && x.NumObjects == 5
		}},
		{&MGetPoolStats{Tid: 5, Pools: []string{"a", "b"}}, &MGetPoolStats{}, func(m message.Message) bool { return len(m.(*MGetPoolStats).Pools) == 2 }},
		{&MGetPoolStatsReply{Tid: 6, PerPool: true, Stats: map[string]PoolStat{"a": {NumBytes: 9, NumObjects: 2, NumWrKB: 3, NumObjectsMisplaced: 1, StoreAllocated: 4096}}}, &MGetPoolStatsReply{}, func(m message.Message) bool {
			x := m.(*MGetPoolStatsReply)
			s := x.Stats["a"]
			return x.PerPool && s.NumBytes == 9 && s.NumObjects == 2 && s.NumWrKB == 3 && s.NumObjectsMisplaced == 1 && s.StoreAllocated == 4096
		}},
		{&MPoolOp{Tid: 7, Pool: 3, Op: PoolOpCreateSnap, Name: "s"}, &MPoolOp{}, func(m message.Message) bool { x := m.(*MPoolOp); return x.Pool == 3 && x.Name == "s" }},
		{&MPoolOpReply{Tid: 8, Result: -17, Epoch: 9, Data: []byte{1, 2}}, &MPoolOpReply{}, func(m message.Message) bool {
			x := m.(*MPoolOpReply)
			return x.Result == -17 && x.Epoch == 9 && len(x.Data) == 2
		}},
	} {
		roundTrip(t, tc.m, tc.fresh)
		if !tc.check(tc.fresh) {
			t.Errorf("%T: %+v", tc.m, tc.fresh)
		}
	}
}

func FuzzDecodeMonPoolReplies(f *testing.F) {
	for _, m := range []message.Message{
		&MStatfsReply{KB: 1}, &MPoolOpReply{Data: []byte{1}},
		&MGetPoolStatsReply{Stats: map[string]PoolStat{"p": {NumBytes: 1}}},
	} {
		var h message.Header
		var p message.Payload
		m.Encode(&h, 0, &p)
		f.Add(m.Type(), p.Front)
	}
	f.Fuzz(func(t *testing.T, typ uint16, front []byte) {
		h := message.Header{Version: 2}
		p := message.Payload{Front: front}
		for _, m := range []message.Message{&MStatfsReply{}, &MPoolOpReply{}, &MGetPoolStatsReply{}, &MStatfs{}, &MPoolOp{}, &MGetPoolStats{}} {
			m.Decode(&h, 0, &p)
		}
	})
}

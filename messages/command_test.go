package messages

import (
	"net/netip"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

func TestCommandMessages(t *testing.T) {
	c := &MCommand{}
	roundTrip(t, &MCommand{Tid: 9, Cmd: []string{`{"prefix":"version"}`}, Data: []byte("in")}, c)
	if c.Tid != 9 || c.Cmd[0] != `{"prefix":"version"}` || string(c.Data) != "in" {
		t.Fatalf("%+v", c)
	}
	r := &MCommandReply{}
	roundTrip(t, &MCommandReply{Tid: 9, Result: -22, Status: "bad", Data: []byte("out")}, r)
	if r.Result != -22 || r.Status != "bad" || string(r.Data) != "out" {
		t.Fatalf("%+v", r)
	}
	addr := encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Nonce: 5, Addr: netip.MustParseAddrPort("127.0.0.1:6800")}
	m := &MMgrMap{}
	var h message.Header
	var p message.Payload
	(&MMgrMap{Epoch: 4, ActiveAddr: encoding.EntityAddrVec{addr}, ActiveGID: 4100, Available: true, ActiveName: "x"}).Encode(&h, encoding.FeaturesAll, &p)
	if err := m.Decode(&h, 0, &p); err != nil || m.Epoch != 4 || !m.Available || m.ActiveName != "x" || m.ActiveAddr[0] != addr {
		t.Fatalf("%+v %v", m, err)
	}
}

func FuzzDecodeCommandMessages(f *testing.F) {
	var h message.Header
	var p message.Payload
	(&MCommandReply{Result: 1, Status: "s"}).Encode(&h, 0, &p)
	f.Add(p.Front)
	p = message.Payload{}
	(&MMgrMap{Epoch: 1, ActiveName: "x"}).Encode(&h, encoding.FeaturesAll, &p)
	f.Add(p.Front)
	f.Fuzz(func(t *testing.T, front []byte) {
		p := message.Payload{Front: front}
		for _, m := range []message.Message{&MCommand{}, &MCommandReply{}, &MMgrMap{}} {
			m.Decode(&message.Header{Version: 1}, 0, &p)
		}
	})
}

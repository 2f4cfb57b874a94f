package osdc_test

import (
	"context"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	. "github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdc/osdctest"
)

// echoOSD answers every MOSDOp at once, on the sender's goroutine, with no
// encoding: what is measured is the Objecter's own cost per op.
type echoOSD struct{ o *Objecter }

type echoConn struct{ d *echoOSD }

func (d *echoOSD) DialOSD(int32, encoding.EntityAddrVec) (Conn, error) { return &echoConn{d}, nil }

func (c *echoConn) Send(m message.Message) error {
	op := m.(*messages.MOSDOp)
	r := osdctest.Reply(op, 0)
	go c.d.o.HandleMessage(c, r)
	return nil
}

func (c *echoConn) Close() {}

func BenchmarkObjecterWrite4K(b *testing.B) {
	d := &echoOSD{}
	o := New(d, Config{})
	d.o = o
	defer o.Close()
	o.HandleOSDMap(osdctest.DeriveMap(osdctest.BaseMap(b), 10, 1, nil, nil))
	data := make([]byte, 4096)
	ctx := context.Background()
	req := &Request{Pool: 1, Oid: "obj", Ops: []messages.OSDOp{messages.NewWriteFullOp(data)}}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := o.Do(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMOSDOpEncode(b *testing.B) {
	m := &messages.MOSDOp{Oid: "benchmark_data_host_1234_object99", Ops: []messages.OSDOp{messages.NewWriteFullOp(make([]byte, 4096))},
		Locator: messages.ObjectLocator{Pool: 1, Hash: -1}, Features: encoding.FeaturesAll}
	var p message.Payload
	b.ReportAllocs()
	for b.Loop() {
		if _, err := message.EncodeMessage(m, encoding.FeaturesAll, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMOSDOpReplyDecode decodes a 4 KiB read's reply as the
// messenger does (a new message, then Decode).
func BenchmarkMOSDOpReplyDecode(b *testing.B) {
	r := &messages.MOSDOpReply{Tid: 7, Oid: "benchmark_data_host_1234_object99", Result: 0, Epoch: 10,
		Ops: []messages.OSDOp{{Op: messages.OpRead, Data: make([]byte, 4096)}}, UserVersion: 3}
	var p message.Payload
	h, err := message.EncodeMessage(r, encoding.FeaturesAll, &p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m := new(messages.MOSDOpReply)
		q := p
		if err := m.Decode(&h, encoding.FeaturesAll, &q); err != nil || len(m.Ops) != 1 {
			b.Fatal(err)
		}
	}
}

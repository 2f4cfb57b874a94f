package messages

import (
	"bytes"
	"testing"
)

func TestOpArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   OSDOp
		args []byte // the first bytes of ceph_osd_op's union
		data []byte
	}{
		{"assert_ver", NewAssertVersionOp(0x0102), []byte{0, 0, 0, 0, 0, 0, 0, 0, 2, 1}, nil},
		{"cmpext", NewCmpExtOp(3, []byte("ab")), []byte{3, 0, 0, 0, 0, 0, 0, 0, 2}, []byte("ab")},
		{"writesame", NewWriteSameOp(1, 8, []byte("ab")), []byte{1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2}, []byte("ab")},
		{"alloc hint", NewSetAllocHintOp(5, 6, 7), []byte{5, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0}, nil},
		{"rollback", NewRollbackOp(9), []byte{9}, nil},
		{"checksum", NewChecksumOp(2, 1, 8, 4, []byte{0xff}), []byte{1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2}, []byte{0xff}},
		{"watch", NewWatchOp(0x11, WatchOpReconnect, 2, 30), []byte{0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2, 0, 0, 0, 30}, nil},
		{"notify", NewNotifyOp(0x22, 10, []byte("p")), []byte{0x22}, []byte{1, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 'p'}},
		{"notify ack", NewNotifyAckOp(1, 2, []byte("r")), nil, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'r'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !bytes.Equal(tc.op.Args[:len(tc.args)], tc.args) || !bytes.Equal(tc.op.Data, tc.data) {
				t.Fatalf("args % x data % x", tc.op.Args, tc.op.Data)
			}
		})
	}
	op, err := NewCallOp("lock", "get_info", []byte("in"))
	if err != nil || !bytes.Equal(op.Args[:7], []byte{4, 8, 0, 2, 0, 0, 0}) || string(op.Data) != "lockget_infoin" {
		t.Fatalf("call: % x %q %v", op.Args, op.Data, err)
	}
	if _, err := NewCallOp(string(make([]byte, 256)), "m", nil); err == nil {
		t.Fatal("a 256-byte class name was accepted")
	}
}

func TestNotifyResult(t *testing.T) {
	acks := []NotifyAck{{NotifierID: 4100, Cookie: 1, Response: []byte("ok")}, {NotifierID: 4101, Cookie: 7}}
	missed := []NotifyTimeout{{NotifierID: 4102, Cookie: 3}}
	b := AppendNotifyResult(nil, acks, missed)
	a2, m2, err := DecodeNotifyResult(b)
	if err != nil || len(a2) != 2 || string(a2[0].Response) != "ok" || a2[1].Cookie != 7 || len(m2) != 1 || m2[0].NotifierID != 4102 {
		t.Fatalf("%+v %+v %v", a2, m2, err)
	}
	for n := range len(b) {
		if _, _, err := DecodeNotifyResult(b[:n]); err == nil {
			t.Fatalf("%d of %d bytes decoded", n, len(b))
		}
	}
}

func FuzzDecodeNotifyResult(f *testing.F) {
	f.Add(AppendNotifyResult(nil, []NotifyAck{{NotifierID: 1, Cookie: 2, Response: []byte("x")}}, []NotifyTimeout{{NotifierID: 3, Cookie: 4}}))
	f.Fuzz(func(t *testing.T, p []byte) {
		acks, missed, err := DecodeNotifyResult(p)
		if err != nil {
			return
		}
		a2, m2, err := DecodeNotifyResult(AppendNotifyResult(nil, acks, missed))
		if err != nil || len(a2) != len(acks) || len(m2) != len(missed) {
			t.Fatalf("re-encoded result differs: %v", err)
		}
	})
}

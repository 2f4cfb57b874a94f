package messages

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

func osdSampleOp() *MOSDOp {
	return &MOSDOp{
		PGID:         SPG{PG: PG{Pool: 3, Seed: 5}, Shard: ShardNone},
		Hash:         0xdeadbee5,
		Epoch:        42,
		Flags:        FlagKnownRedir | FlagWrite | FlagOnDisk,
		ReqID:        ReqID{Name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 4100}, Tid: 9, Inc: 1},
		ClientInc:    1,
		Mtime:        encoding.UTime{Sec: 1700000000, Nsec: 5},
		Locator:      ObjectLocator{Pool: 3, Namespace: "ns", Hash: -1},
		Oid:          "greeting",
		Ops:          []OSDOp{NewCreateOp(true), NewWriteOp(8, []byte("hello")), NewSetXattrOp("user.a", []byte("b"))},
		Snap:         SnapHead,
		SnapSeq:      7,
		Snaps:        []uint64{7, 3},
		RetryAttempt: 2,
		Features:     encoding.FeaturesAll,
	}
}

func TestMOSDOpRoundTrip(t *testing.T) {
	m := osdSampleOp()
	front := m.AppendFront(nil)
	data := m.DataSegment()
	if want := "hellouser.ab"; string(data) != want || m.DataLen() != len(want) {
		t.Fatalf("data %q", data)
	}
	got, err := DecodeMOSDOp(MOSDOpVersion, front, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	if got.Ops[1].Offset() != 8 || got.Ops[1].Length() != 5 || got.Ops[0].Flags != OpFlagExcl {
		t.Fatalf("ops %+v", got.Ops)
	}
}

func TestMOSDOpSingleDataNotCopied(t *testing.T) {
	buf := []byte("0123456789")
	m := &MOSDOp{Ops: []OSDOp{NewStatOp(), NewWriteFullOp(buf)}}
	if d := m.DataSegment(); &d[0] != &buf[0] {
		t.Fatal("single-op data was copied")
	}
}

func TestMOSDOpReplyRoundTrip(t *testing.T) {
	stat := AppendStat(nil, ObjectStat{Size: 4096, Mtime: encoding.UTime{Sec: 1, Nsec: 2}})
	tests := []struct {
		name string
		r    *MOSDOpReply
	}{
		{"stat", &MOSDOpReply{
			Oid: "o", PGID: PG{Pool: 1, Seed: 2}, Flags: int64(FlagOnDisk | FlagAck), Epoch: 9,
			Ops:          []OSDOp{{Op: OpStat, Data: stat}, {Op: OpRead, Data: []byte("xyz"), Rval: 0}},
			RetryAttempt: 0, ReplayVersion: EVersion{Version: 3, Epoch: 9}, UserVersion: 3,
		}},
		{"enoent", &MOSDOpReply{Oid: "missing", Result: -2, Ops: []OSDOp{{Op: OpStat, Rval: -2}}, RetryAttempt: -1}},
		{"redirect", &MOSDOpReply{Oid: "r", Ops: []OSDOp{{Op: OpRead}}, Redirect: &RequestRedirect{
			Locator: ObjectLocator{Pool: 7, Hash: -1}, Object: "other", OSDInstructions: []byte{1, 2},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMOSDOpReply(MOSDOpReplyVersion, tt.r.AppendFront(nil), tt.r.DataSegment())
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Ops {
				if len(got.Ops[i].Data) == 0 {
					got.Ops[i].Data = tt.r.Ops[i].Data // nil vs empty
				}
			}
			// Ops may live in the reply's inline room: compared apart.
			g, w := *got, *tt.r
			g.Ops, g.opsInline, w.Ops = nil, [1]OSDOp{}, nil
			if !reflect.DeepEqual(got.Ops, tt.r.Ops) || !reflect.DeepEqual(g, w) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.r)
			}
		})
	}
}

func TestMOSDBackoffRoundTrip(t *testing.T) {
	m := &MOSDBackoff{
		PGID: SPG{PG: PG{Pool: 1, Seed: 3}, Shard: ShardNone}, Epoch: 20, Op: BackoffBlock, ID: 77,
		Begin: HObject{Oid: "a", Snap: SnapHead, Hash: 3, Pool: 1},
		End:   HObject{Oid: "b", Snap: SnapHead, Hash: 3, Pool: 1},
	}
	got, err := DecodeMOSDBackoff(MOSDBackoffVersion, m.AppendFront(nil))
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	bad := *m
	bad.Op = 9
	if _, err := DecodeMOSDBackoff(MOSDBackoffVersion, bad.AppendFront(nil)); !errors.Is(err, encoding.ErrMalformed) {
		t.Fatalf("op 9: %v", err)
	}
}

func TestOSDDecodeErrors(t *testing.T) {
	op := osdSampleOp()
	front, data := op.AppendFront(nil), op.DataSegment()
	rep := &MOSDOpReply{Oid: "o", Ops: []OSDOp{{Op: OpRead, Data: []byte("abcd")}}}
	rfront, rdata := rep.AppendFront(nil), rep.DataSegment()

	// An MOSDOp claiming 65535 ops in a short front.
	huge := bytes.Clone(front)
	nopsAt := len(AppendSPG(nil, op.PGID)) + 12 + 27 + 24 + 4 + 8 + len(AppendObjectLocator(nil, op.Locator)) + 4 + len(op.Oid)
	huge[nopsAt], huge[nopsAt+1] = 0xff, 0xff
	// An MOSDOpReply claiming 2^32-1 ops.
	rhuge := bytes.Clone(rfront)
	rnopsAt := 4 + len(rep.Oid) + pgEncodedSize + 8 + 4 + 12 + 4
	copy(rhuge[rnopsAt:], []byte{0xff, 0xff, 0xff, 0xff})

	tests := []struct {
		name string
		fn   func() error
		want error
	}{
		{"op version 7", func() error { _, err := DecodeMOSDOp(7, front, data); return err }, ErrOSDVersion},
		{"op truncated front", func() error { _, err := DecodeMOSDOp(8, front[:len(front)-1], data); return err }, encoding.ErrTruncated},
		{"op short data", func() error { _, err := DecodeMOSDOp(8, front, data[:3]); return err }, encoding.ErrTruncated},
		{"op huge op count", func() error { _, err := DecodeMOSDOp(8, huge, data); return err }, encoding.ErrTooLarge},
		{"op empty", func() error { _, err := DecodeMOSDOp(8, nil, nil); return err }, encoding.ErrTruncated},
		{"reply version 10", func() error { _, err := DecodeMOSDOpReply(10, rfront, rdata); return err }, ErrOSDVersion},
		{"reply truncated", func() error { _, err := DecodeMOSDOpReply(8, rfront[:20], rdata); return err }, encoding.ErrTruncated},
		{"reply short data", func() error { _, err := DecodeMOSDOpReply(8, rfront, rdata[:1]); return err }, encoding.ErrTruncated},
		{"reply huge op count", func() error { _, err := DecodeMOSDOpReply(8, rhuge, rdata); return err }, encoding.ErrTooLarge},
		{"backoff truncated", func() error { _, err := DecodeMOSDBackoff(1, []byte{1, 1}); return err }, encoding.ErrTruncated},
		{"backoff version 0", func() error { _, err := DecodeMOSDBackoff(0, nil); return err }, ErrOSDVersion},
		{"pgnls truncated", func() error { _, err := DecodePGNLSResponse([]byte{1, 1, 9, 0, 0, 0}); return err }, encoding.ErrTruncated},
		{"stat short", func() error { _, err := DecodeStat(make([]byte, 15)); return err }, encoding.ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOSDOpArgs(t *testing.T) {
	tests := []struct {
		name           string
		op             OSDOp
		code           uint16
		off, length    uint64
		data           string
		write, hasData bool
	}{
		{"read", NewReadOp(10, 20), OpRead, 10, 20, "", false, false},
		{"write", NewWriteOp(5, []byte("abc")), OpWrite, 5, 3, "abc", true, true},
		{"writefull", NewWriteFullOp([]byte("abcd")), OpWriteFull, 0, 4, "abcd", true, true},
		{"append", NewAppendOp([]byte("z")), OpAppend, 0, 1, "z", true, true},
		{"truncate", NewTruncateOp(99), OpTruncate, 99, 0, "", true, false},
		{"zero", NewZeroOp(1, 2), OpZero, 1, 2, "", true, false},
		{"delete", NewDeleteOp(), OpDelete, 0, 0, "", true, false},
		{"stat", NewStatOp(), OpStat, 0, 0, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.op
			if o.Op != tt.code || o.Offset() != tt.off || o.Length() != tt.length || string(o.Data) != tt.data ||
				OSDOpIsWrite(o.Op) != tt.write || (len(o.Data) > 0) != tt.hasData || OSDOpName(o.Op) != tt.name {
				t.Fatalf("%+v (%s)", o, OSDOpName(o.Op))
			}
		})
	}
	x := NewGetXattrOp("user.k")
	if n, v, ok := x.XattrName(); !ok || n != "user.k" || len(v) != 0 || x.XattrNameLen() != 6 || x.XattrValueLen() != 0 {
		t.Fatalf("getxattr %q %q %v", n, v, ok)
	}
	bad := OSDOp{Op: OpSetXattr, Data: []byte("ab")}
	bad.Args[0] = 5
	if _, _, ok := bad.XattrName(); ok {
		t.Fatal("xattr lengths past data accepted")
	}
}

func TestOmapEncodings(t *testing.T) {
	kv := map[string][]byte{"b": []byte("2"), "a": []byte("1"), "c": nil}
	set := NewOmapSetValsOp(kv)
	d := encoding.NewDecoder(set.Data)
	if got := DecodeBufferMap(d); d.Err() != nil || len(got) != 3 || string(got["a"]) != "1" || string(got["b"]) != "2" {
		t.Fatalf("map %v err %v", got, d.Err())
	}
	// std::map order: a, b, c.
	if want := "\x03\x00\x00\x00\x01\x00\x00\x00a\x01\x00\x00\x001"; !bytes.HasPrefix(set.Data, []byte(want)) {
		t.Fatalf("map encoding % x", set.Data)
	}
	rm := NewOmapRmKeysOp([]string{"z", "a", "z"})
	if got := encoding.NewDecoder(rm.Data).StringSlice(); !reflect.DeepEqual(got, []string{"a", "z"}) {
		t.Fatalf("set %q", got)
	}
	keysOut := encoding.AppendBool(encoding.AppendStringSlice(nil, []string{"k1", "k2"}), true)
	if keys, more, err := DecodeOmapKeys(keysOut); err != nil || !more || !reflect.DeepEqual(keys, []string{"k1", "k2"}) {
		t.Fatalf("keys %q more %v err %v", keys, more, err)
	}
	valsOut := encoding.AppendBool(AppendBufferMap(nil, kv), false)
	if vals, more, err := DecodeOmapVals(valsOut); err != nil || more || len(vals) != 3 {
		t.Fatalf("vals %v more %v err %v", vals, more, err)
	}
	g := NewOmapGetValsOp("a", "p", 10)
	d = encoding.NewDecoder(g.Data)
	if d.String() != "a" || d.U64() != 10 || d.String() != "p" || d.Remaining() != 0 {
		t.Fatalf("get-vals input % x", g.Data)
	}
	k := NewOmapGetKeysOp("", 5)
	d = encoding.NewDecoder(k.Data)
	if d.String() != "" || d.U64() != 5 || d.Remaining() != 0 || k.Op != OpOmapGetKeys {
		t.Fatalf("get-keys input % x", k.Data)
	}
}

func TestOSDMessagesInterface(t *testing.T) {
	var _ message.Message = (*MOSDOp)(nil)
	var _ message.Message = (*MOSDOpReply)(nil)
	var _ message.Message = (*MOSDBackoff)(nil)

	op := osdSampleOp()
	op.Tid = 12
	var p message.Payload
	if _, err := message.EncodeMessage(op, encoding.FeatureMsgAddr2, &p); !errors.Is(err, ErrOSDVersion) {
		t.Fatalf("encode for a pre-Luminous peer: %v", err)
	}
	h, err := message.EncodeMessage(op, encoding.FeaturesAll, &p)
	if err != nil || h.Tid != 12 || h.Priority != OSDClientOpPriority || h.Version != MOSDOpVersion || h.DataLen != uint32(op.DataLen()) {
		t.Fatalf("header %+v err %v", h, err)
	}
	reg := message.NewRegistry()
	if err := RegisterOSD(reg); err != nil {
		t.Fatal(err)
	}
	if err := RegisterOSD(reg); !errors.Is(err, message.ErrRegistered) {
		t.Fatalf("second registration: %v", err)
	}
	got, err := reg.Decode(&h, encoding.FeaturesAll, &p)
	if err != nil {
		t.Fatal(err)
	}
	g := got.(*MOSDOp)
	// Decode must not alias the frame buffer.
	p.Data[0] ^= 0xff
	if g.Tid != 12 || string(g.Ops[1].Data) != "hello" {
		t.Fatalf("decoded %+v", g)
	}
	h.Version = 7
	if _, err := reg.Decode(&h, encoding.FeaturesAll, &p); !errors.Is(err, ErrOSDVersion) {
		t.Fatalf("v7: %v", err)
	}
}

// TestMOSDOpFrontLen: the size Encode reserves for the front is exactly
// what AppendFront writes, so that the front costs one allocation.
func TestMOSDOpFrontLen(t *testing.T) {
	for _, m := range []*MOSDOp{
		{},
		{Oid: "benchmark_data_host_1234_object99", Ops: []OSDOp{NewWriteFullOp(make([]byte, 4096))}, Locator: ObjectLocator{Pool: 1, Hash: -1}},
		{Oid: "o", Locator: ObjectLocator{Pool: 3, Key: "key", Namespace: "ns", Hash: 7}, Ops: []OSDOp{NewStatOp(), NewReadOp(0, 10), NewSetXattrOp("a", []byte("b"))},
			Snaps: []uint64{4, 3, 2}, SnapSeq: 4, Trace: TraceInfo{TraceID: 1}},
	} {
		if got, want := m.frontLen(), len(m.AppendFront(nil)); got != want {
			t.Errorf("%s: frontLen %d, AppendFront wrote %d", m.Oid, got, want)
		}
	}
}

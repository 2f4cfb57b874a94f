package messages

import (
	"testing"
)

// osdFuzzSeeds adds every captured MOSDOp (want == TypeOSDOp) or
// MOSDOpReply front and data segment to f.
func osdFuzzSeeds(f *testing.F, want uint16) {
	for _, mode := range []string{"none-crc", "cephx-crc"} { // the secure ones hold the same messages
		for _, cmd := range []string{"1-put", "2-stat", "3-get", "4-setxattr", "5-getxattr", "6-ls", "7-rm"} {
			dir := ".conn0.client-to-osd.bin"
			if want == TypeOSDOpReply {
				dir = ".conn0.osd-to-client.bin"
			}
			for _, m := range osdWalkStream(f, osdReadTestdata(f, mode, cmd+dir)) {
				f.Add(m.payload.Front, m.payload.Data)
			}
		}
	}
}

func FuzzDecodeMOSDOp(f *testing.F) {
	osdFuzzSeeds(f, TypeOSDOp)
	f.Fuzz(func(t *testing.T, front, data []byte) {
		m, err := DecodeMOSDOp(MOSDOpVersion, front, data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to a message that decodes alike.
		m2, err := DecodeMOSDOp(MOSDOpVersion, m.AppendFront(nil), m.DataSegment())
		if err != nil {
			t.Fatalf("re-encoded MOSDOp does not decode: %v", err)
		}
		if len(m2.Ops) != len(m.Ops) || m2.Oid != m.Oid || m2.DataLen() != m.DataLen() {
			t.Fatalf("re-encoded MOSDOp differs")
		}
	})
}

func FuzzDecodeMOSDOpReply(f *testing.F) {
	osdFuzzSeeds(f, TypeOSDOpReply)
	f.Fuzz(func(t *testing.T, front, data []byte) {
		r, err := DecodeMOSDOpReply(MOSDOpReplyVersion, front, data)
		if err != nil {
			return
		}
		r2, err := DecodeMOSDOpReply(MOSDOpReplyVersion, r.AppendFront(nil), r.DataSegment())
		if err != nil {
			t.Fatalf("re-encoded MOSDOpReply does not decode: %v", err)
		}
		if len(r2.Ops) != len(r.Ops) || r2.Oid != r.Oid || r2.Result != r.Result {
			t.Fatalf("re-encoded MOSDOpReply differs")
		}
		// Op outputs are parsed by callers; they must fail cleanly too.
		for i := range r.Ops {
			_, _ = DecodePGNLSResponse(r.Ops[i].Data)
			_, _ = DecodeStat(r.Ops[i].Data)
			_, _, _ = DecodeOmapVals(r.Ops[i].Data)
			_, _, _ = DecodeOmapKeys(r.Ops[i].Data)
		}
	})
}

func FuzzDecodeMOSDBackoff(f *testing.F) {
	m := &MOSDBackoff{
		PGID: SPG{PG: PG{Pool: 1, Seed: 3}, Shard: ShardNone}, Epoch: 20, Op: BackoffBlock, ID: 77,
		Begin: HObject{Oid: "a", Snap: SnapHead, Hash: 3, Pool: 1}, End: HObject{Oid: "b", Snap: SnapHead, Hash: 3, Pool: 1},
	}
	f.Add(m.AppendFront(nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, front []byte) {
		b, err := DecodeMOSDBackoff(MOSDBackoffVersion, front)
		if err != nil {
			return
		}
		if _, err := DecodeMOSDBackoff(MOSDBackoffVersion, b.AppendFront(nil)); err != nil {
			t.Fatalf("re-encoded MOSDBackoff does not decode: %v", err)
		}
	})
}

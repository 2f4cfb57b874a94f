package messages

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// This file walks the captured msgr2 streams between the real `rados` CLI
// and a Pacific OSD (testdata/osd, copied from shared/vectors/ceph-16.2.15/
// osd) with a minimal msgr2.1 crc-mode reader of its own, so that the OSD
// message codecs are checked against real bytes independently of
// internal/wire.

// osdCapturedMsg is one MESSAGE frame: the fields of ceph_msg_header2 the
// tests need, and the front and data segments.
type osdCapturedMsg struct {
	hdr     message.Header
	payload message.Payload
}

const (
	osdTagMessage      = 17
	osdPreambleLen     = 32
	osdEpilogueLen     = 13
	osdBannerPrefixLen = 8
)

// osdWalkStream returns the MESSAGE frames of a crc-mode msgr2.1 stream,
// checking every crc. A truncated final frame ends the walk.
func osdWalkStream(t testing.TB, stream []byte) []osdCapturedMsg {
	t.Helper()
	if !bytes.HasPrefix(stream, []byte("ceph v2\n")) || len(stream) < osdBannerPrefixLen+2 {
		t.Fatal("no msgr2 banner")
	}
	off := osdBannerPrefixLen + 2 + int(binary.LittleEndian.Uint16(stream[osdBannerPrefixLen:]))
	var msgs []osdCapturedMsg
	for off+osdPreambleLen <= len(stream) {
		pre := stream[off : off+osdPreambleLen]
		if got, want := encoding.CRC32C(0, pre[:28]), binary.LittleEndian.Uint32(pre[28:]); got != want {
			t.Fatalf("preamble crc at %d: %#x != %#x", off, got, want)
		}
		tag, nseg := pre[0], int(pre[1])
		if nseg < 1 || nseg > 4 {
			t.Fatalf("segment count %d at %d", nseg, off)
		}
		var lens [4]int
		for i := range 4 {
			lens[i] = int(binary.LittleEndian.Uint32(pre[2+6*i:]))
		}
		start := off
		off += osdPreambleLen
		need := lens[0] + 4
		if nseg > 1 {
			need += lens[1] + lens[2] + lens[3] + osdEpilogueLen
		}
		if off+need > len(stream) {
			break // capture cut mid-frame
		}
		var segs [4][]byte
		segs[0] = stream[off : off+lens[0]]
		off += lens[0]
		if got, want := encoding.CRC32C(0xffffffff, segs[0]), binary.LittleEndian.Uint32(stream[off:]); got != want {
			t.Fatalf("segment 0 crc at %d: %#x != %#x", off, got, want)
		}
		off += 4
		if nseg > 1 {
			for i := 1; i < 4; i++ {
				segs[i] = stream[off : off+lens[i]]
				off += lens[i]
			}
			epi := stream[off : off+osdEpilogueLen]
			off += osdEpilogueLen
			for i := 1; i < 4; i++ {
				// Ceph sends an empty segment's crc as 0 or as the bare
				// seed, depending on whether the segment was counted.
				want := binary.LittleEndian.Uint32(epi[1+4*(i-1):])
				if got := encoding.CRC32C(0xffffffff, segs[i]); got != want && (len(segs[i]) > 0 || want != 0) {
					t.Fatalf("segment %d crc at %d: %#x != %#x", i, start, got, want)
				}
			}
		}
		if tag != osdTagMessage {
			continue
		}
		if len(segs[0]) != message.Header2Size {
			t.Fatalf("message header of %d bytes", len(segs[0]))
		}
		var m osdCapturedMsg
		if err := message.DecodeHeader2(&m.hdr, segs[0]); err != nil {
			t.Fatal(err)
		}
		m.payload = message.Payload{Front: segs[1], Middle: segs[2], Data: segs[3]}
		msgs = append(msgs, m)
	}
	return msgs
}

func osdReadTestdata(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata", "osd"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// osdExchange is one captured command's ops and replies, decoded and
// checked to re-encode to the captured bytes.
type osdExchange struct {
	ops     []*MOSDOp
	replies []*MOSDOpReply
	tids    []uint64 // request tids, in order
	rtids   []uint64 // reply tids, in order
}

func osdLoadExchange(t *testing.T, mode, cmd string) osdExchange {
	t.Helper()
	var toOSD, fromOSD []osdCapturedMsg
	if mode == "cephx-secure" {
		toOSD, fromOSD = osdSecureMessages(t, cmd)
	} else {
		toOSD = osdWalkStream(t, osdReadTestdata(t, mode, cmd+".conn0.client-to-osd.bin"))
		fromOSD = osdWalkStream(t, osdReadTestdata(t, mode, cmd+".conn0.osd-to-client.bin"))
	}
	var ex osdExchange
	for _, c := range toOSD {
		op := &MOSDOp{}
		osdCheckMessage(t, c, op, OSDClientOpPriority)
		ex.ops = append(ex.ops, op)
		ex.tids = append(ex.tids, c.hdr.Tid)
	}
	for _, c := range fromOSD {
		r := &MOSDOpReply{}
		osdCheckMessage(t, c, r, message.PrioDefault)
		ex.replies = append(ex.replies, r)
		ex.rtids = append(ex.rtids, c.hdr.Tid)
	}
	if len(ex.ops) == 0 || len(ex.ops) != len(ex.replies) {
		t.Fatalf("%d ops, %d replies", len(ex.ops), len(ex.replies))
	}
	return ex
}

// osdCheckMessage decodes a captured message into m through the
// message.Message interface, and checks that encoding m again gives the
// captured header fields and segments.
func osdCheckMessage(t *testing.T, c osdCapturedMsg, m message.Message, prio uint16) {
	t.Helper()
	v, compat := m.Version()
	if c.hdr.Type != m.Type() || c.hdr.Version != v || c.hdr.CompatVersion != compat || c.hdr.Priority != prio {
		t.Fatalf("captured header %+v; %T encodes type %d v%d compat %d prio %d", c.hdr, m, m.Type(), v, compat, prio)
	}
	if err := m.Decode(&c.hdr, encoding.FeaturesAll, &c.payload); err != nil {
		t.Fatal(err)
	}
	var p message.Payload
	h, err := message.EncodeMessage(m, encoding.FeaturesAll, &p)
	if err != nil {
		t.Fatal(err)
	}
	if h.Tid != c.hdr.Tid || h.Priority != c.hdr.Priority || h.DataOff != c.hdr.DataOff || h.Type != c.hdr.Type {
		t.Fatalf("header re-encodes as %+v, captured %+v", h, c.hdr)
	}
	if !bytes.Equal(p.Front, c.payload.Front) {
		t.Fatalf("%T front re-encodes differently:\n got % x\nwant % x", m, p.Front, c.payload.Front)
	}
	if len(p.Middle) != 0 || len(c.payload.Middle) != 0 || !bytes.Equal(p.Data, c.payload.Data) {
		t.Fatalf("%T middle/data re-encode differently", m)
	}
}

// osdSingle checks the common shape of a one-op exchange and returns the
// op and its reply.
func osdSingle(t *testing.T, ex osdExchange, wantOp uint16, wantFlags uint32) (*MOSDOp, *MOSDOpReply) {
	t.Helper()
	if len(ex.ops) != 1 {
		t.Fatalf("%d requests", len(ex.ops))
	}
	op, r := ex.ops[0], ex.replies[0]
	if ex.tids[0] != ex.rtids[0] {
		t.Fatalf("reply tid %d for request tid %d", ex.rtids[0], ex.tids[0])
	}
	if op.Oid != "obj1" || r.Oid != "obj1" {
		t.Fatalf("oid %q / %q", op.Oid, r.Oid)
	}
	if len(op.Ops) != 1 || op.Ops[0].Op != wantOp || len(r.Ops) != 1 || r.Ops[0].Op != wantOp {
		t.Fatalf("ops %v, reply ops %v, want %s", op.Ops, r.Ops, OSDOpName(wantOp))
	}
	if op.Flags != wantFlags {
		t.Fatalf("flags %#x, want %#x", op.Flags, wantFlags)
	}
	// Pool 1 ("vec") has 8 PGs: the PG seed is the name's hash mod 8, and
	// the reply names the same PG.
	if op.Locator.Pool != 1 || op.PGID.Pool != 1 || op.PGID.Shard != ShardNone || op.PGID.Seed != op.Hash&7 {
		t.Fatalf("placement: locator %+v pgid %+v hash %#x", op.Locator, op.PGID, op.Hash)
	}
	if r.PGID != op.PGID.PG {
		t.Fatalf("reply pg %v, request pg %v", r.PGID, op.PGID.PG)
	}
	if op.Locator.Hash != -1 || op.Locator.Key != "" || op.Locator.Namespace != "" {
		t.Fatalf("locator %+v", op.Locator)
	}
	if op.Snap != SnapHead || op.RetryAttempt != 0 || r.RetryAttempt != 0 {
		t.Fatalf("snap %#x retry %d/%d", op.Snap, op.RetryAttempt, r.RetryAttempt)
	}
	if r.Result != 0 || r.Ops[0].Rval != 0 || r.Redirect != nil {
		t.Fatalf("result %d rval %d redirect %v", r.Result, r.Ops[0].Rval, r.Redirect)
	}
	if !r.OnDisk() || r.Epoch != op.Epoch {
		t.Fatalf("reply flags %#x epoch %d (request epoch %d)", r.Flags, r.Epoch, op.Epoch)
	}
	return op, r
}

const (
	osdReadFlags  = FlagKnownRedir | FlagRead | FlagOnDisk
	osdWriteFlags = FlagKnownRedir | FlagWrite | FlagOnDisk
)

var osdCaptureModes = []string{"none-crc", "cephx-crc", "cephx-secure"}

func TestOSDCapturePut(t *testing.T) {
	obj := osdReadTestdata(t, "obj1.data")
	for _, mode := range osdCaptureModes {
		t.Run(mode, func(t *testing.T) {
			op, r := osdSingle(t, osdLoadExchange(t, mode, "1-put"), OpWriteFull, osdWriteFlags)
			o := op.Ops[0]
			if o.Offset() != 0 || o.Length() != uint64(len(obj)) || !bytes.Equal(o.Data, obj) {
				t.Fatalf("writefull %d~%d, %d bytes of data", o.Offset(), o.Length(), len(o.Data))
			}
			if op.Mtime.IsZero() || op.Features == 0 {
				t.Fatalf("mtime %v features %#x", op.Mtime, op.Features)
			}
			if len(r.Ops[0].Data) != 0 || r.UserVersion == 0 {
				t.Fatalf("reply data %d bytes, user version %d", len(r.Ops[0].Data), r.UserVersion)
			}
		})
	}
}

func TestOSDCaptureStat(t *testing.T) {
	for _, mode := range osdCaptureModes {
		t.Run(mode, func(t *testing.T) {
			_, r := osdSingle(t, osdLoadExchange(t, mode, "2-stat"), OpStat, osdReadFlags)
			st, err := DecodeStat(r.Ops[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			// rados printed "vec/obj1 mtime 2026-11-26T14:37:07.000000+0000, size 4096"
			out := string(osdReadTestdata(t, mode, "2-stat.stdout"))
			want := fmt.Sprintf("vec/obj1 mtime %s.000000+0000, size %d",
				st.Mtime.Time().Format("2006-01-02T15:04:05"), st.Size)
			if strings.TrimSpace(out) != want || st.Size != 4096 {
				t.Fatalf("stat %+v gives %q, rados printed %q", st, want, out)
			}
			if st.Mtime.Time().Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("mtime %v", st.Mtime.Time())
			}
		})
	}
}

func TestOSDCaptureGet(t *testing.T) {
	obj := osdReadTestdata(t, "obj1.data")
	for _, mode := range osdCaptureModes {
		t.Run(mode, func(t *testing.T) {
			op, r := osdSingle(t, osdLoadExchange(t, mode, "3-get"), OpRead, osdReadFlags)
			o := op.Ops[0]
			// rados get reads in 4 MiB chunks; the OSD answers with what
			// the object holds and sets the extent to what it read.
			if o.Offset() != 0 || o.Length() != 4<<20 || len(o.Data) != 0 {
				t.Fatalf("read %d~%d with %d bytes of input", o.Offset(), o.Length(), len(o.Data))
			}
			ro := r.Ops[0]
			if !bytes.Equal(ro.Data, obj) || ro.Length() != uint64(len(obj)) {
				t.Fatalf("reply extent %d~%d, data %d bytes, equal %v", ro.Offset(), ro.Length(), len(ro.Data), bytes.Equal(ro.Data, obj))
			}
		})
	}
}

func TestOSDCaptureXattrs(t *testing.T) {
	for _, mode := range osdCaptureModes {
		t.Run(mode, func(t *testing.T) {
			op, _ := osdSingle(t, osdLoadExchange(t, mode, "4-setxattr"), OpSetXattr, osdWriteFlags)
			name, val, ok := op.Ops[0].XattrName()
			if !ok || name != "user.color" || string(val) != "blue" {
				t.Fatalf("setxattr %q=%q ok=%v", name, val, ok)
			}
			want := NewSetXattrOp("user.color", []byte("blue"))
			if op.Ops[0].Args != want.Args || !bytes.Equal(op.Ops[0].Data, want.Data) {
				t.Fatalf("NewSetXattrOp builds %+v, rados sent %+v", want, op.Ops[0])
			}

			op, r := osdSingle(t, osdLoadExchange(t, mode, "5-getxattr"), OpGetXattr, osdReadFlags)
			name, val, ok = op.Ops[0].XattrName()
			if !ok || name != "user.color" || len(val) != 0 {
				t.Fatalf("getxattr %q=%q ok=%v", name, val, ok)
			}
			if got, printed := string(r.Ops[0].Data), string(osdReadTestdata(t, mode, "5-getxattr.stdout")); got != "blue" || printed != got {
				t.Fatalf("getxattr returned %q, rados printed %q", got, printed)
			}
		})
	}
}

func TestOSDCaptureList(t *testing.T) {
	for _, mode := range osdCaptureModes {
		t.Run(mode, func(t *testing.T) {
			ex := osdLoadExchange(t, mode, "6-ls")
			if len(ex.ops) != 8 {
				t.Fatalf("%d listing requests, want one per PG (8)", len(ex.ops))
			}
			// The client starts at the pool's first PG and then follows the
			// cursor each reply hands back: the end of the PG in bitwise
			// (bit-reversed hash) order, which names the next PG, until a
			// Max cursor ends the pool.
			var names []string
			cursor := HObjectStart()
			seen := map[uint32]bool{}
			for i, op := range ex.ops {
				pg := cursor.Hash & 7
				if op.Oid != "" || op.PGID.Seed != pg || op.Hash != pg || op.Locator.Hash != int64(pg) || seen[pg] {
					t.Fatalf("request %d: oid %q pg %v hash %d locator %+v, want PG %d", i, op.Oid, op.PGID, op.Hash, op.Locator, pg)
				}
				seen[pg] = true
				if op.Flags != FlagKnownRedir|FlagIgnoreOverlay|FlagRead|FlagOnDisk {
					t.Fatalf("pgnls flags %#x", op.Flags)
				}
				o := op.Ops[0]
				if len(op.Ops) != 1 || o.Op != OpPGNLS || o.PGLSCount() != 1024 || o.PGLSStartEpoch() != op.Epoch {
					t.Fatalf("op %v count %d epoch %d", o, o.PGLSCount(), o.PGLSStartEpoch())
				}
				want := NewPGNLSOp(1024, op.Epoch, cursor)
				if o.Args != want.Args || !bytes.Equal(o.Data, want.Data) {
					t.Fatalf("request %d: NewPGNLSOp builds % x, rados sent % x", i, want.Data, o.Data)
				}
				r := ex.replies[i]
				// Result 1: this PG is exhausted.
				if ex.rtids[i] != ex.tids[i] || r.Result != 1 || r.Ops[0].Rval != 0 {
					t.Fatalf("reply %d: tid %d result %d rval %d", i, ex.rtids[i], r.Result, r.Ops[0].Rval)
				}
				resp, err := DecodePGNLSResponse(r.Ops[0].Data)
				if err != nil {
					t.Fatal(err)
				}
				if got := AppendPGNLSResponse(nil, resp); !bytes.Equal(got, r.Ops[0].Data) {
					t.Fatal("pg_nls_response_t re-encodes differently")
				}
				for _, e := range resp.Entries {
					names = append(names, e.Oid)
					if e.Namespace != "" || e.Locator != "" {
						t.Fatalf("entry %+v", e)
					}
				}
				cursor = resp.Handle
				if cursor.Max != (i == len(ex.ops)-1) {
					t.Fatalf("reply %d: cursor %+v", i, cursor)
				}
			}
			printed := strings.Fields(string(osdReadTestdata(t, mode, "6-ls.stdout")))
			if fmt.Sprint(names) != fmt.Sprint(printed) || len(names) != 1 {
				t.Fatalf("listed %q, rados printed %q", names, printed)
			}
		})
	}
}

func TestOSDCaptureRemove(t *testing.T) {
	for _, mode := range osdCaptureModes {
		t.Run(mode, func(t *testing.T) {
			// librados asks for per-op results on remove (RETURNVEC).
			op, _ := osdSingle(t, osdLoadExchange(t, mode, "7-rm"), OpDelete, osdWriteFlags|FlagReturnVec)
			if op.Ops[0].Args != NewDeleteOp().Args || len(op.Ops[0].Data) != 0 {
				t.Fatalf("delete %+v", op.Ops[0])
			}
		})
	}
}

// TestOSDCaptureBuilders checks that the op constructors produce what the
// real client sent for the data ops.
func TestOSDCaptureBuilders(t *testing.T) {
	obj := osdReadTestdata(t, "obj1.data")
	cases := []struct {
		cmd  string
		want OSDOp
	}{
		{"1-put", NewWriteFullOp(obj)},
		{"2-stat", NewStatOp()},
		{"3-get", NewReadOp(0, 4<<20)},
		{"5-getxattr", NewGetXattrOp("user.color")},
	}
	for _, c := range cases {
		ex := osdLoadExchange(t, "none-crc", c.cmd)
		got := ex.ops[0].Ops[0]
		if got.Op != c.want.Op || got.Flags != c.want.Flags || got.Args != c.want.Args || !bytes.Equal(got.Data, c.want.Data) {
			t.Errorf("%s: rados sent %+v, constructor builds %+v", c.cmd, got, c.want)
		}
	}
}

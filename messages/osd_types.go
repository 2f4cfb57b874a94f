package messages

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Message types of the OSD client path (src/include/ceph_fs.h).
const (
	TypeOSDOp      uint16 = 42 // CEPH_MSG_OSD_OP
	TypeOSDOpReply uint16 = 43 // CEPH_MSG_OSD_OPREPLY
	TypeOSDBackoff uint16 = 61 // CEPH_MSG_OSD_BACKOFF
)

// ErrOSDVersion reports an OSD message whose header version this package
// does not decode (Pacific sends MOSDOp v8, MOSDOpReply v8, MOSDBackoff v1).
var ErrOSDVersion = errors.New("messages: unsupported OSD message version")

// Snapshot ids (CEPH_NOSNAP, CEPH_SNAPDIR).
const (
	SnapHead uint64 = 0xfffffffffffffffe // CEPH_NOSNAP: the live object
	SnapDir  uint64 = 0xffffffffffffffff // CEPH_SNAPDIR
)

// ShardNone is shard_id_t::NO_SHARD, the shard of a replicated PG.
const ShardNone int8 = -1

// HObjectPoolMin is hobject_t's default pool (INT64_MIN): a listing cursor
// at the start of a PG.
const HObjectPoolMin int64 = -1 << 63

// OSD op codes (CEPH_OSD_OP_* in src/include/rados.h).
const (
	OpRead              uint16 = 0x1201
	OpStat              uint16 = 0x1202
	OpMapExt            uint16 = 0x1203
	OpSparseRead        uint16 = 0x1205
	OpNotify            uint16 = 0x1206
	OpNotifyAck         uint16 = 0x1207
	OpAssertVer         uint16 = 0x1208
	OpListWatchers      uint16 = 0x1209
	OpListSnaps         uint16 = 0x120a
	OpChecksum          uint16 = 0x121f
	OpCmpExt            uint16 = 0x1220
	OpWrite             uint16 = 0x2201
	OpWriteFull         uint16 = 0x2202
	OpTruncate          uint16 = 0x2203
	OpZero              uint16 = 0x2204
	OpDelete            uint16 = 0x2205
	OpAppend            uint16 = 0x2206
	OpCreate            uint16 = 0x220d
	OpRollback          uint16 = 0x220e
	OpWatch             uint16 = 0x220f
	OpSetAllocHint      uint16 = 0x2223
	OpWriteSame         uint16 = 0x2226
	OpOmapGetKeys       uint16 = 0x1211
	OpOmapGetVals       uint16 = 0x1212
	OpOmapGetHeader     uint16 = 0x1213
	OpOmapGetValsByKeys uint16 = 0x1214
	OpOmapSetVals       uint16 = 0x2215
	OpOmapSetHeader     uint16 = 0x2216
	OpOmapClear         uint16 = 0x2217
	OpOmapRmKeys        uint16 = 0x2218
	OpGetXattr          uint16 = 0x1301
	OpGetXattrs         uint16 = 0x1302
	OpCmpXattr          uint16 = 0x1303
	OpSetXattr          uint16 = 0x2301
	OpSetXattrs         uint16 = 0x2302
	OpRmXattr           uint16 = 0x2304
	OpCall              uint16 = 0x1401
	OpPGLS              uint16 = 0x1501
	OpPGNLS             uint16 = 0x1505
)

var osdOpNames = map[uint16]string{
	OpRead: "read", OpStat: "stat", OpMapExt: "mapext", OpSparseRead: "sparse-read",
	OpNotify: "notify", OpNotifyAck: "notify-ack", OpListWatchers: "list-watchers", OpListSnaps: "list-snaps",
	OpRollback: "rollback", OpWatch: "watch", OpWriteSame: "write-same",
	OpAssertVer: "assert-version", OpChecksum: "checksum", OpCmpExt: "cmpext",
	OpWrite: "write", OpWriteFull: "writefull", OpTruncate: "truncate", OpZero: "zero",
	OpDelete: "delete", OpAppend: "append", OpCreate: "create", OpSetAllocHint: "set-alloc-hint",
	OpOmapGetKeys: "omap-get-keys", OpOmapGetVals: "omap-get-vals", OpOmapGetHeader: "omap-get-header",
	OpOmapGetValsByKeys: "omap-get-vals-by-keys", OpOmapSetVals: "omap-set-vals",
	OpOmapSetHeader: "omap-set-header", OpOmapClear: "omap-clear", OpOmapRmKeys: "omap-rm-keys",
	OpGetXattr: "getxattr", OpGetXattrs: "getxattrs", OpCmpXattr: "cmpxattr",
	OpSetXattr: "setxattr", OpSetXattrs: "setxattrs", OpRmXattr: "rmxattr",
	OpCall: "call", OpPGLS: "pgls", OpPGNLS: "pgnls",
}

// OSDOpName returns Ceph's name for an op code ("writefull"), or "???".
func OSDOpName(op uint16) string {
	if s, ok := osdOpNames[op]; ok {
		return s
	}
	return "???"
}

// OSDOpIsWrite reports whether op modifies the object (CEPH_OSD_OP_MODE_WR).
func OSDOpIsWrite(op uint16) bool { return op&0x2000 != 0 }

// Request flags (CEPH_OSD_FLAG_*).
const (
	FlagAck            uint32 = 0x0001
	FlagOnNVRAM        uint32 = 0x0002
	FlagOnDisk         uint32 = 0x0004
	FlagRetry          uint32 = 0x0008
	FlagRead           uint32 = 0x0010
	FlagWrite          uint32 = 0x0020
	FlagOrderSnap      uint32 = 0x0040
	FlagReturnVec      uint32 = 0x0080 // per-op results and data even on success
	FlagBalanceReads   uint32 = 0x0100
	FlagPGOp           uint32 = 0x0400
	FlagExec           uint32 = 0x0800
	FlagLocalizeReads  uint32 = 0x2000
	FlagRWOrdered      uint32 = 0x4000
	FlagIgnoreCache    uint32 = 0x8000
	FlagIgnoreOverlay  uint32 = 0x20000
	FlagRedirected     uint32 = 0x200000
	FlagKnownRedir     uint32 = 0x400000
	FlagFullTry        uint32 = 0x800000
	FlagFullForce      uint32 = 0x1000000
	FlagIgnoreRedirect uint32 = 0x2000000
)

// Per-op flags (CEPH_OSD_OP_FLAG_*).
const (
	OpFlagExcl   uint32 = 0x1 // exclusive create
	OpFlagFailOK uint32 = 0x2 // continue past this op's failure
)

// Backoff ops (CEPH_OSD_BACKOFF_OP_*).
const (
	BackoffBlock    uint8 = 1
	BackoffAckBlock uint8 = 2
	BackoffUnblock  uint8 = 3
)

// PG is Ceph's pg_t: a pool and a placement seed.
type PG struct {
	Pool uint64
	Seed uint32
}

func (p PG) String() string { return fmt.Sprintf("%d.%x", p.Pool, p.Seed) }

// pgEncodedSize: u8 version, u64 pool, u32 seed, i32 preferred.
const pgEncodedSize = 17

// AppendPG appends a pg_t (version 1; "preferred" is always -1 since Ceph
// dropped localized PGs).
func AppendPG(b []byte, p PG) []byte {
	b = append(b, 1)
	b = encoding.AppendU64(b, p.Pool)
	b = encoding.AppendU32(b, p.Seed)
	return encoding.AppendI32(b, -1)
}

// DecodePG reads a pg_t.
func DecodePG(d *encoding.Decoder) PG {
	if v := d.U8(); v != 1 && d.Err() == nil {
		d.Failf("pg_t version %d", v)
		return PG{}
	}
	p := PG{Pool: d.U64(), Seed: d.U32()}
	d.I32() // preferred, unused
	return p
}

// SPG is Ceph's spg_t: a PG and an erasure-code shard (ShardNone for
// replicated pools).
type SPG struct {
	PG
	Shard int8
}

// AppendSPG appends an spg_t.
func AppendSPG(b []byte, s SPG) []byte {
	b, st := encoding.StructStart(b, 1, 1)
	b = AppendPG(b, s.PG)
	b = append(b, byte(s.Shard))
	return encoding.StructEnd(b, st)
}

// DecodeSPG reads an spg_t.
func DecodeSPG(d *encoding.Decoder) SPG {
	st := d.StructStart("spg_t", 1)
	s := SPG{PG: DecodePG(d), Shard: int8(d.U8())}
	d.StructEnd(st)
	return s
}

// ObjectLocator is Ceph's object_locator_t: where an object lives. Hash is
// -1 unless the locator names a PG directly (listing).
type ObjectLocator struct {
	Pool      int64
	Key       string
	Namespace string
	Hash      int64
}

// AppendObjectLocator appends an object_locator_t (version 6). Like Ceph it
// raises the compat version to 6 only when Hash is set, so old decoders
// reject what they could not interpret.
func AppendObjectLocator(b []byte, l ObjectLocator) []byte {
	compat := uint8(3)
	if l.Hash != -1 {
		compat = 6
	}
	b, st := encoding.StructStart(b, 6, compat)
	b = encoding.AppendI64(b, l.Pool)
	b = encoding.AppendI32(b, -1) // preferred
	b = encoding.AppendString(b, l.Key)
	b = encoding.AppendString(b, l.Namespace)
	b = encoding.AppendI64(b, l.Hash)
	return encoding.StructEnd(b, st)
}

// DecodeObjectLocator reads an object_locator_t of version 3 or later
// (every Ceph since Bobtail).
func DecodeObjectLocator(d *encoding.Decoder) ObjectLocator {
	st := d.StructStart("object_locator_t", 6)
	if d.Err() != nil {
		return ObjectLocator{}
	}
	if st.V < 3 {
		d.Failf("object_locator_t version %d", st.V)
		d.StructEnd(st)
		return ObjectLocator{}
	}
	l := ObjectLocator{Pool: d.I64(), Hash: -1}
	d.I32() // preferred
	l.Key = d.String()
	if st.V >= 5 {
		l.Namespace = d.String()
	}
	if st.V >= 6 {
		l.Hash = d.I64()
	}
	d.StructEnd(st)
	return l
}

// HObject is Ceph's hobject_t: an object's full identity inside a pool,
// also used as a listing cursor (Max marks the end of a PG).
type HObject struct {
	Key       string
	Oid       string
	Snap      uint64
	Hash      uint32
	Max       bool
	Namespace string
	Pool      int64
}

// HObjectStart returns the cursor at the start of a PG (hobject_t()).
func HObjectStart() HObject { return HObject{Pool: HObjectPoolMin} }

// AppendHObject appends an hobject_t (version 4, compat 3).
func AppendHObject(b []byte, h HObject) []byte {
	b, st := encoding.StructStart(b, 4, 3)
	b = encoding.AppendString(b, h.Key)
	b = encoding.AppendString(b, h.Oid)
	b = encoding.AppendU64(b, h.Snap)
	b = encoding.AppendU32(b, h.Hash)
	b = encoding.AppendBool(b, h.Max)
	b = encoding.AppendString(b, h.Namespace)
	b = encoding.AppendI64(b, h.Pool)
	return encoding.StructEnd(b, st)
}

// DecodeHObject reads an hobject_t of version 4 (every Ceph since Firefly).
func DecodeHObject(d *encoding.Decoder) HObject {
	st := d.StructStart("hobject_t", 4)
	if d.Err() != nil {
		return HObject{}
	}
	if st.V < 4 {
		d.Failf("hobject_t version %d", st.V)
		d.StructEnd(st)
		return HObject{}
	}
	h := HObject{Key: d.String(), Oid: d.String(), Snap: d.U64(), Hash: d.U32(), Max: d.Bool()}
	h.Namespace = d.String()
	h.Pool = d.I64()
	d.StructEnd(st)
	return h
}

// ReqID is Ceph's osd_reqid_t. Objecter leaves it zero: the OSD then builds
// it from the message's source, client incarnation and tid.
type ReqID struct {
	Name encoding.EntityName
	Tid  uint64
	Inc  int32
}

// AppendReqID appends an osd_reqid_t (version 2).
func AppendReqID(b []byte, r ReqID) []byte {
	b, st := encoding.StructStart(b, 2, 2)
	b = encoding.AppendEntityName(b, r.Name)
	b = encoding.AppendU64(b, r.Tid)
	b = encoding.AppendI32(b, r.Inc)
	return encoding.StructEnd(b, st)
}

// DecodeReqID reads an osd_reqid_t.
func DecodeReqID(d *encoding.Decoder) ReqID {
	st := d.StructStart("osd_reqid_t", 2)
	r := ReqID{Name: d.EntityName(), Tid: d.U64(), Inc: d.I32()}
	d.StructEnd(st)
	return r
}

// EVersion is Ceph's eversion_t: a PG log position.
type EVersion struct {
	Version uint64
	Epoch   uint32
}

// AppendEVersion appends an eversion_t (version first, as denc does).
func AppendEVersion(b []byte, v EVersion) []byte {
	b = encoding.AppendU64(b, v.Version)
	return encoding.AppendU32(b, v.Epoch)
}

// DecodeEVersion reads an eversion_t.
func DecodeEVersion(d *encoding.Decoder) EVersion {
	v := d.U64()
	return EVersion{Version: v, Epoch: d.U32()}
}

// TraceInfo is blkin_trace_info, carried by ops and replies (zero unless
// tracing is on).
type TraceInfo struct {
	TraceID, SpanID, ParentSpanID uint64
}

// AppendTraceInfo appends a blkin_trace_info.
func AppendTraceInfo(b []byte, t TraceInfo) []byte {
	b = encoding.AppendU64(b, t.TraceID)
	b = encoding.AppendU64(b, t.SpanID)
	return encoding.AppendU64(b, t.ParentSpanID)
}

// DecodeTraceInfo reads a blkin_trace_info.
func DecodeTraceInfo(d *encoding.Decoder) TraceInfo {
	return TraceInfo{TraceID: d.U64(), SpanID: d.U64(), ParentSpanID: d.U64()}
}

// RequestRedirect is Ceph's request_redirect_t: an OSD telling the client
// to send the op to another pool/object (cache tiering).
type RequestRedirect struct {
	Locator         ObjectLocator
	Object          string
	OSDInstructions []byte
}

// AppendRequestRedirect appends a request_redirect_t.
func AppendRequestRedirect(b []byte, r RequestRedirect) []byte {
	b, st := encoding.StructStart(b, 1, 1)
	b = AppendObjectLocator(b, r.Locator)
	b = encoding.AppendString(b, r.Object)
	b = encoding.AppendBytes(b, r.OSDInstructions)
	return encoding.StructEnd(b, st)
}

// DecodeRequestRedirect reads a request_redirect_t.
func DecodeRequestRedirect(d *encoding.Decoder) RequestRedirect {
	st := d.StructStart("request_redirect_t", 1)
	r := RequestRedirect{Locator: DecodeObjectLocator(d), Object: d.String()}
	r.OSDInstructions = d.Blob()
	d.StructEnd(st)
	return r
}

// OSDOp is one operation of an MOSDOp: the packed ceph_osd_op (op code,
// flags, a 28-byte union of arguments) plus its data. In a request Data is
// the op's input (written bytes, xattr name and value); in a reply it is
// the op's output (read bytes, stat result). Rval is the op's own result
// (replies only).
type OSDOp struct {
	Op    uint16
	Flags uint32
	Args  [osdOpArgsSize]byte
	Data  []byte
	Rval  int32
}

const (
	osdOpArgsSize = 28
	osdOpSize     = 2 + 4 + osdOpArgsSize + 4 // sizeof(ceph_osd_op)
)

func (o *OSDOp) String() string {
	return fmt.Sprintf("%s %d~%d", OSDOpName(o.Op), o.Offset(), o.Length())
}

func le64(p []byte) uint64 {
	_ = p[7]
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

func le32(p []byte) uint32 {
	_ = p[3]
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

func put64(p []byte, v uint64) {
	_ = p[7]
	for i := range 8 {
		p[i] = byte(v >> (8 * i))
	}
}

func put32(p []byte, v uint32) {
	_ = p[3]
	for i := range 4 {
		p[i] = byte(v >> (8 * i))
	}
}

// Offset is extent.offset (read, write, truncate, zero).
func (o *OSDOp) Offset() uint64 { return le64(o.Args[0:]) }

// Length is extent.length.
func (o *OSDOp) Length() uint64 { return le64(o.Args[8:]) }

// TruncateSize is extent.truncate_size.
func (o *OSDOp) TruncateSize() uint64 { return le64(o.Args[16:]) }

// TruncateSeq is extent.truncate_seq.
func (o *OSDOp) TruncateSeq() uint32 { return le32(o.Args[24:]) }

// SetExtent fills the extent arguments.
func (o *OSDOp) SetExtent(off, length, truncSize uint64, truncSeq uint32) {
	put64(o.Args[0:], off)
	put64(o.Args[8:], length)
	put64(o.Args[16:], truncSize)
	put32(o.Args[24:], truncSeq)
}

// XattrNameLen is xattr.name_len.
func (o *OSDOp) XattrNameLen() uint32 { return le32(o.Args[0:]) }

// XattrValueLen is xattr.value_len.
func (o *OSDOp) XattrValueLen() uint32 { return le32(o.Args[4:]) }

// PGLSCount is pgls.count: the most entries a listing reply may hold.
func (o *OSDOp) PGLSCount() uint64 { return le64(o.Args[0:]) }

// PGLSStartEpoch is pgls.start_epoch.
func (o *OSDOp) PGLSStartEpoch() uint32 { return le32(o.Args[8:]) }

// XattrName and XattrValue split a request's Data by the xattr lengths.
// ok is false if the lengths do not fit Data.
func (o *OSDOp) XattrName() (name string, value []byte, ok bool) {
	n, v := uint64(o.XattrNameLen()), uint64(o.XattrValueLen())
	if n+v > uint64(len(o.Data)) {
		return "", nil, false
	}
	return string(o.Data[:n]), o.Data[n : n+v], true
}

func appendOSDOpHead(b []byte, o *OSDOp, payloadLen uint32) []byte {
	b = encoding.AppendU16(b, o.Op)
	b = encoding.AppendU32(b, o.Flags)
	b = append(b, o.Args[:]...)
	return encoding.AppendU32(b, payloadLen)
}

// decodeOSDOpHead reads a ceph_osd_op and returns its payload_len.
func decodeOSDOpHead(d *encoding.Decoder, o *OSDOp) uint32 {
	o.Op = d.U16()
	o.Flags = d.U32()
	copy(o.Args[:], d.Bytes(osdOpArgsSize))
	return d.U32()
}

// splitOpData hands each op its payload_len bytes of data, in order, as
// Ceph's split_osd_op_vector_*_data does.
func splitOpData(ops []OSDOp, lens []uint32, data []byte) error {
	for i := range ops {
		n := uint64(lens[i])
		if n > uint64(len(data)) {
			return fmt.Errorf("%w: op %d payload %d bytes, %d left in data", encoding.ErrTruncated, i, n, len(data))
		}
		if n > 0 {
			ops[i].Data = data[:n:n]
		} else {
			ops[i].Data = nil
		}
		data = data[n:]
	}
	return nil
}

// joinOpData returns the data segment for ops: the one op's Data unchanged
// when only one op carries data (the common write, no copy), else the
// concatenation.
func joinOpData(ops []OSDOp) []byte {
	var only []byte
	n, total := 0, 0
	for i := range ops {
		if len(ops[i].Data) > 0 {
			only = ops[i].Data
			n++
			total += len(ops[i].Data)
		}
	}
	if n <= 1 {
		return only
	}
	out := make([]byte, 0, total)
	for i := range ops {
		out = append(out, ops[i].Data...)
	}
	return out
}

// --- op constructors, as Objecter's ObjectOperation builds them ---

func extentOp(op uint16, off, length uint64, data []byte) OSDOp {
	o := OSDOp{Op: op, Data: data}
	o.SetExtent(off, length, 0, 0)
	return o
}

// NewReadOp reads length bytes at off.
func NewReadOp(off, length uint64) OSDOp { return extentOp(OpRead, off, length, nil) }

// NewWriteOp writes data at off.
func NewWriteOp(off uint64, data []byte) OSDOp {
	return extentOp(OpWrite, off, uint64(len(data)), data)
}

// NewWriteFullOp replaces the object's content with data.
func NewWriteFullOp(data []byte) OSDOp {
	return extentOp(OpWriteFull, 0, uint64(len(data)), data)
}

// NewAppendOp appends data.
func NewAppendOp(data []byte) OSDOp { return extentOp(OpAppend, 0, uint64(len(data)), data) }

// NewTruncateOp sets the object's size to size.
func NewTruncateOp(size uint64) OSDOp { return extentOp(OpTruncate, size, 0, nil) }

// NewZeroOp zeroes length bytes at off.
func NewZeroOp(off, length uint64) OSDOp { return extentOp(OpZero, off, length, nil) }

// NewCreateOp creates the object; with excl it fails with EEXIST if the
// object exists.
func NewCreateOp(excl bool) OSDOp {
	o := OSDOp{Op: OpCreate}
	if excl {
		o.Flags = OpFlagExcl
	}
	return o
}

// NewStatOp asks for the object's size and mtime (see DecodeStat).
func NewStatOp() OSDOp { return OSDOp{Op: OpStat} }

// NewDeleteOp removes the object.
func NewDeleteOp() OSDOp { return OSDOp{Op: OpDelete} }

func xattrOp(op uint16, name string, value []byte) OSDOp {
	o := OSDOp{Op: op}
	put32(o.Args[0:], uint32(len(name)))
	put32(o.Args[4:], uint32(len(value)))
	o.Data = make([]byte, 0, len(name)+len(value))
	o.Data = append(append(o.Data, name...), value...)
	return o
}

// NewGetXattrOp reads one extended attribute.
func NewGetXattrOp(name string) OSDOp { return xattrOp(OpGetXattr, name, nil) }

// NewSetXattrOp sets one extended attribute.
func NewSetXattrOp(name string, value []byte) OSDOp { return xattrOp(OpSetXattr, name, value) }

// NewRmXattrOp removes one extended attribute.
func NewRmXattrOp(name string) OSDOp { return xattrOp(OpRmXattr, name, nil) }

// NewGetXattrsOp reads every extended attribute (see DecodeBufferMap).
func NewGetXattrsOp() OSDOp { return OSDOp{Op: OpGetXattrs} }

// NewOmapGetKeysOp lists up to max omap keys after startAfter (see
// DecodeOmapKeys).
func NewOmapGetKeysOp(startAfter string, max uint64) OSDOp {
	b := encoding.AppendString(nil, startAfter)
	return OSDOp{Op: OpOmapGetKeys, Data: encoding.AppendU64(b, max)}
}

// NewOmapGetValsOp reads up to max omap pairs after startAfter whose keys
// start with prefix (see DecodeOmapVals).
func NewOmapGetValsOp(startAfter, prefix string, max uint64) OSDOp {
	b := encoding.AppendString(nil, startAfter)
	b = encoding.AppendU64(b, max)
	return OSDOp{Op: OpOmapGetVals, Data: encoding.AppendString(b, prefix)}
}

// NewOmapGetValsByKeysOp reads the named omap pairs (see DecodeBufferMap).
func NewOmapGetValsByKeysOp(keys []string) OSDOp {
	return OSDOp{Op: OpOmapGetValsByKeys, Data: appendStringSet(nil, keys)}
}

// NewOmapSetValsOp sets omap pairs.
func NewOmapSetValsOp(kv map[string][]byte) OSDOp {
	return OSDOp{Op: OpOmapSetVals, Data: AppendBufferMap(nil, kv)}
}

// NewOmapRmKeysOp removes omap keys.
func NewOmapRmKeysOp(keys []string) OSDOp {
	return OSDOp{Op: OpOmapRmKeys, Data: appendStringSet(nil, keys)}
}

// NewOmapClearOp removes every omap pair.
func NewOmapClearOp() OSDOp { return OSDOp{Op: OpOmapClear} }

// NewPGNLSOp lists up to count objects of the PG the message targets,
// from cursor (HObjectStart() at first), across all namespaces' entries as
// the OSD returns them (see DecodePGNLSResponse).
func NewPGNLSOp(count uint64, startEpoch uint32, cursor HObject) OSDOp {
	o := OSDOp{Op: OpPGNLS, Data: AppendHObject(nil, cursor)}
	put64(o.Args[0:], count)
	put32(o.Args[8:], startEpoch)
	return o
}

// appendStringSet appends a std::set<std::string>: sorted, no duplicates.
func appendStringSet(b []byte, keys []string) []byte {
	s := slices.Clone(keys)
	sort.Strings(s)
	s = slices.Compact(s)
	return encoding.AppendStringSlice(b, s)
}

// AppendBufferMap appends a std::map<std::string, bufferlist> (keys in
// order, as std::map iterates).
func AppendBufferMap(b []byte, kv map[string][]byte) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = encoding.AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		b = encoding.AppendString(b, k)
		b = encoding.AppendBytes(b, kv[k])
	}
	return b
}

// DecodeBufferMap reads a std::map<std::string, bufferlist> (getxattrs,
// omap-get-vals-by-keys). Values are copied.
func DecodeBufferMap(d *encoding.Decoder) map[string][]byte {
	n := d.Len(8)
	m := make(map[string][]byte, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.String()
		m[k] = slices.Clone(d.Blob())
	}
	return m
}

// ObjectStat is the output of a stat op.
type ObjectStat struct {
	Size  uint64
	Mtime encoding.UTime
}

// DecodeStat reads a stat op's output: u64 size, utime_t mtime.
func DecodeStat(p []byte) (ObjectStat, error) {
	d := encoding.NewDecoder(p)
	s := ObjectStat{Size: d.U64(), Mtime: d.UTime()}
	return s, d.Err()
}

// AppendStat appends a stat op's output (for tests and servers).
func AppendStat(b []byte, s ObjectStat) []byte {
	b = encoding.AppendU64(b, s.Size)
	return encoding.AppendUTime(b, s.Mtime)
}

// DecodeOmapKeys reads an omap-get-keys output: the keys and whether more
// remain (Ceph appends a "truncated" bool since Jewel).
func DecodeOmapKeys(p []byte) (keys []string, more bool, err error) {
	d := encoding.NewDecoder(p)
	keys = d.StringSlice()
	if d.Remaining() > 0 {
		more = d.Bool()
	}
	return keys, more, d.Err()
}

// DecodeOmapVals reads an omap-get-vals output: the pairs and whether more
// remain.
func DecodeOmapVals(p []byte) (kv map[string][]byte, more bool, err error) {
	d := encoding.NewDecoder(p)
	kv = DecodeBufferMap(d)
	if d.Remaining() > 0 {
		more = d.Bool()
	}
	return kv, more, d.Err()
}

// ListEntry is one object of a listing (librados::ListObjectImpl).
type ListEntry struct {
	Namespace string
	Oid       string
	Locator   string
}

// PGNLSResponse is a pgnls op's output (pg_nls_response_t): the objects and
// the cursor to continue from; a Max cursor means the PG is exhausted.
type PGNLSResponse struct {
	Handle  HObject
	Entries []ListEntry
}

// listEntryMinSize: three empty strings.
const listEntryMinSize = 12

// DecodePGNLSResponse reads a pg_nls_response_t.
func DecodePGNLSResponse(p []byte) (PGNLSResponse, error) {
	d := encoding.NewDecoder(p)
	st := d.StructStart("pg_nls_response_t", 1)
	r := PGNLSResponse{Handle: DecodeHObject(d)}
	n := d.Len(listEntryMinSize)
	if n > 0 {
		r.Entries = make([]ListEntry, 0, n)
	}
	for i := 0; i < n && d.Err() == nil; i++ {
		e := ListEntry{Namespace: d.String(), Oid: d.String()}
		e.Locator = d.String()
		r.Entries = append(r.Entries, e)
	}
	d.StructEnd(st)
	return r, d.Err()
}

// AppendPGNLSResponse appends a pg_nls_response_t.
func AppendPGNLSResponse(b []byte, r PGNLSResponse) []byte {
	b, st := encoding.StructStart(b, 1, 1)
	b = AppendHObject(b, r.Handle)
	b = encoding.AppendU32(b, uint32(len(r.Entries)))
	for _, e := range r.Entries {
		b = encoding.AppendString(b, e.Namespace)
		b = encoding.AppendString(b, e.Oid)
		b = encoding.AppendString(b, e.Locator)
	}
	return encoding.StructEnd(b, st)
}

// RegisterOSD registers the OSD client path's message types (MOSDOp,
// MOSDOpReply, MOSDBackoff, MWatchNotify) in r.
func RegisterOSD(r *message.Registry) error {
	for _, e := range []struct {
		t uint16
		f func() message.Message
	}{
		{TypeOSDOp, func() message.Message { return &MOSDOp{} }},
		{TypeOSDOpReply, func() message.Message { return &MOSDOpReply{} }},
		{TypeOSDBackoff, func() message.Message { return &MOSDBackoff{} }},
		{TypeWatchNotify, func() message.Message { return &MWatchNotify{} }},
	} {
		if err := r.Register(e.t, e.f); err != nil {
			return err
		}
	}
	return nil
}

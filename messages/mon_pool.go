package messages

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Mon requests about pools and space (librados' statfs, pool stats and
// pool ops), each paired with its reply by the message header's tid.
const (
	TypeStatfs            uint16 = 13 // CEPH_MSG_STATFS
	TypeStatfsReply       uint16 = 14 // CEPH_MSG_STATFS_REPLY
	TypePoolOpReply       uint16 = 48 // CEPH_MSG_POOLOP_REPLY
	TypePoolOp            uint16 = 49 // CEPH_MSG_POOLOP
	TypeGetPoolStats      uint16 = 58 // MSG_GETPOOLSTATS
	TypeGetPoolStatsReply uint16 = 59 // MSG_GETPOOLSTATSREPLY
)

// MonReply is a mon's answer matched to its request by the header's tid.
type MonReply interface {
	message.Message
	ReplyTid() uint64
}

// MStatfs asks for the cluster's space (src/messages/MStatfs.h, v2).
type MStatfs struct {
	Tid      uint64
	FSID     encoding.UUID
	DataPool *int64 // one pool's (CephFS); nil for the cluster
}

// Type implements message.Message.
func (*MStatfs) Type() uint16 { return TypeStatfs }

// Version implements message.Message.
func (*MStatfs) Version() (uint16, uint16) { return 2, 1 }

// Encode implements message.Message.
func (m *MStatfs) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, ClientPaxos)
	b = encoding.AppendUUID(b, m.FSID)
	b = encoding.AppendBool(b, m.DataPool != nil)
	if m.DataPool != nil {
		b = encoding.AppendI64(b, *m.DataPool)
	}
	p.Front = b
	return nil
}

// Decode implements message.Message.
func (m *MStatfs) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	decodePaxos(d)
	m.FSID = d.UUID()
	if h.Version >= 2 && d.Bool() {
		v := d.I64()
		m.DataPool = &v
	}
	return finish("MStatfs", d)
}

func (m *MStatfs) String() string { return fmt.Sprintf("statfs(tid %d)", m.Tid) }

// MStatfsReply is the cluster's space (ceph_mon_statfs_reply, raw; no
// paxos header): in KiB, and the object count.
type MStatfsReply struct {
	Tid        uint64
	FSID       encoding.UUID
	MapVersion uint64
	KB         uint64
	KBUsed     uint64
	KBAvail    uint64
	NumObjects uint64
}

// Type implements message.Message.
func (*MStatfsReply) Type() uint16 { return TypeStatfsReply }

// Version implements message.Message.
func (*MStatfsReply) Version() (uint16, uint16) { return 1, 1 }

// ReplyTid implements MonReply.
func (m *MStatfsReply) ReplyTid() uint64 { return m.Tid }

// Encode implements message.Message.
func (m *MStatfsReply) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := encoding.AppendUUID(p.Front, m.FSID)
	for _, v := range []uint64{m.MapVersion, m.KB, m.KBUsed, m.KBAvail, m.NumObjects} {
		b = encoding.AppendU64(b, v)
	}
	p.Front = b
	return nil
}

// Decode implements message.Message.
func (m *MStatfsReply) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	m.FSID = d.UUID()
	m.MapVersion, m.KB, m.KBUsed, m.KBAvail, m.NumObjects = d.U64(), d.U64(), d.U64(), d.U64(), d.U64()
	return finish("MStatfsReply", d)
}

func (m *MStatfsReply) String() string {
	return fmt.Sprintf("statfs_reply(%d kb, %d used, tid %d)", m.KB, m.KBUsed, m.Tid)
}

// MGetPoolStats asks for pools' statistics (src/messages/MGetPoolStats.h).
type MGetPoolStats struct {
	Tid   uint64
	FSID  encoding.UUID
	Pools []string
}

// Type implements message.Message.
func (*MGetPoolStats) Type() uint16 { return TypeGetPoolStats }

// Version implements message.Message.
func (*MGetPoolStats) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MGetPoolStats) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, ClientPaxos)
	b = encoding.AppendUUID(b, m.FSID)
	p.Front = encoding.AppendStringSlice(b, m.Pools)
	return nil
}

// Decode implements message.Message.
func (m *MGetPoolStats) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	decodePaxos(d)
	m.FSID = d.UUID()
	m.Pools = d.StringSlice()
	return finish("MGetPoolStats", d)
}

func (m *MGetPoolStats) String() string {
	return fmt.Sprintf("getpoolstats(%v tid %d)", m.Pools, m.Tid)
}

// PoolStat is the part of pool_stat_t librados reports: the leading
// counters of object_stat_sum_t, and the store's per-pool statistics.
type PoolStat struct {
	NumBytes, NumObjects, NumObjectClones, NumObjectCopies int64
	NumObjectsMissingOnPrimary, NumObjectsDegraded         int64
	NumObjectsUnfound, NumRd, NumRdKB, NumWr, NumWrKB      int64
	NumObjectsMisplaced, NumBytesHitSetArchive             int64
	StoreAllocated, StoreDataStored                        int64 // store_statfs_t (v7)
}

// decodePoolStat reads a pool_stat_t (v5..7).
func decodePoolStat(d *encoding.Decoder) PoolStat {
	var s PoolStat
	st := d.StructStart("pool_stat_t", 7)
	if d.Err() != nil {
		return s
	}
	if st.V < 5 {
		d.Failf("pool_stat_t version %d", st.V)
		return s
	}
	coll := d.StructStart("object_stat_collection_t", 2)
	sum := d.StructStart("object_stat_sum_t", 20)
	if d.Err() == nil && sum.V < 14 {
		d.Failf("object_stat_sum_t version %d", sum.V)
		return s
	}
	for _, f := range []*int64{&s.NumBytes, &s.NumObjects, &s.NumObjectClones, &s.NumObjectCopies,
		&s.NumObjectsMissingOnPrimary, &s.NumObjectsDegraded, &s.NumObjectsUnfound,
		&s.NumRd, &s.NumRdKB, &s.NumWr, &s.NumWrKB} {
		*f = d.I64()
	}
	d.Skip(8 * 10) // num_scrub_errors .. num_objects_hit_set_archive
	s.NumObjectsMisplaced = d.I64()
	s.NumBytesHitSetArchive = d.I64()
	d.StructEnd(sum)
	d.StructEnd(coll)
	d.Skip(8 + 8 + 4 + 4) // log_size, ondisk_log_size, up, acting
	if st.V >= 7 {
		store := d.StructStart("store_statfs_t", 1)
		d.Skip(8 * 3) // total, available, internally_reserved
		s.StoreAllocated = d.I64()
		s.StoreDataStored = d.I64()
		d.StructEnd(store)
	}
	d.StructEnd(st)
	return s
}

// MGetPoolStatsReply carries the pools' statistics; PerPool says whether
// every OSD reports per-pool store statistics (then StoreAllocated is
// what the pool uses).
type MGetPoolStatsReply struct {
	Tid     uint64
	FSID    encoding.UUID
	Stats   map[string]PoolStat
	PerPool bool
}

// Type implements message.Message.
func (*MGetPoolStatsReply) Type() uint16 { return TypeGetPoolStatsReply }

// Version implements message.Message.
func (*MGetPoolStatsReply) Version() (uint16, uint16) { return 2, 1 }

// ReplyTid implements MonReply.
func (m *MGetPoolStatsReply) ReplyTid() uint64 { return m.Tid }

// Encode implements message.Message (not sent by clients; for tests it
// writes the fields this package reads and zeros for the rest).
func (m *MGetPoolStatsReply) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, ClientPaxos)
	b = encoding.AppendUUID(b, m.FSID)
	b = encoding.AppendU32(b, uint32(len(m.Stats)))
	names := make([]string, 0, len(m.Stats))
	for name := range m.Stats {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := m.Stats[name]
		b = encoding.AppendString(b, name)
		b = appendPoolStat(b, s)
	}
	p.Front = encoding.AppendBool(b, m.PerPool)
	return nil
}

func appendPoolStat(b []byte, s PoolStat) []byte {
	b, st := encoding.StructStart(b, 7, 5)
	b, coll := encoding.StructStart(b, 2, 2)
	b, sum := encoding.StructStart(b, 20, 14)
	for _, v := range []int64{s.NumBytes, s.NumObjects, s.NumObjectClones, s.NumObjectCopies,
		s.NumObjectsMissingOnPrimary, s.NumObjectsDegraded, s.NumObjectsUnfound,
		s.NumRd, s.NumRdKB, s.NumWr, s.NumWrKB, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s.NumObjectsMisplaced, s.NumBytesHitSetArchive} {
		b = encoding.AppendI64(b, v)
	}
	// The rest of object_stat_sum_t as Ceph lays the struct out (a v20
	// decoder copies it whole): num_flush .. num_promote, the four int32
	// flush/evict mode counts, num_objects_pinned .. num_objects_repaired.
	b = append(b, make([]byte, 5*8+4*4+8*8)...)
	b = encoding.StructEnd(b, sum)
	b = encoding.AppendU32(b, 0) // cat_sum
	b = encoding.StructEnd(b, coll)
	b = append(b, make([]byte, 8+8+4+4)...)
	b, store := encoding.StructStart(b, 1, 1)
	for _, v := range []int64{0, 0, 0, s.StoreAllocated, s.StoreDataStored, 0, 0, 0, 0, 0} {
		b = encoding.AppendI64(b, v)
	}
	b = encoding.StructEnd(b, store)
	b = encoding.AppendU32(b, 0) // num_store_stats
	return encoding.StructEnd(b, st)
}

// poolStatMinSize: the struct headers of an empty pool_stat_t.
const poolStatMinSize = 6 + 6 + 6

// Decode implements message.Message.
func (m *MGetPoolStatsReply) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	decodePaxos(d)
	m.FSID = d.UUID()
	n := d.Len(4 + poolStatMinSize)
	m.Stats = make(map[string]PoolStat, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		name := d.String()
		m.Stats[name] = decodePoolStat(d)
	}
	if h.Version >= 2 {
		m.PerPool = d.Bool()
	}
	return finish("MGetPoolStatsReply", d)
}

func (m *MGetPoolStatsReply) String() string {
	return fmt.Sprintf("getpoolstats_reply(%d pools, tid %d)", len(m.Stats), m.Tid)
}

// Pool ops (POOL_OP_*).
const (
	PoolOpCreate              uint32 = 0x01
	PoolOpDelete              uint32 = 0x02
	PoolOpCreateSnap          uint32 = 0x11
	PoolOpDeleteSnap          uint32 = 0x12
	PoolOpCreateUnmanagedSnap uint32 = 0x21
	PoolOpDeleteUnmanagedSnap uint32 = 0x22
)

// MPoolOp asks the mons to change a pool: snapshots (pool or
// self-managed), creation, deletion (src/messages/MPoolOp.h, v4).
type MPoolOp struct {
	Tid       uint64
	FSID      encoding.UUID
	Pool      int64
	Op        uint32
	Snap      uint64
	Name      string
	CrushRule int16
}

// Type implements message.Message.
func (*MPoolOp) Type() uint16 { return TypePoolOp }

// Version implements message.Message.
func (*MPoolOp) Version() (uint16, uint16) { return 4, 2 }

// Encode implements message.Message.
func (m *MPoolOp) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, ClientPaxos)
	b = encoding.AppendUUID(b, m.FSID)
	b = encoding.AppendU32(b, uint32(m.Pool))
	b = encoding.AppendU32(b, m.Op)
	b = encoding.AppendU64(b, 0) // auid
	b = encoding.AppendU64(b, m.Snap)
	b = encoding.AppendString(b, m.Name)
	b = append(b, 0) // pad
	b = encoding.AppendU16(b, uint16(m.CrushRule))
	p.Front = encoding.AppendI64(b, m.Pool)
	return nil
}

// Decode implements message.Message.
func (m *MPoolOp) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	decodePaxos(d)
	m.FSID = d.UUID()
	m.Pool = int64(d.U32())
	m.Op = d.U32()
	d.U64() // auid
	m.Snap = d.U64()
	m.Name = d.String()
	d.U8()
	m.CrushRule = int16(d.U16())
	if h.Version >= 4 {
		m.Pool = d.I64()
	}
	return finish("MPoolOp", d)
}

func (m *MPoolOp) String() string {
	return fmt.Sprintf("pool_op(%#x pool %d snap %d %q tid %d)", m.Op, m.Pool, m.Snap, m.Name, m.Tid)
}

// MPoolOpReply is a pool op's result: 0 or -errno, the osdmap epoch that
// has the change, and data (a new self-managed snap id).
type MPoolOpReply struct {
	Tid    uint64
	FSID   encoding.UUID
	Result int32
	Epoch  uint32
	Data   []byte
}

// Type implements message.Message.
func (*MPoolOpReply) Type() uint16 { return TypePoolOpReply }

// Version implements message.Message.
func (*MPoolOpReply) Version() (uint16, uint16) { return 1, 1 }

// ReplyTid implements MonReply.
func (m *MPoolOpReply) ReplyTid() uint64 { return m.Tid }

// Encode implements message.Message.
func (m *MPoolOpReply) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, ClientPaxos)
	b = encoding.AppendUUID(b, m.FSID)
	b = encoding.AppendU32(b, uint32(m.Result))
	b = encoding.AppendU32(b, m.Epoch)
	b = encoding.AppendBool(b, len(m.Data) > 0)
	if len(m.Data) > 0 {
		b = encoding.AppendBytes(b, m.Data)
	}
	p.Front = b
	return nil
}

// Decode implements message.Message.
func (m *MPoolOpReply) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	decodePaxos(d)
	m.FSID = d.UUID()
	m.Result = int32(d.U32())
	m.Epoch = d.U32()
	if d.Bool() {
		m.Data = bytes.Clone(d.Blob())
	}
	return finish("MPoolOpReply", d)
}

func (m *MPoolOpReply) String() string {
	return fmt.Sprintf("pool_op_reply(%d e%d tid %d)", m.Result, m.Epoch, m.Tid)
}

package messages

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MOSDOp header versions: Pacific encodes version 8 for every peer with
// RESEND_ON_SPLIT (Luminous and later, the only OSDs Pacific talks to).
const (
	MOSDOpVersion = 8
	MOSDOpCompat  = 3
)

// OSDClientOpPriority is the message priority Objecter gives ops
// (osd_client_op_priority).
const OSDClientOpPriority uint16 = 63

// MOSDOp is a client's request to an OSD (src/messages/MOSDOp.h): a list of
// ops on one object (or on one PG, for listing). Its data segment is the
// concatenation of the ops' input data.
type MOSDOp struct {
	Tid          uint64 // in the message header; the reply carries it back
	Priority     uint16 // message priority; 0 sends OSDClientOpPriority
	PGID         SPG    // the PG the client computed (actual pgid)
	Hash         uint32 // the object's raw hash (ceph_str_hash_rjenkins of the name)
	Epoch        uint32 // client's OSDMap epoch
	Flags        uint32 // Flag*
	ReqID        ReqID  // zero from Objecter
	Trace        TraceInfo
	ClientInc    uint32
	Mtime        encoding.UTime
	Locator      ObjectLocator
	Oid          string
	Ops          []OSDOp
	Snap         uint64 // SnapHead for the live object
	SnapSeq      uint64
	Snaps        []uint64
	RetryAttempt int32 // 0 on the first send, -1 if unknown
	Features     uint64
}

// AppendFront appends the v8 payload (front segment). Ops' Data is not
// written here: it goes to the data segment (DataSegment), and each op's
// payload_len says how much of it is its own.
func (m *MOSDOp) AppendFront(b []byte) []byte {
	b = AppendSPG(b, m.PGID)
	b = encoding.AppendU32(b, m.Hash)
	b = encoding.AppendU32(b, m.Epoch)
	b = encoding.AppendU32(b, m.Flags)
	b = AppendReqID(b, m.ReqID)
	b = AppendTraceInfo(b, m.Trace)
	b = encoding.AppendU32(b, m.ClientInc)
	b = encoding.AppendUTime(b, m.Mtime)
	b = AppendObjectLocator(b, m.Locator)
	b = encoding.AppendString(b, m.Oid)
	b = encoding.AppendU16(b, uint16(len(m.Ops)))
	for i := range m.Ops {
		b = appendOSDOpHead(b, &m.Ops[i], uint32(len(m.Ops[i].Data)))
	}
	b = encoding.AppendU64(b, m.Snap)
	b = encoding.AppendU64(b, m.SnapSeq)
	b = encoding.AppendU32(b, uint32(len(m.Snaps)))
	for _, s := range m.Snaps {
		b = encoding.AppendU64(b, s)
	}
	b = encoding.AppendI32(b, m.RetryAttempt)
	return encoding.AppendU64(b, m.Features)
}

// mosdopFixedFront is the length of AppendFront's fields of fixed size
// (all but the strings, ops and snaps).
const mosdopFixedFront = 171

// frontLen is the length AppendFront appends, give or take nothing (a
// test holds it to that).
func (m *MOSDOp) frontLen() int {
	return mosdopFixedFront + len(m.Oid) + len(m.Locator.Key) + len(m.Locator.Namespace) +
		len(m.Ops)*osdOpSize + 8*len(m.Snaps)
}

// DataSegment returns the message's data segment: the ops' input data in
// order. When a single op carries data (a write) its slice is returned as
// is, without a copy.
func (m *MOSDOp) DataSegment() []byte { return joinOpData(m.Ops) }

// DataLen is the length of DataSegment without building it.
func (m *MOSDOp) DataLen() int {
	n := 0
	for i := range m.Ops {
		n += len(m.Ops[i].Data)
	}
	return n
}

// DecodeMOSDOp decodes an MOSDOp from its header version, front and data
// segments. Ops' Data aliases data.
func DecodeMOSDOp(version uint16, front, data []byte) (*MOSDOp, error) {
	if version != MOSDOpVersion {
		return nil, fmt.Errorf("%w: MOSDOp v%d", ErrOSDVersion, version)
	}
	d := encoding.NewDecoder(front)
	m := &MOSDOp{}
	m.PGID = DecodeSPG(d)
	m.Hash = d.U32()
	m.Epoch = d.U32()
	m.Flags = d.U32()
	m.ReqID = DecodeReqID(d)
	m.Trace = DecodeTraceInfo(d)
	m.ClientInc = d.U32()
	m.Mtime = d.UTime()
	m.Locator = DecodeObjectLocator(d)
	m.Oid = d.String()
	nops := int(d.U16())
	if d.Err() == nil && nops*osdOpSize > d.Remaining() {
		return nil, fmt.Errorf("%w: MOSDOp: %d ops, %d bytes left", encoding.ErrTooLarge, nops, d.Remaining())
	}
	m.Ops = make([]OSDOp, nops)
	lens := make([]uint32, nops)
	for i := range m.Ops {
		lens[i] = decodeOSDOpHead(d, &m.Ops[i])
	}
	m.Snap = d.U64()
	m.SnapSeq = d.U64()
	if n := d.Len(8); n > 0 {
		m.Snaps = make([]uint64, n)
		for i := range m.Snaps {
			m.Snaps[i] = d.U64()
		}
	}
	m.RetryAttempt = d.I32()
	m.Features = d.U64()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("MOSDOp: %w", err)
	}
	if err := splitOpData(m.Ops, lens, data); err != nil {
		return nil, fmt.Errorf("MOSDOp: %w", err)
	}
	return m, nil
}

// Type implements message.Message.
func (m *MOSDOp) Type() uint16 { return TypeOSDOp }

// Version implements message.Message.
func (m *MOSDOp) Version() (uint16, uint16) { return MOSDOpVersion, MOSDOpCompat }

// Encode implements message.Message. Only the v8 encoding is written: every
// OSD since Luminous has RESEND_ON_SPLIT, and Pacific refuses older peers.
// A single op's data is referenced, not copied.
func (m *MOSDOp) Encode(h *message.Header, features uint64, p *message.Payload) error {
	if !encoding.HasFeatures(features, encoding.FeatureResendOnSplit) {
		return fmt.Errorf("%w: MOSDOp for a peer without RESEND_ON_SPLIT (features %#x)", ErrOSDVersion, features)
	}
	h.Tid = m.Tid
	h.Priority = m.Priority
	if h.Priority == 0 {
		h.Priority = OSDClientOpPriority
	}
	// One allocation at most for the front, not one per doubling.
	p.Front = slices.Grow(p.Front, m.frontLen())
	p.Front = m.AppendFront(p.Front)
	if data := m.DataSegment(); len(p.Data) == 0 {
		p.Data = data
	} else {
		p.Data = append(p.Data, data...)
	}
	return nil
}

// Decode implements message.Message. The data segment is copied once and
// the ops' Data alias that copy.
func (m *MOSDOp) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d, err := DecodeMOSDOp(h.Version, p.Front, bytes.Clone(p.Data))
	if err != nil {
		return err
	}
	d.Tid, d.Priority = h.Tid, h.Priority
	*m = *d
	return nil
}

func (m *MOSDOp) String() string {
	return fmt.Sprintf("osd_op(%s %s %v e%d flags %#x)", m.PGID.PG, m.Oid, m.Ops, m.Epoch, m.Flags)
}

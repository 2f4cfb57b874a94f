package messages

import (
	"bytes"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MOSDOpReply header versions as Pacific encodes them: version 8 (Pacific
// dropped the QoS and cache-temperature fields of versions 9 and 10).
const (
	MOSDOpReplyVersion = 8
	MOSDOpReplyCompat  = 2
)

// MOSDOpReply is an OSD's answer to an MOSDOp (src/messages/MOSDOpReply.h),
// matched to it by the message header's tid. Each op carries its own
// result (Rval) and output (Data, from the data segment).
type MOSDOpReply struct {
	Tid              uint64 // the request's tid, from the message header
	Oid              string
	PGID             PG
	Flags            int64
	Result           int32 // 0 or a negative errno
	BadReplayVersion EVersion
	Epoch            uint32 // the OSD's map epoch
	Ops              []OSDOp
	RetryAttempt     int32
	ReplayVersion    EVersion
	UserVersion      uint64
	Redirect         *RequestRedirect // set when the OSD redirects the op
	Trace            TraceInfo

	buf message.Releaser // the received buffer Ops' Data alias (Decode)
	// opsInline holds the one op of a single-op reply, the common case:
	// Decode then makes no allocation for Ops.
	opsInline [1]OSDOp
}

// TakeData hands over the received buffer the ops' Data alias: Release on
// it gives the buffer back to the messenger's pool, after which no op's
// Data may be touched. Nil when there is none (a small reply, or one not
// received); not calling Release is safe.
func (r *MOSDOpReply) TakeData() message.Releaser {
	b := r.buf
	r.buf = nil
	return b
}

// AppendFront appends the v8 payload; ops' output goes to the data segment.
func (r *MOSDOpReply) AppendFront(b []byte) []byte {
	b = encoding.AppendString(b, r.Oid)
	b = AppendPG(b, r.PGID)
	b = encoding.AppendI64(b, r.Flags)
	b = encoding.AppendI32(b, r.Result)
	b = AppendEVersion(b, r.BadReplayVersion)
	b = encoding.AppendU32(b, r.Epoch)
	b = encoding.AppendU32(b, uint32(len(r.Ops)))
	for i := range r.Ops {
		b = appendOSDOpHead(b, &r.Ops[i], uint32(len(r.Ops[i].Data)))
	}
	b = encoding.AppendI32(b, r.RetryAttempt)
	for i := range r.Ops {
		b = encoding.AppendI32(b, r.Ops[i].Rval)
	}
	b = AppendEVersion(b, r.ReplayVersion)
	b = encoding.AppendU64(b, r.UserVersion)
	b = encoding.AppendBool(b, r.Redirect != nil)
	if r.Redirect != nil {
		b = AppendRequestRedirect(b, *r.Redirect)
	}
	return AppendTraceInfo(b, r.Trace)
}

// DataSegment returns the ops' output data in order.
func (r *MOSDOpReply) DataSegment() []byte { return joinOpData(r.Ops) }

// DecodeMOSDOpReply decodes an MOSDOpReply from its header version, front
// and data segments. Ops' Data aliases data.
func DecodeMOSDOpReply(version uint16, front, data []byte) (*MOSDOpReply, error) {
	if version != MOSDOpReplyVersion {
		return nil, fmt.Errorf("%w: MOSDOpReply v%d", ErrOSDVersion, version)
	}
	r := &MOSDOpReply{}
	if err := r.decode(front, data); err != nil {
		return nil, err
	}
	return r, nil
}

// decode decodes a v8 reply into r, all of it overwritten.
func (r *MOSDOpReply) decode(front, data []byte) error {
	*r = MOSDOpReply{}
	d := encoding.NewDecoder(front)
	r.Oid = d.String()
	r.PGID = DecodePG(d)
	r.Flags = d.I64()
	r.Result = d.I32()
	r.BadReplayVersion = DecodeEVersion(d)
	r.Epoch = d.U32()
	// Each op takes its head plus a 4-byte rval further on.
	nops := d.Len(osdOpSize + 4)
	if nops <= len(r.opsInline) {
		r.Ops = r.opsInline[:nops:nops]
	} else {
		r.Ops = make([]OSDOp, nops)
	}
	var lensInline [4]uint32
	lens := lensInline[:]
	if nops > len(lensInline) {
		lens = make([]uint32, nops)
	}
	for i := range r.Ops {
		lens[i] = decodeOSDOpHead(d, &r.Ops[i])
	}
	r.RetryAttempt = d.I32()
	for i := range r.Ops {
		r.Ops[i].Rval = d.I32()
	}
	r.ReplayVersion = DecodeEVersion(d)
	r.UserVersion = d.U64()
	if d.Bool() {
		rd := DecodeRequestRedirect(d)
		rd.OSDInstructions = bytes.Clone(rd.OSDInstructions)
		r.Redirect = &rd
	}
	r.Trace = DecodeTraceInfo(d)
	if err := d.Err(); err != nil {
		return fmt.Errorf("MOSDOpReply: %w", err)
	}
	if err := splitOpData(r.Ops, lens, data); err != nil {
		return fmt.Errorf("MOSDOpReply: %w", err)
	}
	return nil
}

// Type implements message.Message.
func (r *MOSDOpReply) Type() uint16 { return TypeOSDOpReply }

// Version implements message.Message.
func (r *MOSDOpReply) Version() (uint16, uint16) { return MOSDOpReplyVersion, MOSDOpReplyCompat }

// Encode implements message.Message (the v8 encoding, for tests and
// servers).
func (r *MOSDOpReply) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = r.Tid
	p.Front = r.AppendFront(p.Front)
	if data := r.DataSegment(); len(p.Data) == 0 {
		p.Data = data
	} else {
		p.Data = append(p.Data, data...)
	}
	return nil
}

// Decode implements message.Message. The ops' Data alias the received
// data segment, not copied: Decode takes its buffer (see TakeData).
func (r *MOSDOpReply) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	if h.Version != MOSDOpReplyVersion {
		return fmt.Errorf("%w: MOSDOpReply v%d", ErrOSDVersion, h.Version)
	}
	if err := r.decode(p.Front, p.Data); err != nil {
		return err
	}
	r.Tid = h.Tid
	r.buf = p.Take()
	return nil
}

// OnDisk reports whether the reply is the commit (CEPH_OSD_FLAG_ONDISK).
func (r *MOSDOpReply) OnDisk() bool { return uint32(r.Flags)&FlagOnDisk != 0 }

func (r *MOSDOpReply) String() string {
	return fmt.Sprintf("osd_op_reply(%s %v uv%d = %d)", r.Oid, r.Ops, r.UserVersion, r.Result)
}

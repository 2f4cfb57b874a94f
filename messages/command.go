package messages

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Commands to daemons other than the mons (an OSD's "tell" commands, the
// mgr's), and the mgr map that says where the active mgr is.
const (
	TypePing         uint16 = 2     // CEPH_MSG_PING
	TypeCommand      uint16 = 97    // MSG_COMMAND
	TypeCommandReply uint16 = 98    // MSG_COMMAND_REPLY
	TypeMgrMap       uint16 = 0x704 // MSG_MGR_MAP
)

// MCommand runs a command on an OSD or a mgr (src/messages/MCommand.h):
// the command as JSON strings and its input in the data segment; the tid
// in the header pairs it with its MCommandReply.
type MCommand struct {
	Tid  uint64
	FSID encoding.UUID
	Cmd  []string
	Data []byte
}

// Type implements message.Message.
func (*MCommand) Type() uint16 { return TypeCommand }

// Version implements message.Message.
func (*MCommand) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MCommand) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := encoding.AppendUUID(p.Front, m.FSID)
	p.Front = encoding.AppendStringSlice(b, m.Cmd)
	appendData(p, m.Data)
	return nil
}

// Decode implements message.Message.
func (m *MCommand) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	m.FSID = d.UUID()
	m.Cmd = d.StringSlice()
	m.Data = bytes.Clone(p.Data)
	return finish("MCommand", d)
}

func (m *MCommand) String() string {
	return fmt.Sprintf("command(%s tid %d)", strings.Join(m.Cmd, " "), m.Tid)
}

// MCommandReply is a daemon's answer to an MCommand: 0 or -errno, the
// status text, and the output (data segment).
type MCommandReply struct {
	Tid    uint64
	Result int32
	Status string
	Data   []byte
}

// Type implements message.Message.
func (*MCommandReply) Type() uint16 { return TypeCommandReply }

// Version implements message.Message.
func (*MCommandReply) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MCommandReply) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := encoding.AppendI32(p.Front, m.Result)
	p.Front = encoding.AppendString(b, m.Status)
	appendData(p, m.Data)
	return nil
}

// Decode implements message.Message.
func (m *MCommandReply) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	m.Result = d.I32()
	m.Status = d.String()
	m.Data = bytes.Clone(p.Data)
	return finish("MCommandReply", d)
}

func (m *MCommandReply) String() string {
	return fmt.Sprintf("command_reply(%d %q, %d bytes, tid %d)", m.Result, m.Status, len(m.Data), m.Tid)
}

// MMgrMap carries the mgr map; only what a client needs to reach the
// active mgr is decoded (MgrMap's leading fields).
type MMgrMap struct {
	Epoch      uint32
	ActiveAddr encoding.EntityAddrVec
	ActiveGID  uint64
	Available  bool
	ActiveName string
}

// Type implements message.Message.
func (*MMgrMap) Type() uint16 { return TypeMgrMap }

// Version implements message.Message.
func (*MMgrMap) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message: a MgrMap v11 with the decoded
// fields and nothing after them (for tests; mons send the whole map).
func (m *MMgrMap) Encode(_ *message.Header, features uint64, p *message.Payload) error {
	b, st := encoding.StructStart(p.Front, 11, 6)
	b = encoding.AppendU32(b, m.Epoch)
	b = encoding.AppendEntityAddrVec(b, m.ActiveAddr, features)
	b = encoding.AppendU64(b, m.ActiveGID)
	b = encoding.AppendBool(b, m.Available)
	b = encoding.AppendString(b, m.ActiveName)
	p.Front = encoding.StructEnd(b, st)
	return nil
}

// Decode implements message.Message.
func (m *MMgrMap) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	st := d.StructStart("MgrMap", 11)
	if d.Err() == nil && st.V < 8 {
		d.Failf("MgrMap version %d", st.V)
	}
	m.Epoch = d.U32()
	m.ActiveAddr = d.EntityAddrVec()
	m.ActiveGID = d.U64()
	m.Available = d.Bool()
	m.ActiveName = d.String()
	d.StructEnd(st)
	return finish("MMgrMap", d)
}

func (m *MMgrMap) String() string {
	return fmt.Sprintf("mgrmap(e%d active %s %s available %v)", m.Epoch, m.ActiveName, m.ActiveAddr, m.Available)
}

// MPing asks a mon how it is; its answer is an MPing whose Status is the
// mon's JSON (health and mon_status), as librados' ping_monitor reads it.
type MPing struct {
	Status string
}

// Type implements message.Message.
func (*MPing) Type() uint16 { return TypePing }

// Version implements message.Message.
func (*MPing) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message: a request has an empty payload.
func (m *MPing) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	if m.Status != "" {
		p.Front = encoding.AppendString(p.Front, m.Status)
	}
	return nil
}

// Decode implements message.Message.
func (m *MPing) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	m.Status = ""
	if len(p.Front) == 0 {
		return nil
	}
	d := encoding.NewDecoder(p.Front)
	m.Status = d.String()
	return finish("MPing", d)
}

func (m *MPing) String() string { return fmt.Sprintf("ping(%d bytes)", len(m.Status)) }

// RegisterCommand registers MCommand, MCommandReply, MMgrMap and MPing in
// r.
func RegisterCommand(r *message.Registry) error {
	for _, e := range []struct {
		t uint16
		f func() message.Message
	}{
		{TypeCommand, func() message.Message { return &MCommand{} }},
		{TypeCommandReply, func() message.Message { return &MCommandReply{} }},
		{TypeMgrMap, func() message.Message { return &MMgrMap{} }},
		{TypePing, func() message.Message { return &MPing{} }},
	} {
		if err := r.Register(e.t, e.f); err != nil {
			return err
		}
	}
	return nil
}

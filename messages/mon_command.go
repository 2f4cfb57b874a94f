package messages

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MMonCommand runs a command on a monitor (src/messages/MMonCommand.h,
// v1). Cmd is the command as JSON strings (usually one), Data its input
// (the data segment, "-i file" in the ceph CLI). Tid travels in the
// message header and pairs the command with its MMonCommandAck.
type MMonCommand struct {
	Paxos PaxosHeader
	Tid   uint64
	FSID  encoding.UUID
	Cmd   []string
	Data  []byte
}

// NewMMonCommand returns a client's command for cluster fsid.
func NewMMonCommand(tid uint64, fsid encoding.UUID, cmd []string, data []byte) *MMonCommand {
	return &MMonCommand{Paxos: ClientPaxos, Tid: tid, FSID: fsid, Cmd: cmd, Data: data}
}

// Type implements message.Message.
func (*MMonCommand) Type() uint16 { return TypeMonCommand }

// Version implements message.Message.
func (*MMonCommand) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message. Data is referenced, not copied.
func (m *MMonCommand) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, m.Paxos)
	b = encoding.AppendUUID(b, m.FSID)
	p.Front = encoding.AppendStringSlice(b, m.Cmd)
	appendData(p, m.Data)
	return nil
}

// Decode implements message.Message.
func (m *MMonCommand) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	m.Paxos = decodePaxos(d)
	m.FSID = d.UUID()
	m.Cmd = d.StringSlice()
	m.Data = bytes.Clone(p.Data)
	return finish("MMonCommand", d)
}

func (m *MMonCommand) String() string {
	return fmt.Sprintf("mon_command(%s tid %d)", strings.Join(m.Cmd, " "), m.Tid)
}

// MMonCommandAck is a monitor's answer to an MMonCommand (v1): the return
// code (0 or -errno), the status string ("rs", what ceph prints on
// stderr), the command echoed, and the output (the data segment).
type MMonCommandAck struct {
	Paxos  PaxosHeader
	Tid    uint64
	Result int32
	Status string
	Cmd    []string
	Data   []byte
}

// Type implements message.Message.
func (*MMonCommandAck) Type() uint16 { return TypeMonCommandAck }

// Version implements message.Message.
func (*MMonCommandAck) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message. Data is referenced, not copied.
func (m *MMonCommandAck) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	h.Tid = m.Tid
	b := appendPaxos(p.Front, m.Paxos)
	b = encoding.AppendI32(b, m.Result)
	b = encoding.AppendString(b, m.Status)
	p.Front = encoding.AppendStringSlice(b, m.Cmd)
	appendData(p, m.Data)
	return nil
}

// Decode implements message.Message.
func (m *MMonCommandAck) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Tid = h.Tid
	m.Paxos = decodePaxos(d)
	m.Result = d.I32()
	m.Status = d.String()
	m.Cmd = d.StringSlice()
	m.Data = bytes.Clone(p.Data)
	return finish("MMonCommandAck", d)
}

func (m *MMonCommandAck) String() string {
	return fmt.Sprintf("mon_command_ack(%s = %d %q, %d bytes, tid %d)", strings.Join(m.Cmd, " "), m.Result, m.Status, len(m.Data), m.Tid)
}

// appendData sets the data segment, referencing data when the segment is
// empty so that large inputs are not copied.
func appendData(p *message.Payload, data []byte) {
	if len(p.Data) == 0 {
		p.Data = data
	} else {
		p.Data = append(p.Data, data...)
	}
}

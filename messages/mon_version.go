package messages

import (
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MMonGetVersion asks for the newest and oldest versions a monitor has of
// a map ("osdmap", "monmap", "mdsmap"; src/messages/MMonGetVersion.h,
// v1). Handle pairs it with the reply.
type MMonGetVersion struct {
	Handle uint64
	What   string
}

// Type implements message.Message.
func (*MMonGetVersion) Type() uint16 { return TypeMonGetVersion }

// Version implements message.Message.
func (*MMonGetVersion) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MMonGetVersion) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = encoding.AppendString(encoding.AppendU64(p.Front, m.Handle), m.What)
	return nil
}

// Decode implements message.Message.
func (m *MMonGetVersion) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Handle = d.U64()
	m.What = d.String()
	return finish("MMonGetVersion", d)
}

func (m *MMonGetVersion) String() string {
	return fmt.Sprintf("mon_get_version(what=%s handle=%d)", m.What, m.Handle)
}

// MMonGetVersionReply answers MMonGetVersion (v2).
type MMonGetVersionReply struct {
	Handle        uint64
	MapVersion    uint64 // Ceph's "version": the newest
	OldestVersion uint64 // v2
}

// Type implements message.Message.
func (*MMonGetVersionReply) Type() uint16 { return TypeMonGetVersionReply }

// Version implements message.Message.
func (*MMonGetVersionReply) Version() (uint16, uint16) { return 2, 1 }

// Encode implements message.Message.
func (m *MMonGetVersionReply) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	b := encoding.AppendU64(p.Front, m.Handle)
	b = encoding.AppendU64(b, m.MapVersion)
	p.Front = encoding.AppendU64(b, m.OldestVersion)
	return nil
}

// Decode implements message.Message.
func (m *MMonGetVersionReply) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Handle = d.U64()
	m.MapVersion = d.U64()
	m.OldestVersion = 0
	if h.Version >= 2 {
		m.OldestVersion = d.U64()
	}
	return finish("MMonGetVersionReply", d)
}

func (m *MMonGetVersionReply) String() string {
	return fmt.Sprintf("mon_get_version_reply(handle=%d version=%d oldest=%d)", m.Handle, m.MapVersion, m.OldestVersion)
}

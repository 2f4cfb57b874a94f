package messages

import (
	"bytes"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/monmap"
)

// MMonMap carries an encoded MonMap (src/messages/MMonMap.h, v1). The map
// is kept encoded, as Ceph keeps it; Map decodes it.
type MMonMap struct {
	MonMapBL []byte
}

// NewMMonMap encodes m for a peer with features.
func NewMMonMap(m *monmap.MonMap, features uint64) (*MMonMap, error) {
	b, err := m.Append(nil, features)
	if err != nil {
		return nil, err
	}
	return &MMonMap{MonMapBL: b}, nil
}

// Type implements message.Message.
func (*MMonMap) Type() uint16 { return TypeMonMap }

// Version implements message.Message.
func (*MMonMap) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MMonMap) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = encoding.AppendBytes(p.Front, m.MonMapBL)
	return nil
}

// Decode implements message.Message.
func (m *MMonMap) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.MonMapBL = bytes.Clone(d.Blob())
	return finish("MMonMap", d)
}

// Map decodes the carried MonMap.
func (m *MMonMap) Map() (*monmap.MonMap, error) { return monmap.Decode(m.MonMapBL) }

func (m *MMonMap) String() string { return fmt.Sprintf("mon_map(%d bytes)", len(m.MonMapBL)) }

// MMonGetMap asks a monitor for its MonMap; it has no body.
type MMonGetMap struct{}

// Type implements message.Message.
func (*MMonGetMap) Type() uint16 { return TypeMonGetMap }

// Version implements message.Message.
func (*MMonGetMap) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (*MMonGetMap) Encode(*message.Header, uint64, *message.Payload) error { return nil }

// Decode implements message.Message. Extra bytes are ignored, as in Ceph.
func (*MMonGetMap) Decode(*message.Header, uint64, *message.Payload) error { return nil }

func (*MMonGetMap) String() string { return "mon_get_map" }

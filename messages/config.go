package messages

import (
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MConfig is the configuration a monitor pushes to a daemon or client that
// subscribed to "config" (src/messages/MConfig.h, v1): option name → value.
type MConfig struct {
	Config map[string]string
}

// Type implements message.Message.
func (*MConfig) Type() uint16 { return TypeConfig }

// Version implements message.Message.
func (*MConfig) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MConfig) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = appendStringMap(p.Front, m.Config)
	return nil
}

// Decode implements message.Message.
func (m *MConfig) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Config = decodeStringMap(d)
	return finish("MConfig", d)
}

func (m *MConfig) String() string { return fmt.Sprintf("config(%d keys)", len(m.Config)) }

package messages

import (
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MOSDBackoff header versions.
const (
	MOSDBackoffVersion = 1
	MOSDBackoffCompat  = 1
)

// MOSDBackoff is an OSD asking a client to stop sending ops for a range of
// objects of a PG [Begin, End) (BackoffBlock) until it says BackoffUnblock.
// The client acknowledges a block with BackoffAckBlock echoing ID and the
// range (src/messages/MOSDBackoff.h, Objecter::handle_osd_backoff).
type MOSDBackoff struct {
	PGID  SPG
	Epoch uint32
	Op    uint8
	ID    uint64
	Begin HObject
	End   HObject
}

// AppendFront appends the payload.
func (m *MOSDBackoff) AppendFront(b []byte) []byte {
	b = AppendSPG(b, m.PGID)
	b = encoding.AppendU32(b, m.Epoch)
	b = append(b, m.Op)
	b = encoding.AppendU64(b, m.ID)
	b = AppendHObject(b, m.Begin)
	return AppendHObject(b, m.End)
}

// DecodeMOSDBackoff decodes an MOSDBackoff front segment.
func DecodeMOSDBackoff(version uint16, front []byte) (*MOSDBackoff, error) {
	if version < MOSDBackoffCompat {
		return nil, fmt.Errorf("%w: MOSDBackoff v%d", ErrOSDVersion, version)
	}
	d := encoding.NewDecoder(front)
	m := &MOSDBackoff{PGID: DecodeSPG(d), Epoch: d.U32(), Op: d.U8(), ID: d.U64()}
	m.Begin = DecodeHObject(d)
	m.End = DecodeHObject(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("MOSDBackoff: %w", err)
	}
	if m.Op < BackoffBlock || m.Op > BackoffUnblock {
		return nil, fmt.Errorf("%w: MOSDBackoff op %d", encoding.ErrMalformed, m.Op)
	}
	return m, nil
}

// Type implements message.Message.
func (m *MOSDBackoff) Type() uint16 { return TypeOSDBackoff }

// Version implements message.Message.
func (m *MOSDBackoff) Version() (uint16, uint16) { return MOSDBackoffVersion, MOSDBackoffCompat }

// Encode implements message.Message.
func (m *MOSDBackoff) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = m.AppendFront(p.Front)
	return nil
}

// Decode implements message.Message.
func (m *MOSDBackoff) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d, err := DecodeMOSDBackoff(h.Version, p.Front)
	if err != nil {
		return err
	}
	*m = *d
	return nil
}

func (m *MOSDBackoff) String() string {
	return fmt.Sprintf("osd_backoff(%s op %d id %d e%d)", m.PGID.PG, m.Op, m.ID, m.Epoch)
}

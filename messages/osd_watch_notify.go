package messages

import (
	"bytes"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// TypeWatchNotify is CEPH_MSG_WATCH_NOTIFY.
const TypeWatchNotify uint16 = 44

// MWatchNotify header versions (Pacific).
const (
	MWatchNotifyVersion = 3
	MWatchNotifyCompat  = 1
)

// Watch events (CEPH_WATCH_EVENT_*).
const (
	WatchEventNotify         uint8 = 1 // a notify for a watcher to ack
	WatchEventNotifyComplete uint8 = 2 // to the notifier: every ack in, or timed out
	WatchEventDisconnect     uint8 = 3 // the OSD dropped the watch
)

// MWatchNotify is an OSD telling a client about a watch or notify it
// registered (src/messages/MWatchNotify.h): a notify to ack (Payload from
// the notifier), a notify's completion (the acks in Data, see
// DecodeNotifyResult) or a watch's disconnection. Cookie names the watch,
// or the notifier's notify.
type MWatchNotify struct {
	Opcode      uint8
	Cookie      uint64
	Ver         uint64
	NotifyID    uint64
	Payload     []byte
	ReturnCode  int32  // NOTIFY_COMPLETE: -ETIMEDOUT if some watcher did not ack
	NotifierGID uint64 // the notifying client's global id
	Data        []byte // the data segment
}

// AppendFront appends the v3 payload.
func (m *MWatchNotify) AppendFront(b []byte) []byte {
	b = append(b, 1) // msg_ver
	b = append(b, m.Opcode)
	b = encoding.AppendU64(b, m.Cookie)
	b = encoding.AppendU64(b, m.Ver)
	b = encoding.AppendU64(b, m.NotifyID)
	b = encoding.AppendBytes(b, m.Payload)
	b = encoding.AppendI32(b, m.ReturnCode)
	return encoding.AppendU64(b, m.NotifierGID)
}

// DecodeMWatchNotify decodes an MWatchNotify's front and data segments
// (Data aliases data). A v1 or v2 message has no notifier id: the caller
// takes the sender's.
func DecodeMWatchNotify(version uint16, front, data []byte) (*MWatchNotify, error) {
	if version < MWatchNotifyCompat {
		return nil, fmt.Errorf("%w: MWatchNotify v%d", ErrOSDVersion, version)
	}
	d := encoding.NewDecoder(front)
	msgVer := d.U8()
	m := &MWatchNotify{Opcode: d.U8(), Cookie: d.U64(), Ver: d.U64(), NotifyID: d.U64(), Data: data}
	if msgVer >= 1 {
		m.Payload = d.Blob()
	}
	if version >= 2 {
		m.ReturnCode = d.I32()
	}
	if version >= 3 {
		m.NotifierGID = d.U64()
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("MWatchNotify: %w", err)
	}
	return m, nil
}

// Type implements message.Message.
func (m *MWatchNotify) Type() uint16 { return TypeWatchNotify }

// Version implements message.Message.
func (m *MWatchNotify) Version() (uint16, uint16) { return MWatchNotifyVersion, MWatchNotifyCompat }

// Encode implements message.Message.
func (m *MWatchNotify) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = m.AppendFront(p.Front)
	p.Data = append(p.Data, m.Data...)
	return nil
}

// Decode implements message.Message. The segments are copied.
func (m *MWatchNotify) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d, err := DecodeMWatchNotify(h.Version, bytes.Clone(p.Front), bytes.Clone(p.Data))
	if err != nil {
		return err
	}
	if h.Version < 3 {
		d.NotifierGID = uint64(h.Src.Num)
	}
	*m = *d
	return nil
}

func (m *MWatchNotify) String() string {
	return fmt.Sprintf("watch-notify(op %d cookie %d notify %d ret %d)", m.Opcode, m.Cookie, m.NotifyID, m.ReturnCode)
}

package messages

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// SubscribeOnetime is CEPH_SUBSCRIBE_ONETIME: send what is asked once, do
// not keep the subscription.
const SubscribeOnetime uint8 = 1

// SubscribeItem is ceph_mon_subscribe_item: the first epoch wanted (0 for
// the latest) and flags.
type SubscribeItem struct {
	Start uint64
	Flags uint8
}

// Subscription names MonClient uses.
const (
	SubMonMap = "monmap"
	SubOSDMap = "osdmap"
	SubConfig = "config"
	SubMgrMap = "mgrmap"
)

// MMonSubscribe asks a monitor for maps (src/messages/MMonSubscribe.h,
// v3): what to send from which epoch, and the client's host name.
type MMonSubscribe struct {
	What     map[string]SubscribeItem
	Hostname string
}

// Type implements message.Message.
func (*MMonSubscribe) Type() uint16 { return TypeMonSubscribe }

// Version implements message.Message.
func (*MMonSubscribe) Version() (uint16, uint16) { return 3, 1 }

// Encode implements message.Message. Only the SUBSCRIBE2 form is written:
// every Ceph since Bobtail has it.
func (m *MMonSubscribe) Encode(_ *message.Header, features uint64, p *message.Payload) error {
	if features != 0 && !encoding.HasFeatures(features, encoding.FeatureSubscribe2) {
		return fmt.Errorf("%w: MMonSubscribe for a peer without SUBSCRIBE2", ErrMonVersion)
	}
	keys := make([]string, 0, len(m.What))
	for k := range m.What {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := encoding.AppendU32(p.Front, uint32(len(keys)))
	for _, k := range keys {
		b = encoding.AppendString(b, k)
		b = encoding.AppendU64(b, m.What[k].Start)
		b = encoding.AppendU8(b, m.What[k].Flags)
	}
	p.Front = encoding.AppendString(b, m.Hostname)
	return nil
}

// Decode implements message.Message, including the pre-SUBSCRIBE2 form
// (v0/v1: unused u64, have u64, onetime u8 per item).
func (m *MMonSubscribe) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	n := d.Len(4 + 9)
	if n > maxMapEntries {
		d.Failf("MMonSubscribe: %d items", n)
	}
	m.What = make(map[string]SubscribeItem, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := d.String()
		var it SubscribeItem
		if h.Version < 2 {
			d.U64() // unused
			it.Start = d.U64()
			if d.Bool() {
				it.Flags = SubscribeOnetime
			}
		} else {
			it.Start = d.U64()
			it.Flags = d.U8()
		}
		m.What[k] = it
	}
	m.Hostname = ""
	if h.Version >= 3 {
		m.Hostname = d.String()
	}
	return finish("MMonSubscribe", d)
}

func (m *MMonSubscribe) String() string {
	keys := make([]string, 0, len(m.What))
	for k, v := range m.What {
		keys = append(keys, fmt.Sprintf("%s=%d+%d", k, v.Start, v.Flags))
	}
	sort.Strings(keys)
	return "mon_subscribe({" + strings.Join(keys, ",") + "})"
}

// MMonSubscribeAck acknowledges a subscription (legacy monitors only send
// it to clients without SUBSCRIBE2; v1): renewal interval and fsid.
type MMonSubscribeAck struct {
	Interval uint32
	FSID     encoding.UUID
}

// Type implements message.Message.
func (*MMonSubscribeAck) Type() uint16 { return TypeMonSubscribeAck }

// Version implements message.Message.
func (*MMonSubscribeAck) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MMonSubscribeAck) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	p.Front = encoding.AppendUUID(encoding.AppendU32(p.Front, m.Interval), m.FSID)
	return nil
}

// Decode implements message.Message.
func (m *MMonSubscribeAck) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Interval = d.U32()
	m.FSID = d.UUID()
	return finish("MMonSubscribeAck", d)
}

func (m *MMonSubscribeAck) String() string {
	return fmt.Sprintf("mon_subscribe_ack(%ds %s)", m.Interval, m.FSID)
}

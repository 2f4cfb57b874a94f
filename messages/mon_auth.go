package messages

import (
	"bytes"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// MAuth carries an auth request to a monitor (src/messages/MAuth.h, v1).
// Over msgr2 the first authentication happens in AUTH_* frames; MonClient
// still sends MAuth on an open session to renew tickets and to fetch
// rotating service keys (MonClient::_check_auth_tickets and
// _check_auth_rotating). Payload is the method's request (cephx:
// CephXRequestHeader and body).
type MAuth struct {
	Paxos       PaxosHeader
	Protocol    uint32 // auth method: 1 none, 2 cephx
	Payload     []byte
	MonMapEpoch uint32
}

// Type implements message.Message.
func (*MAuth) Type() uint16 { return TypeAuth }

// Version implements message.Message.
func (*MAuth) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MAuth) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	b := appendPaxos(p.Front, m.Paxos)
	b = encoding.AppendU32(b, m.Protocol)
	b = encoding.AppendBytes(b, m.Payload)
	p.Front = encoding.AppendU32(b, m.MonMapEpoch)
	return nil
}

// Decode implements message.Message. The monmap epoch is optional, as in
// Ceph.
func (m *MAuth) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Paxos = decodePaxos(d)
	m.Protocol = d.U32()
	m.Payload = bytes.Clone(d.Blob())
	m.MonMapEpoch = 0
	if d.Err() == nil && d.Remaining() > 0 {
		m.MonMapEpoch = d.U32()
	}
	return finish("MAuth", d)
}

func (m *MAuth) String() string {
	return fmt.Sprintf("auth(proto %d %d bytes epoch %d)", m.Protocol, len(m.Payload), m.MonMapEpoch)
}

// MAuthReply is a monitor's answer to MAuth (v1): the method, the result
// (0 or -errno), the global id, the method's reply and a message.
type MAuthReply struct {
	Protocol  uint32
	Result    int32
	GlobalID  uint64
	ResultBL  []byte
	ResultMsg string
}

// Type implements message.Message.
func (*MAuthReply) Type() uint16 { return TypeAuthReply }

// Version implements message.Message.
func (*MAuthReply) Version() (uint16, uint16) { return 1, 1 }

// Encode implements message.Message.
func (m *MAuthReply) Encode(_ *message.Header, _ uint64, p *message.Payload) error {
	b := encoding.AppendU32(p.Front, m.Protocol)
	b = encoding.AppendI32(b, m.Result)
	b = encoding.AppendU64(b, m.GlobalID)
	b = encoding.AppendBytes(b, m.ResultBL)
	p.Front = encoding.AppendString(b, m.ResultMsg)
	return nil
}

// Decode implements message.Message.
func (m *MAuthReply) Decode(_ *message.Header, _ uint64, p *message.Payload) error {
	d := encoding.NewDecoder(p.Front)
	m.Protocol = d.U32()
	m.Result = d.I32()
	m.GlobalID = d.U64()
	m.ResultBL = bytes.Clone(d.Blob())
	m.ResultMsg = d.String()
	return finish("MAuthReply", d)
}

func (m *MAuthReply) String() string {
	return fmt.Sprintf("auth_reply(proto %d %d %q global_id %d)", m.Protocol, m.Result, m.ResultMsg, m.GlobalID)
}

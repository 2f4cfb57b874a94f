package wire

import "github.com/gomsgr/msgr/encoding"

// Hello is the first frame each side sends: its entity type and the
// address it sees the peer at.
type Hello struct {
	EntityType uint8
	PeerAddr   encoding.EntityAddr
}

func (*Hello) Tag() Tag { return TagHello }

func (f *Hello) AppendPayload(b []byte) []byte {
	b = append(b, f.EntityType)
	return encoding.AppendEntityAddr(b, f.PeerAddr, frameFeatures)
}

func (f *Hello) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.EntityType = d.U8()
	f.PeerAddr = d.EntityAddr()
	return payloadError(TagHello, d.Err())
}

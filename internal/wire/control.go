package wire

import (
	"fmt"

	"github.com/gomsgr/msgr/encoding"
)

// ControlFrame is the payload of every frame except MESSAGE: one segment,
// encoded as Ceph's ControlFrame encodes its fields.
type ControlFrame interface {
	Tag() Tag
	// AppendPayload appends the encoded segment to b.
	AppendPayload(b []byte) []byte
	// DecodePayload reads the segment. Byte slices kept by the frame
	// alias p. Unread trailing bytes are ignored, as Ceph ignores them.
	DecodePayload(p []byte) error
}

// frameFeatures is what Ceph assumes of the peer when encoding addresses
// inside control frames.
const frameFeatures = encoding.Msgr2FrameFeatures

// NewControlFrame returns an empty frame value for tag t, or an error
// matching ErrUnknownTag (MESSAGE is not a control frame).
func NewControlFrame(t Tag) (ControlFrame, error) {
	switch t {
	case TagHello:
		return new(Hello), nil
	case TagAuthRequest:
		return new(AuthRequest), nil
	case TagAuthBadMethod:
		return new(AuthBadMethod), nil
	case TagAuthReplyMore:
		return new(AuthReplyMore), nil
	case TagAuthRequestMore:
		return new(AuthRequestMore), nil
	case TagAuthDone:
		return new(AuthDone), nil
	case TagAuthSignature:
		return new(AuthSignature), nil
	case TagClientIdent:
		return new(ClientIdent), nil
	case TagServerIdent:
		return new(ServerIdent), nil
	case TagIdentMissingFeatures:
		return new(IdentMissingFeatures), nil
	case TagSessionReconnect:
		return new(SessionReconnect), nil
	case TagSessionReset:
		return new(SessionReset), nil
	case TagSessionRetry:
		return new(SessionRetry), nil
	case TagSessionRetryGlobal:
		return new(SessionRetryGlobal), nil
	case TagSessionReconnectOK:
		return new(SessionReconnectOK), nil
	case TagWait:
		return new(Wait), nil
	case TagKeepalive2:
		return new(Keepalive2), nil
	case TagKeepalive2Ack:
		return new(Keepalive2Ack), nil
	case TagAck:
		return new(Ack), nil
	case TagCompressionRequest:
		return new(CompressionRequest), nil
	case TagCompressionDone:
		return new(CompressionDone), nil
	}
	return nil, fmt.Errorf("%w: %v is not a control frame", ErrUnknownTag, t)
}

// DecodeControlFrame decodes a control frame's segment into a new value.
func DecodeControlFrame(t Tag, p []byte) (ControlFrame, error) {
	f, err := NewControlFrame(t)
	if err != nil {
		return nil, err
	}
	if err := f.DecodePayload(p); err != nil {
		return nil, err
	}
	return f, nil
}

// appendU32s appends a std::vector<uint32_t>.
func appendU32s(b []byte, v []uint32) []byte {
	b = encoding.AppendU32(b, uint32(len(v)))
	for _, x := range v {
		b = encoding.AppendU32(b, x)
	}
	return b
}

// u32s reads a std::vector<uint32_t>, its length checked before allocating.
func u32s(d *encoding.Decoder) []uint32 {
	n := d.Len(4)
	if d.Err() != nil || n == 0 {
		return nil
	}
	v := make([]uint32, n)
	for i := range v {
		v[i] = d.U32()
	}
	return v
}

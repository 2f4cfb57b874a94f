package wire

import "github.com/gomsgr/msgr/encoding"

// AuthRequest opens the authentication exchange (client to server).
type AuthRequest struct {
	Method         uint32
	PreferredModes []uint32
	Payload        []byte // method-specific, opaque here
}

func (*AuthRequest) Tag() Tag { return TagAuthRequest }

func (f *AuthRequest) AppendPayload(b []byte) []byte {
	b = encoding.AppendU32(b, f.Method)
	b = appendU32s(b, f.PreferredModes)
	return encoding.AppendBytes(b, f.Payload)
}

func (f *AuthRequest) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Method = d.U32()
	f.PreferredModes = u32s(d)
	f.Payload = d.Blob()
	return payloadError(TagAuthRequest, d.Err())
}

// AuthBadMethod refuses the method or modes asked for and lists the
// acceptable ones (server to client).
type AuthBadMethod struct {
	Method         uint32
	Result         int32 // negative errno
	AllowedMethods []uint32
	AllowedModes   []uint32
}

func (*AuthBadMethod) Tag() Tag { return TagAuthBadMethod }

func (f *AuthBadMethod) AppendPayload(b []byte) []byte {
	b = encoding.AppendU32(b, f.Method)
	b = encoding.AppendI32(b, f.Result)
	b = appendU32s(b, f.AllowedMethods)
	return appendU32s(b, f.AllowedModes)
}

func (f *AuthBadMethod) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Method = d.U32()
	f.Result = d.I32()
	f.AllowedMethods = u32s(d)
	f.AllowedModes = u32s(d)
	return payloadError(TagAuthBadMethod, d.Err())
}

// AuthReplyMore carries another round of the method's exchange (server to
// client).
type AuthReplyMore struct {
	Payload []byte
}

func (*AuthReplyMore) Tag() Tag { return TagAuthReplyMore }

func (f *AuthReplyMore) AppendPayload(b []byte) []byte { return encoding.AppendBytes(b, f.Payload) }

func (f *AuthReplyMore) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Payload = d.Blob()
	return payloadError(TagAuthReplyMore, d.Err())
}

// AuthRequestMore answers an AuthReplyMore (client to server).
type AuthRequestMore struct {
	Payload []byte
}

func (*AuthRequestMore) Tag() Tag { return TagAuthRequestMore }

func (f *AuthRequestMore) AppendPayload(b []byte) []byte { return encoding.AppendBytes(b, f.Payload) }

func (f *AuthRequestMore) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Payload = d.Blob()
	return payloadError(TagAuthRequestMore, d.Err())
}

// AuthDone ends a successful exchange (server to client): the client's
// global id, the connection mode chosen, and the method's final payload.
type AuthDone struct {
	GlobalID uint64
	ConMode  uint32
	Payload  []byte
}

func (*AuthDone) Tag() Tag { return TagAuthDone }

func (f *AuthDone) AppendPayload(b []byte) []byte {
	b = encoding.AppendU64(b, f.GlobalID)
	b = encoding.AppendU32(b, f.ConMode)
	return encoding.AppendBytes(b, f.Payload)
}

func (f *AuthDone) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.GlobalID = d.U64()
	f.ConMode = d.U32()
	f.Payload = d.Blob()
	return payloadError(TagAuthDone, d.Err())
}

// AuthSignature is an HMAC-SHA256, keyed with the session key, of every
// byte this side received before it (all zero with auth none).
type AuthSignature struct {
	Signature [32]byte
}

func (*AuthSignature) Tag() Tag { return TagAuthSignature }

func (f *AuthSignature) AppendPayload(b []byte) []byte { return append(b, f.Signature[:]...) }

func (f *AuthSignature) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	copy(f.Signature[:], d.Bytes(32))
	return payloadError(TagAuthSignature, d.Err())
}

package wire

import "github.com/gomsgr/msgr/encoding"

// Flags of ClientIdent and ServerIdent (CEPH_MSG_CONNECT_LOSSY).
const IdentFlagLossy uint64 = 1

// ClientIdent starts a new session (client to server).
type ClientIdent struct {
	Addrs             encoding.EntityAddrVec // where the client listens
	TargetAddr        encoding.EntityAddr    // the server address it dialled
	GlobalID          int64
	GlobalSeq         uint64
	SupportedFeatures uint64
	RequiredFeatures  uint64
	Flags             uint64
	ClientCookie      uint64
}

func (*ClientIdent) Tag() Tag { return TagClientIdent }

func (f *ClientIdent) AppendPayload(b []byte) []byte {
	b = encoding.AppendEntityAddrVec(b, f.Addrs, frameFeatures)
	b = encoding.AppendEntityAddr(b, f.TargetAddr, frameFeatures)
	b = encoding.AppendI64(b, f.GlobalID)
	b = encoding.AppendU64(b, f.GlobalSeq)
	b = encoding.AppendU64(b, f.SupportedFeatures)
	b = encoding.AppendU64(b, f.RequiredFeatures)
	b = encoding.AppendU64(b, f.Flags)
	return encoding.AppendU64(b, f.ClientCookie)
}

func (f *ClientIdent) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Addrs = d.EntityAddrVec()
	f.TargetAddr = d.EntityAddr()
	f.GlobalID = d.I64()
	f.GlobalSeq = d.U64()
	f.SupportedFeatures = d.U64()
	f.RequiredFeatures = d.U64()
	f.Flags = d.U64()
	f.ClientCookie = d.U64()
	return payloadError(TagClientIdent, d.Err())
}

// ServerIdent accepts a new session (server to client).
type ServerIdent struct {
	Addrs             encoding.EntityAddrVec
	GlobalID          int64
	GlobalSeq         uint64
	SupportedFeatures uint64
	RequiredFeatures  uint64
	Flags             uint64
	ServerCookie      uint64
}

func (*ServerIdent) Tag() Tag { return TagServerIdent }

func (f *ServerIdent) AppendPayload(b []byte) []byte {
	b = encoding.AppendEntityAddrVec(b, f.Addrs, frameFeatures)
	b = encoding.AppendI64(b, f.GlobalID)
	b = encoding.AppendU64(b, f.GlobalSeq)
	b = encoding.AppendU64(b, f.SupportedFeatures)
	b = encoding.AppendU64(b, f.RequiredFeatures)
	b = encoding.AppendU64(b, f.Flags)
	return encoding.AppendU64(b, f.ServerCookie)
}

func (f *ServerIdent) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Addrs = d.EntityAddrVec()
	f.GlobalID = d.I64()
	f.GlobalSeq = d.U64()
	f.SupportedFeatures = d.U64()
	f.RequiredFeatures = d.U64()
	f.Flags = d.U64()
	f.ServerCookie = d.U64()
	return payloadError(TagServerIdent, d.Err())
}

// IdentMissingFeatures refuses a session: the mask of required features
// the other side lacks.
type IdentMissingFeatures struct {
	Features uint64
}

func (*IdentMissingFeatures) Tag() Tag { return TagIdentMissingFeatures }

func (f *IdentMissingFeatures) AppendPayload(b []byte) []byte {
	return encoding.AppendU64(b, f.Features)
}

func (f *IdentMissingFeatures) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Features = d.U64()
	return payloadError(TagIdentMissingFeatures, d.Err())
}

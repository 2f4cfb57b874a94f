package wire

import "github.com/gomsgr/msgr/encoding"

// SessionReconnect resumes an existing session (client to server).
type SessionReconnect struct {
	Addrs        encoding.EntityAddrVec
	ClientCookie uint64
	ServerCookie uint64
	GlobalSeq    uint64
	ConnectSeq   uint64
	MsgSeq       uint64 // last message the client received
}

func (*SessionReconnect) Tag() Tag { return TagSessionReconnect }

func (f *SessionReconnect) AppendPayload(b []byte) []byte {
	b = encoding.AppendEntityAddrVec(b, f.Addrs, frameFeatures)
	b = encoding.AppendU64(b, f.ClientCookie)
	b = encoding.AppendU64(b, f.ServerCookie)
	b = encoding.AppendU64(b, f.GlobalSeq)
	b = encoding.AppendU64(b, f.ConnectSeq)
	return encoding.AppendU64(b, f.MsgSeq)
}

func (f *SessionReconnect) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Addrs = d.EntityAddrVec()
	f.ClientCookie = d.U64()
	f.ServerCookie = d.U64()
	f.GlobalSeq = d.U64()
	f.ConnectSeq = d.U64()
	f.MsgSeq = d.U64()
	return payloadError(TagSessionReconnect, d.Err())
}

// SessionReset tells the client its session is gone; Full also resets
// the client's cookie.
type SessionReset struct {
	Full bool
}

func (*SessionReset) Tag() Tag { return TagSessionReset }

func (f *SessionReset) AppendPayload(b []byte) []byte { return encoding.AppendBool(b, f.Full) }

func (f *SessionReset) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Full = d.Bool()
	return payloadError(TagSessionReset, d.Err())
}

// SessionRetry asks the client to reconnect with a higher connect_seq.
type SessionRetry struct {
	ConnectSeq uint64
}

func (*SessionRetry) Tag() Tag { return TagSessionRetry }

func (f *SessionRetry) AppendPayload(b []byte) []byte { return encoding.AppendU64(b, f.ConnectSeq) }

func (f *SessionRetry) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.ConnectSeq = d.U64()
	return payloadError(TagSessionRetry, d.Err())
}

// SessionRetryGlobal asks the client to reconnect with a higher global_seq.
type SessionRetryGlobal struct {
	GlobalSeq uint64
}

func (*SessionRetryGlobal) Tag() Tag { return TagSessionRetryGlobal }

func (f *SessionRetryGlobal) AppendPayload(b []byte) []byte {
	return encoding.AppendU64(b, f.GlobalSeq)
}

func (f *SessionRetryGlobal) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.GlobalSeq = d.U64()
	return payloadError(TagSessionRetryGlobal, d.Err())
}

// SessionReconnectOK accepts a reconnect: the last message the server
// received.
type SessionReconnectOK struct {
	MsgSeq uint64
}

func (*SessionReconnectOK) Tag() Tag { return TagSessionReconnectOK }

func (f *SessionReconnectOK) AppendPayload(b []byte) []byte { return encoding.AppendU64(b, f.MsgSeq) }

func (f *SessionReconnectOK) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.MsgSeq = d.U64()
	return payloadError(TagSessionReconnectOK, d.Err())
}

// Wait tells the peer to back off: a connection race it lost. No payload.
type Wait struct{}

func (*Wait) Tag() Tag { return TagWait }

func (*Wait) AppendPayload(b []byte) []byte { return b }

func (*Wait) DecodePayload([]byte) error { return nil }

package wire

import "github.com/gomsgr/msgr/encoding"

// Keepalive2 carries the sender's clock; the peer echoes it in
// Keepalive2Ack.
type Keepalive2 struct {
	Timestamp encoding.UTime
}

func (*Keepalive2) Tag() Tag { return TagKeepalive2 }

func (f *Keepalive2) AppendPayload(b []byte) []byte { return encoding.AppendUTime(b, f.Timestamp) }

func (f *Keepalive2) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Timestamp = d.UTime()
	return payloadError(TagKeepalive2, d.Err())
}

// Keepalive2Ack echoes a Keepalive2's timestamp.
type Keepalive2Ack struct {
	Timestamp encoding.UTime
}

func (*Keepalive2Ack) Tag() Tag { return TagKeepalive2Ack }

func (f *Keepalive2Ack) AppendPayload(b []byte) []byte { return encoding.AppendUTime(b, f.Timestamp) }

func (f *Keepalive2Ack) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Timestamp = d.UTime()
	return payloadError(TagKeepalive2Ack, d.Err())
}

// Ack acknowledges every message up to Seq.
type Ack struct {
	Seq uint64
}

func (*Ack) Tag() Tag { return TagAck }

func (f *Ack) AppendPayload(b []byte) []byte { return encoding.AppendU64(b, f.Seq) }

func (f *Ack) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.Seq = d.U64()
	return payloadError(TagAck, d.Err())
}

// CompressionRequest proposes on-wire compression (Quincy and later; a
// Pacific peer never sends it).
type CompressionRequest struct {
	IsCompress       bool
	PreferredMethods []uint32
}

func (*CompressionRequest) Tag() Tag { return TagCompressionRequest }

func (f *CompressionRequest) AppendPayload(b []byte) []byte {
	b = encoding.AppendBool(b, f.IsCompress)
	return appendU32s(b, f.PreferredMethods)
}

func (f *CompressionRequest) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.IsCompress = d.Bool()
	f.PreferredMethods = u32s(d)
	return payloadError(TagCompressionRequest, d.Err())
}

// CompressionDone answers a CompressionRequest with the method chosen.
type CompressionDone struct {
	IsCompress bool
	Method     uint32
}

func (*CompressionDone) Tag() Tag { return TagCompressionDone }

func (f *CompressionDone) AppendPayload(b []byte) []byte {
	b = encoding.AppendBool(b, f.IsCompress)
	return encoding.AppendU32(b, f.Method)
}

func (f *CompressionDone) DecodePayload(p []byte) error {
	d := encoding.NewDecoder(p)
	f.IsCompress = d.Bool()
	f.Method = d.U32()
	return payloadError(TagCompressionDone, d.Err())
}

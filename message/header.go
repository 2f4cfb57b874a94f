package message

import (
	"encoding/binary"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
)

// Default priorities (CEPH_MSG_PRIO_*).
const (
	PrioLow     uint16 = 64
	PrioDefault uint16 = 127
	PrioHigh    uint16 = 196
	PrioHighest uint16 = 255
)

// Footer flags (CEPH_MSG_FOOTER_*). In msgr2 the footer is not sent: its
// flags travel in header2's flags byte, its crcs and signature are gone
// (each frame segment has its own crc or GCM tag), and a receiver rebuilds
// it as Ceph's ProtocolV2::handle_message does: zero crcs, header2's flags.
// Likewise header2 has no front/middle/data lengths or source: the lengths
// are the frame's segment lengths, the source the peer's name from the
// session handshake.
const (
	FooterComplete uint8 = 1 << 0 // the message arrived whole
	FooterNoCRC    uint8 = 1 << 1
	FooterSigned   uint8 = 1 << 2
)

// Header2Size is the size of ceph_msg_header2 on the wire.
const Header2Size = 41

// Header is a message's envelope: what msgr2 carries in ceph_msg_header2
// plus what a receiver learns from the connection (Src) and the frame
// (segment lengths).
//
// The messenger fills Seq and AckSeq; a Message's Encode may set Tid,
// Priority and DataOff; Type, Version and CompatVersion come from the
// Message.
type Header struct {
	Seq               uint64
	Tid               uint64
	Type              uint16
	Priority          uint16
	Version           uint16
	DataPrePaddingLen uint32 // always 0 from Ceph's msgr2
	DataOff           uint16 // offset of the data in the object, a hint for alignment
	AckSeq            uint64
	Flags             uint8 // footer flags (FooterComplete, ...)
	CompatVersion     uint16
	Reserved          uint16

	// Not in header2: known from the connection and the frame.
	Src       encoding.EntityName
	FrontLen  uint32
	MiddleLen uint32
	DataLen   uint32
}

// AppendHeader2 appends h as ceph_msg_header2 (41 bytes, little-endian,
// packed).
func AppendHeader2(b []byte, h *Header) []byte {
	b = binary.LittleEndian.AppendUint64(b, h.Seq)
	b = binary.LittleEndian.AppendUint64(b, h.Tid)
	b = binary.LittleEndian.AppendUint16(b, h.Type)
	b = binary.LittleEndian.AppendUint16(b, h.Priority)
	b = binary.LittleEndian.AppendUint16(b, h.Version)
	b = binary.LittleEndian.AppendUint32(b, h.DataPrePaddingLen)
	b = binary.LittleEndian.AppendUint16(b, h.DataOff)
	b = binary.LittleEndian.AppendUint64(b, h.AckSeq)
	b = append(b, h.Flags)
	b = binary.LittleEndian.AppendUint16(b, h.CompatVersion)
	return binary.LittleEndian.AppendUint16(b, h.Reserved)
}

// DecodeHeader2 fills the header2 fields of h from p, which must be at
// least Header2Size bytes (Ceph reads the segment as the packed struct and
// ignores any excess). Src and the lengths are left alone.
func DecodeHeader2(h *Header, p []byte) error {
	if len(p) < Header2Size {
		return fmt.Errorf("message: header2 of %d bytes: %w", len(p), encoding.ErrTruncated)
	}
	h.Seq = binary.LittleEndian.Uint64(p[0:])
	h.Tid = binary.LittleEndian.Uint64(p[8:])
	h.Type = binary.LittleEndian.Uint16(p[16:])
	h.Priority = binary.LittleEndian.Uint16(p[18:])
	h.Version = binary.LittleEndian.Uint16(p[20:])
	h.DataPrePaddingLen = binary.LittleEndian.Uint32(p[22:])
	h.DataOff = binary.LittleEndian.Uint16(p[26:])
	h.AckSeq = binary.LittleEndian.Uint64(p[28:])
	h.Flags = p[36]
	h.CompatVersion = binary.LittleEndian.Uint16(p[37:])
	h.Reserved = binary.LittleEndian.Uint16(p[39:])
	return nil
}

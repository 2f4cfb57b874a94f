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

// HeaderSize is the size of msgr1's ceph_msg_header on the wire: its
// fields, the source and the segment lengths, then a crc32c of the rest.
const HeaderSize = 53

// headerCRCOff is where ceph_msg_header's crc starts (it covers what
// comes before).
const headerCRCOff = HeaderSize - 4

// AppendHeader appends h as msgr1's ceph_msg_header (53 bytes,
// little-endian, packed) with its crc (Message::calc_header_crc).
func AppendHeader(b []byte, h *Header) []byte {
	start := len(b)
	b = appendHeaderHead(b, h)
	b = binary.LittleEndian.AppendUint32(b, h.FrontLen)
	b = binary.LittleEndian.AppendUint32(b, h.MiddleLen)
	b = binary.LittleEndian.AppendUint32(b, h.DataLen)
	b = binary.LittleEndian.AppendUint16(b, h.DataOff)
	b = append(b, h.Src.Type)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.Src.Num))
	b = binary.LittleEndian.AppendUint16(b, h.CompatVersion)
	b = binary.LittleEndian.AppendUint16(b, h.Reserved)
	return binary.LittleEndian.AppendUint32(b, HeaderCRC(b[start:]))
}

// DecodeHeader fills h from msgr1's ceph_msg_header in p (at least
// HeaderSize bytes) and returns the crc it carries; checking it against
// HeaderCRC is the messenger's part. AckSeq and Flags are left zero: msgr1
// acks apart and carries the flags in the footer.
func DecodeHeader(h *Header, p []byte) (crc uint32, err error) {
	if len(p) < HeaderSize {
		return 0, fmt.Errorf("message: header of %d bytes: %w", len(p), encoding.ErrTruncated)
	}
	*h = Header{}
	decodeHeaderHead(h, p)
	h.FrontLen = binary.LittleEndian.Uint32(p[22:])
	h.MiddleLen = binary.LittleEndian.Uint32(p[26:])
	h.DataLen = binary.LittleEndian.Uint32(p[30:])
	h.DataOff = binary.LittleEndian.Uint16(p[34:])
	h.Src = encoding.EntityName{Type: p[36], Num: int64(binary.LittleEndian.Uint64(p[37:]))}
	h.CompatVersion = binary.LittleEndian.Uint16(p[45:])
	h.Reserved = binary.LittleEndian.Uint16(p[47:])
	return binary.LittleEndian.Uint32(p[headerCRCOff:]), nil
}

// HeaderCRC is the crc of an encoded ceph_msg_header (of its first 49
// bytes: ceph_crc32c seeded with 0).
func HeaderCRC(p []byte) uint32 { return encoding.CRC32C(0, p[:headerCRCOff]) }

// appendHeaderHead appends what both headers start with: seq, tid, type,
// priority, version.
func appendHeaderHead(b []byte, h *Header) []byte {
	b = binary.LittleEndian.AppendUint64(b, h.Seq)
	b = binary.LittleEndian.AppendUint64(b, h.Tid)
	b = binary.LittleEndian.AppendUint16(b, h.Type)
	b = binary.LittleEndian.AppendUint16(b, h.Priority)
	return binary.LittleEndian.AppendUint16(b, h.Version)
}

func decodeHeaderHead(h *Header, p []byte) {
	h.Seq = binary.LittleEndian.Uint64(p[0:])
	h.Tid = binary.LittleEndian.Uint64(p[8:])
	h.Type = binary.LittleEndian.Uint16(p[16:])
	h.Priority = binary.LittleEndian.Uint16(p[18:])
	h.Version = binary.LittleEndian.Uint16(p[20:])
}

// AppendHeader2 appends h as ceph_msg_header2 (41 bytes, little-endian,
// packed).
func AppendHeader2(b []byte, h *Header) []byte {
	b = appendHeaderHead(b, h)
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
	decodeHeaderHead(h, p)
	h.DataPrePaddingLen = binary.LittleEndian.Uint32(p[22:])
	h.DataOff = binary.LittleEndian.Uint16(p[26:])
	h.AckSeq = binary.LittleEndian.Uint64(p[28:])
	h.Flags = p[36]
	h.CompatVersion = binary.LittleEndian.Uint16(p[37:])
	h.Reserved = binary.LittleEndian.Uint16(p[39:])
	return nil
}

package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
)

// Frame layout constants (frames_v2.h).
const (
	PreambleSize = 32 // tag, count, 4 × (u32 len, u16 align), flags, reserved, crc
	MaxSegments  = 4
	// InlineSize is how much of segment 0 rides in the first secure
	// record of a v2.1 frame (FRAME_PREAMBLE_INLINE_SIZE).
	InlineSize = 48
	// TagSize is the AES-GCM tag after every secure record.
	TagSize = 16
	// Block is the secure-mode padding unit (CRYPTO_BLOCK_SIZE).
	Block = 16

	crcSize           = 4
	epilogueCRCRev0   = 1 + 4*4 // late_flags, crc of each of 4 segments
	epilogueCRCRev1   = 1 + 3*4 // late_status, crc of segments 1..3
	epilogueSecure    = Block   // late status and padding
	firstSecureRecord = PreambleSize + InlineSize + TagSize
)

// Segment alignments Ceph announces in the preamble: 8 for everything
// except a MESSAGE's data segment, which asks for page alignment.
const (
	AlignDefault uint16 = 8
	AlignPage    uint16 = 4096
)

// Late status of a v2.1 epilogue (FRAME_LATE_STATUS_*), and the v2.0 flag.
const (
	lateStatusAborted  = 0x1
	lateStatusComplete = 0xe
	lateStatusMask     = 0xf
	lateFlagAborted    = 0x1
)

// Message frame segments.
const (
	SegHeader = 0
	SegFront  = 1
	SegMiddle = 2
	SegData   = 3
)

// SegmentSeed seeds the crc Ceph puts after a segment.
const SegmentSeed = 0xffffffff

// SegmentCRC is the crc Ceph puts after a segment.
func SegmentCRC(p []byte) uint32 { return encoding.CRC32C(SegmentSeed, p) }

// Preamble is a frame's first block.
type Preamble struct {
	Tag         Tag
	NumSegments uint8
	Lengths     [MaxSegments]uint32
	Aligns      [MaxSegments]uint16
	Flags       uint8 // compression flags (Quincy); 0 from Pacific
	Reserved    uint8
}

// put writes p into b[:PreambleSize] with its crc.
func (p *Preamble) put(b []byte) {
	_ = b[PreambleSize-1]
	b[0] = byte(p.Tag)
	b[1] = p.NumSegments
	for i := 0; i < MaxSegments; i++ {
		binary.LittleEndian.PutUint32(b[2+6*i:], p.Lengths[i])
		binary.LittleEndian.PutUint16(b[6+6*i:], p.Aligns[i])
	}
	b[26] = p.Flags
	b[27] = p.Reserved
	binary.LittleEndian.PutUint32(b[28:], encoding.CRC32C(0, b[:28]))
}

// parsePreamble checks b's crc and reads it. Structural checks are in
// Limits.check.
func parsePreamble(p *Preamble, b []byte) error {
	_ = b[PreambleSize-1]
	if got, want := encoding.CRC32C(0, b[:28]), binary.LittleEndian.Uint32(b[28:]); got != want {
		return fmt.Errorf("%w: preamble crc %#08x, computed %#08x", ErrBadCRC, want, got)
	}
	p.Tag = Tag(b[0])
	p.NumSegments = b[1]
	for i := 0; i < MaxSegments; i++ {
		p.Lengths[i] = binary.LittleEndian.Uint32(b[2+6*i:])
		p.Aligns[i] = binary.LittleEndian.Uint16(b[6+6*i:])
	}
	p.Flags = b[26]
	p.Reserved = b[27]
	return nil
}

// Limits bound what a decoder accepts; every length is checked against
// them before any buffer grows.
type Limits struct {
	MaxSegmentLen uint32 // one segment's logical length
	MaxFrameLen   uint64 // one frame on the wire, all overheads included
}

// DefaultLimits accept any frame Ceph sends by default (its largest
// messages are bounded by osd_client_message_size_cap, 500 MiB) while
// stopping a peer from asking for gigabytes.
var DefaultLimits = Limits{MaxSegmentLen: 512 << 20, MaxFrameLen: 512<<20 + 4096}

// check validates a preamble's structure as Ceph does, and against l.
func (l Limits) check(p *Preamble) error {
	if !p.Tag.Valid() {
		return fmt.Errorf("%w: %d", ErrUnknownTag, uint8(p.Tag))
	}
	n := int(p.NumSegments)
	if n < 1 || n > MaxSegments {
		return fmt.Errorf("%w: %d segments", ErrMalformed, n)
	}
	if n > 1 && p.Lengths[n-1] == 0 {
		return fmt.Errorf("%w: last segment empty", ErrMalformed)
	}
	for i := 0; i < n; i++ {
		if p.Lengths[i] > l.MaxSegmentLen {
			return fmt.Errorf("%w: segment %d of %d bytes, limit %d", ErrTooLarge, i, p.Lengths[i], l.MaxSegmentLen)
		}
	}
	return nil
}

func pad16(n uint64) uint64 { return (n + Block - 1) &^ (Block - 1) }

// onWireLen is the size of a frame with preamble p on the wire.
func onWireLen(p *Preamble, rev1, secure bool) uint64 {
	n := int(p.NumSegments)
	var total uint64
	switch {
	case !secure && rev1:
		total = PreambleSize
		if p.Lengths[0] > 0 {
			total += uint64(p.Lengths[0]) + crcSize
		}
		if n > 1 {
			for i := 1; i < n; i++ {
				total += uint64(p.Lengths[i])
			}
			total += epilogueCRCRev1
		}
	case !secure:
		total = PreambleSize + epilogueCRCRev0
		for i := 0; i < n; i++ {
			total += uint64(p.Lengths[i])
		}
	case rev1:
		total = firstSecureRecord
		if p0 := pad16(uint64(p.Lengths[0])); p0 > InlineSize {
			total += p0 - InlineSize + TagSize
		}
		if n > 1 {
			for i := 1; i < n; i++ {
				total += pad16(uint64(p.Lengths[i]))
			}
			total += epilogueSecure + TagSize
		}
	default:
		total = PreambleSize + epilogueSecure + TagSize
		for i := 0; i < n; i++ {
			total += pad16(uint64(p.Lengths[i]))
		}
	}
	return total
}

// alignFor is the alignment Ceph announces for segment i of a tag's frame.
func alignFor(t Tag, i int) uint16 {
	if t == TagMessage && i == SegData {
		return AlignPage
	}
	return AlignDefault
}

// Frame is one decoded frame. A Decoder reuses its Frame: the value and
// the slices in it are valid until the next call to the Decoder's Feed,
// ReadBuffer, ReadSpace, Commit, Next or Release (the slices for good
// after a successful Detach).
type Frame struct {
	Preamble
	// Segments holds the NumSegments segments, unpadded.
	Segments [MaxSegments][]byte
	// Raw is the frame exactly as it came off the wire, for the
	// pre-authentication signature; nil in secure mode, and when the
	// data segment went to a Router's RxBuffer.
	Raw []byte
	// DataLost: the data segment was being read into an RxBuffer its
	// poster revoked (see Decoder.SetRouter); Segments[SegData] is nil
	// and the message is to be dropped.
	DataLost bool
	// DataRouted: Segments[SegData] is the memory of the RxBuffer the
	// Router chose (filled), not the frame's buffer.
	DataRouted bool
}

// Segment returns segment i, or nil if the frame has fewer segments.
func (f *Frame) Segment(i int) []byte {
	if i < 0 || i >= int(f.NumSegments) {
		return nil
	}
	return f.Segments[i]
}

// Payload returns a control frame's payload (segment 0).
func (f *Frame) Payload() []byte { return f.Segments[0] }

package v1

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// The msgr1 wire format (src/include/msgr.h, src/msg/msg_types.h). Every
// struct is packed and little-endian; the handshake items have fixed sizes
// except the authorizers that follow connect and connect_reply.

// Banner is CEPH_BANNER: 9 bytes, no newline, no feature words.
const Banner = "ceph v027"

// Sizes of the fixed wire items.
const (
	BannerLen       = len(Banner)
	AddrLen         = 136                // ceph_entity_addr: u32 type, u32 nonce, sockaddr_storage
	ConnectLen      = 33                 // ceph_msg_connect
	ConnectReplyLen = 26                 // ceph_msg_connect_reply
	HeaderLen       = message.HeaderSize // ceph_msg_header
	headerCRCLen    = HeaderLen - 4
	FooterLen       = 21 // ceph_msg_footer (with MSG_AUTH)
	OldFooterLen    = 13 // ceph_msg_footer_old (without MSG_AUTH)
	timespecLen     = 8
)

// Tag is CEPH_MSGR_TAG_*: a connect reply's verdict, or the first byte of
// each item on an open session.
type Tag uint8

// Tags.
const (
	TagReady               Tag = 1  // server->client: ready for messages
	TagResetSession        Tag = 2  // server->client: reset, try again
	TagWait                Tag = 3  // server->client: wait for racing incoming connection
	TagRetrySession        Tag = 4  // server->client + cseq: try again with higher cseq
	TagRetryGlobal         Tag = 5  // server->client + gseq: try again with higher gseq
	TagClose               Tag = 6  // closing pipe
	TagMsg                 Tag = 7  // message
	TagAck                 Tag = 8  // message ack
	TagKeepalive           Tag = 9  // just a keepalive byte
	TagBadProtoVer         Tag = 10 // bad protocol version
	TagBadAuthorizer       Tag = 11 // bad authorizer
	TagFeatures            Tag = 12 // insufficient features
	TagSeq                 Tag = 13 // 64-bit int follows with seen seq number
	TagKeepalive2          Tag = 14 // keepalive with a timestamp
	TagKeepalive2Ack       Tag = 15 // keepalive2 reply
	TagChallengeAuthorizer Tag = 16 // cephx v2 challenge
)

var tagNames = [...]string{
	TagReady: "READY", TagResetSession: "RESETSESSION", TagWait: "WAIT",
	TagRetrySession: "RETRY_SESSION", TagRetryGlobal: "RETRY_GLOBAL", TagClose: "CLOSE",
	TagMsg: "MSG", TagAck: "ACK", TagKeepalive: "KEEPALIVE", TagBadProtoVer: "BADPROTOVER",
	TagBadAuthorizer: "BADAUTHORIZER", TagFeatures: "FEATURES", TagSeq: "SEQ",
	TagKeepalive2: "KEEPALIVE2", TagKeepalive2Ack: "KEEPALIVE2_ACK",
	TagChallengeAuthorizer: "CHALLENGE_AUTHORIZER",
}

func (t Tag) String() string {
	if int(t) < len(tagNames) && tagNames[t] != "" {
		return tagNames[t]
	}
	return fmt.Sprintf("tag(%d)", uint8(t))
}

// Connect flags (CEPH_MSG_CONNECT_*).
const FlagLossy uint8 = 1

// Protocol versions (get_proto_version): the cluster protocols between
// daemons of one type, the client protocols toward a daemon type.
const (
	ProtoOSD  uint32 = 10 // CEPH_OSD_PROTOCOL
	ProtoMon  uint32 = 13 // CEPH_MON_PROTOCOL
	ProtoMDS  uint32 = 32 // CEPH_MDS_PROTOCOL
	ProtoOSDC uint32 = 24 // CEPH_OSDC_PROTOCOL
	ProtoMDSC uint32 = 32 // CEPH_MDSC_PROTOCOL
	ProtoMonC uint32 = 15 // CEPH_MONC_PROTOCOL
)

// ProtoVersion is AsyncMessenger::get_proto_version: what an entity of
// type me puts in connect (connecting) or expects (accepting) with a peer.
func ProtoVersion(me, peer uint8, connecting bool) uint32 {
	if me == peer {
		switch me {
		case encoding.EntityTypeOSD:
			return ProtoOSD
		case encoding.EntityTypeMon:
			return ProtoMon
		case encoding.EntityTypeMDS:
			return ProtoMDS
		}
		return 0
	}
	t := me
	if connecting {
		t = peer
	}
	switch t {
	case encoding.EntityTypeOSD:
		return ProtoOSDC
	case encoding.EntityTypeMDS:
		return ProtoMDSC
	case encoding.EntityTypeMon:
		return ProtoMonC
	}
	return 0
}

// Errors of the codec; the Machine wraps them in a v2.ProtocolError.
var (
	// ErrBadBanner: the peer's first bytes are not "ceph v027".
	ErrBadBanner = errors.New("msgr1: bad banner")
	// ErrBadCRC: a header or section crc does not match.
	ErrBadCRC = errors.New("msgr1: bad crc")
	// ErrBadTag: a tag that is not valid where it came.
	ErrBadTag = errors.New("msgr1: unexpected tag")
	// ErrTooBig: a length beyond the configured limit.
	ErrTooBig = errors.New("msgr1: length over limit")
	// ErrBadSignature: a cephx message signature does not match.
	ErrBadSignature = errors.New("msgr1: bad message signature")
	// ErrAborted: a message whose footer lacks the COMPLETE flag.
	ErrAborted = errors.New("msgr1: aborted message")
)

// AppendAddr appends a as the 136-byte legacy ceph_entity_addr.
func AppendAddr(b []byte, a encoding.EntityAddr) []byte {
	return encoding.AppendEntityAddr(b, a, 0)
}

// DecodeAddr reads a legacy ceph_entity_addr from exactly AddrLen bytes.
// Its type on the wire is always 0; the result is AddrTypeLegacy.
func DecodeAddr(p []byte) (encoding.EntityAddr, error) {
	if len(p) < AddrLen {
		return encoding.EntityAddr{}, fmt.Errorf("msgr1: address of %d bytes: %w", len(p), encoding.ErrTruncated)
	}
	if p[0] != 0 {
		return encoding.EntityAddr{}, fmt.Errorf("msgr1: address type byte %d: %w", p[0], encoding.ErrMalformed)
	}
	d := encoding.NewDecoder(p[:AddrLen])
	a := d.EntityAddr()
	if err := d.Err(); err != nil {
		return encoding.EntityAddr{}, fmt.Errorf("msgr1: address: %w", err)
	}
	return a, nil
}

// Connect is ceph_msg_connect; its authorizer follows it on the wire.
type Connect struct {
	Features        uint64
	HostType        uint32
	GlobalSeq       uint32
	ConnectSeq      uint32
	ProtocolVersion uint32
	AuthorizerProto uint32
	AuthorizerLen   uint32
	Flags           uint8
	Authorizer      []byte // not part of the fixed struct
}

// AppendConnect appends c and its authorizer (AuthorizerLen is taken
// from Authorizer).
func AppendConnect(b []byte, c *Connect) []byte {
	b = binary.LittleEndian.AppendUint64(b, c.Features)
	b = binary.LittleEndian.AppendUint32(b, c.HostType)
	b = binary.LittleEndian.AppendUint32(b, c.GlobalSeq)
	b = binary.LittleEndian.AppendUint32(b, c.ConnectSeq)
	b = binary.LittleEndian.AppendUint32(b, c.ProtocolVersion)
	b = binary.LittleEndian.AppendUint32(b, c.AuthorizerProto)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Authorizer)))
	b = append(b, c.Flags)
	return append(b, c.Authorizer...)
}

// DecodeConnect reads the fixed part of ceph_msg_connect (ConnectLen
// bytes); the AuthorizerLen bytes that follow are the caller's to read.
func DecodeConnect(c *Connect, p []byte) error {
	if len(p) < ConnectLen {
		return fmt.Errorf("msgr1: connect of %d bytes: %w", len(p), encoding.ErrTruncated)
	}
	c.Features = binary.LittleEndian.Uint64(p[0:])
	c.HostType = binary.LittleEndian.Uint32(p[8:])
	c.GlobalSeq = binary.LittleEndian.Uint32(p[12:])
	c.ConnectSeq = binary.LittleEndian.Uint32(p[16:])
	c.ProtocolVersion = binary.LittleEndian.Uint32(p[20:])
	c.AuthorizerProto = binary.LittleEndian.Uint32(p[24:])
	c.AuthorizerLen = binary.LittleEndian.Uint32(p[28:])
	c.Flags = p[32]
	c.Authorizer = nil
	return nil
}

// ConnectReply is ceph_msg_connect_reply; its authorizer reply follows it,
// then, for TagSeq only, the server's u64 in_seq.
type ConnectReply struct {
	Tag             Tag
	Features        uint64
	GlobalSeq       uint32
	ConnectSeq      uint32
	ProtocolVersion uint32
	AuthorizerLen   uint32
	Flags           uint8
	Authorizer      []byte
}

// AppendConnectReply appends r and its authorizer reply.
func AppendConnectReply(b []byte, r *ConnectReply) []byte {
	b = append(b, byte(r.Tag))
	b = binary.LittleEndian.AppendUint64(b, r.Features)
	b = binary.LittleEndian.AppendUint32(b, r.GlobalSeq)
	b = binary.LittleEndian.AppendUint32(b, r.ConnectSeq)
	b = binary.LittleEndian.AppendUint32(b, r.ProtocolVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(r.Authorizer)))
	b = append(b, r.Flags)
	return append(b, r.Authorizer...)
}

// DecodeConnectReply reads the fixed part (ConnectReplyLen bytes).
func DecodeConnectReply(r *ConnectReply, p []byte) error {
	if len(p) < ConnectReplyLen {
		return fmt.Errorf("msgr1: connect reply of %d bytes: %w", len(p), encoding.ErrTruncated)
	}
	r.Tag = Tag(p[0])
	r.Features = binary.LittleEndian.Uint64(p[1:])
	r.GlobalSeq = binary.LittleEndian.Uint32(p[9:])
	r.ConnectSeq = binary.LittleEndian.Uint32(p[13:])
	r.ProtocolVersion = binary.LittleEndian.Uint32(p[17:])
	r.AuthorizerLen = binary.LittleEndian.Uint32(p[21:])
	r.Flags = p[25]
	r.Authorizer = nil
	return nil
}

// DecodeHeader fills h from a ceph_msg_header (message.DecodeHeader) and
// checks its crc, as ProtocolV1::handle_message_header does; it returns
// the crc.
func DecodeHeader(h *message.Header, p []byte) (uint32, error) {
	crc, err := message.DecodeHeader(h, p)
	if err != nil {
		return 0, err
	}
	if got := message.HeaderCRC(p); got != crc {
		return 0, fmt.Errorf("%w: header crc %#x, computed %#x", ErrBadCRC, crc, got)
	}
	return crc, nil
}

// Footer is ceph_msg_footer (Sig is absent from the old footer).
type Footer struct {
	FrontCRC, MiddleCRC, DataCRC uint32
	Sig                          uint64
	Flags                        uint8
}

// AppendFooter appends f: the 21-byte footer when msgAuth (the peers
// negotiated MSG_AUTH), else the 13-byte old one.
func AppendFooter(b []byte, f *Footer, msgAuth bool) []byte {
	b = binary.LittleEndian.AppendUint32(b, f.FrontCRC)
	b = binary.LittleEndian.AppendUint32(b, f.MiddleCRC)
	b = binary.LittleEndian.AppendUint32(b, f.DataCRC)
	if msgAuth {
		b = binary.LittleEndian.AppendUint64(b, f.Sig)
	}
	return append(b, f.Flags)
}

// FooterSize is the footer's length on a connection.
func FooterSize(msgAuth bool) int {
	if msgAuth {
		return FooterLen
	}
	return OldFooterLen
}

// DecodeFooter reads a footer of FooterSize(msgAuth) bytes.
func DecodeFooter(f *Footer, p []byte, msgAuth bool) error {
	n := FooterSize(msgAuth)
	if len(p) < n {
		return fmt.Errorf("msgr1: footer of %d bytes: %w", len(p), encoding.ErrTruncated)
	}
	f.FrontCRC = binary.LittleEndian.Uint32(p[0:])
	f.MiddleCRC = binary.LittleEndian.Uint32(p[4:])
	f.DataCRC = binary.LittleEndian.Uint32(p[8:])
	if msgAuth {
		f.Sig = binary.LittleEndian.Uint64(p[12:])
		f.Flags = p[20]
	} else {
		f.Sig = 0
		f.Flags = p[12]
	}
	return nil
}

// SectionSeed seeds msgr1's section crcs: ceph_crc32c(0, p).
const SectionSeed = 0

// sectionCRC is a section's crc in a footer.
func sectionCRC(p []byte) uint32 {
	return encoding.CRC32C(SectionSeed, p)
}

// CheckCRCs verifies f's crcs against p's sections; a footer with NOCRC
// has no data crc to check.
func CheckCRCs(f *Footer, p *message.Payload) error {
	if got := sectionCRC(p.Front); got != f.FrontCRC {
		return fmt.Errorf("%w: front crc %#x, computed %#x", ErrBadCRC, f.FrontCRC, got)
	}
	if got := sectionCRC(p.Middle); got != f.MiddleCRC {
		return fmt.Errorf("%w: middle crc %#x, computed %#x", ErrBadCRC, f.MiddleCRC, got)
	}
	if f.Flags&message.FooterNoCRC == 0 {
		if got := sectionCRC(p.Data); got != f.DataCRC {
			return fmt.Errorf("%w: data crc %#x, computed %#x", ErrBadCRC, f.DataCRC, got)
		}
	}
	return nil
}

// AppendTimespec appends a ceph_timespec (KEEPALIVE2 and its ack).
func AppendTimespec(b []byte, t encoding.UTime) []byte {
	b = binary.LittleEndian.AppendUint32(b, t.Sec)
	return binary.LittleEndian.AppendUint32(b, t.Nsec)
}

func decodeTimespec(p []byte) encoding.UTime {
	return encoding.UTime{Sec: binary.LittleEndian.Uint32(p), Nsec: binary.LittleEndian.Uint32(p[4:])}
}

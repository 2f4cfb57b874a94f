package message

// Payload is a message's body: the front (the encoded fields), the middle
// (rarely used) and the data (bulk bytes, e.g. an object's contents), each
// one frame segment on the msgr2 wire.
//
// On receive the slices alias the buffer they arrived in, valid for the
// duration of Decode only: the messenger gives that buffer back to its
// pool once Decode returns. A Message that keeps bytes copies them, or
// takes the buffer with Take (as Ceph's messages keep a bufferlist's
// reference) and then calls Release on what Take returned once done with
// the bytes, never touching them after.
//
// On send, Data is referenced, not copied, until the frame is written.
type Payload struct {
	Front  []byte
	Middle []byte
	Data   []byte
	// Owner, on receive, is the pooled buffer Front, Middle and Data
	// alias, or nil when they are the receiver's for good (small messages
	// are copied out of the receive buffer). Unused on send.
	Owner Releaser
}

// Releaser is received memory that goes back to a pool on Release. Its
// holder calls Release once, after its last use of the memory; not
// calling it is safe (the garbage collector takes the memory instead).
type Releaser interface{ Release() }

// Take hands the received buffer to the caller (typically a Message's
// Decode that keeps Data without copying): the segments stay valid until
// the caller calls Release on the result. It returns nil when there is
// no pooled buffer: the segments are then the caller's for good.
func (p *Payload) Take() Releaser {
	r := p.Owner
	p.Owner = nil
	return r
}

// Message is one Ceph message type. Ceph's own messages and users' types
// implement it alike. A Message value is owned by one goroutine at a time:
// the sender until Send, the messenger while encoding, the dispatcher once
// decoded.
type Message interface {
	// Type is the message type number (CEPH_MSG_*, MSG_*).
	Type() uint16
	// Version is the header version and compat_version this encoder
	// writes (HEAD_VERSION, COMPAT_VERSION in Ceph's message classes).
	Version() (version, compat uint16)
	// Encode appends the body to p for a peer with the given features
	// (Ceph's encode_payload). h arrives with Type, Version,
	// CompatVersion, Priority (PrioDefault) and Flags (DefaultFlags)
	// filled in; Encode may set Tid, Priority and DataOff.
	Encode(h *Header, features uint64, p *Payload) error
	// Decode reads the body (Ceph's decode_payload). h is the received
	// header: h.Version says which encoding the sender used. features
	// are the connection's.
	Decode(h *Header, features uint64, p *Payload) error
}

// DefaultFlags are the footer flags Ceph's msgr2 puts in every header2
// (seen on every captured message): complete, and no msgr1 data crc.
const DefaultFlags = FooterComplete | FooterNoCRC

// NewHeader returns the header Encode starts from for m.
func NewHeader(m Message) Header {
	v, c := m.Version()
	return Header{Type: m.Type(), Version: v, CompatVersion: c, Priority: PrioDefault, Flags: DefaultFlags}
}

// EncodeMessage runs m's Encode into p (whose slices are reused, reset to
// length 0) and returns the header to send, with the lengths set.
func EncodeMessage(m Message, features uint64, p *Payload) (Header, error) {
	var h Header
	if err := EncodeInto(m, features, &h, p); err != nil {
		return Header{}, err
	}
	return h, nil
}

// EncodeInto is EncodeMessage writing the header to *h, which the caller
// may keep in a struct it allocates anyway (EncodeMessage's header escapes
// to the heap through Encode). *h is undefined when it returns an error.
func EncodeInto(m Message, features uint64, h *Header, p *Payload) error {
	*h = NewHeader(m)
	p.Front, p.Middle, p.Data, p.Owner = p.Front[:0], p.Middle[:0], p.Data[:0], nil
	if err := m.Encode(h, features, p); err != nil {
		return err
	}
	h.FrontLen, h.MiddleLen, h.DataLen = uint32(len(p.Front)), uint32(len(p.Middle)), uint32(len(p.Data))
	return nil
}

package message

// Raw is a message whose type nobody registered, kept as bytes so that it
// can be inspected, forwarded or re-sent unchanged.
type Raw struct {
	Header Header // as received; Type/Version/CompatVersion are re-sent as is
	Front  []byte
	Middle []byte
	Data   []byte
}

// Type returns the received type number.
func (r *Raw) Type() uint16 { return r.Header.Type }

// Version returns the received version and compat version.
func (r *Raw) Version() (uint16, uint16) { return r.Header.Version, r.Header.CompatVersion }

// Encode appends the kept bytes and restores the kept tid, priority and
// data offset.
func (r *Raw) Encode(h *Header, _ uint64, p *Payload) error {
	h.Tid, h.Priority, h.DataOff = r.Header.Tid, r.Header.Priority, r.Header.DataOff
	p.Front = append(p.Front, r.Front...)
	p.Middle = append(p.Middle, r.Middle...)
	if len(p.Data) == 0 {
		p.Data = r.Data // reference, no copy
	} else {
		p.Data = append(p.Data, r.Data...)
	}
	return nil
}

// Decode copies the segments (they alias a frame buffer).
func (r *Raw) Decode(h *Header, _ uint64, p *Payload) error {
	r.Header = *h
	r.Front = append([]byte(nil), p.Front...)
	r.Middle = append([]byte(nil), p.Middle...)
	r.Data = append([]byte(nil), p.Data...)
	return nil
}

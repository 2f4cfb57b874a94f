package v1

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	v2 "github.com/gomsgr/msgr/internal/protocol/v2"
	"github.com/gomsgr/msgr/message"
)

// rxSize is the receive buffer a socket read gets; an idle open session
// gives it back to rxPool. Between reads a session keeps a partial message
// head of up to rxSmall bytes in a buffer from rxSmallPool instead.
const (
	rxSize  = 64 << 10
	rxSmall = 4 << 10
)

var (
	rxPool      = sync.Pool{New: func() any { b := make([]byte, rxSize); return &b }}
	rxSmallPool = sync.Pool{New: func() any { b := make([]byte, rxSmall); return &b }}
)

// rxBuf holds bytes read and not yet consumed: buf[r:w].
type rxBuf struct {
	p    *[]byte // pooled buffer (rxPool or rxSmallPool by its size), nil when buf is not pooled
	buf  []byte
	r, w int
}

func (b *rxBuf) len() int       { return b.w - b.r }
func (b *rxBuf) unread() []byte { return b.buf[b.r:b.w] }
func (b *rxBuf) consume(n int)  { b.r += n }
func (b *rxBuf) peek(n int) []byte {
	if b.w-b.r < n {
		return nil
	}
	return b.buf[b.r : b.r+n]
}

// take consumes and returns n bytes, or nil if fewer are buffered.
func (b *rxBuf) take(n int) []byte {
	p := b.peek(n)
	if p != nil {
		b.r += n
	}
	return p
}

// space returns room for at least min more bytes after the unread ones.
func (b *rxBuf) space(min int) []byte {
	if len(b.buf)-b.w < min {
		n := copy(b.buf, b.buf[b.r:b.w])
		b.r, b.w = 0, n
		if len(b.buf)-b.w < min {
			var np *[]byte
			var nb []byte
			switch {
			case b.w+min <= rxSmall:
				np = rxSmallPool.Get().(*[]byte)
				nb = *np
			case b.w+min <= rxSize:
				np = rxPool.Get().(*[]byte)
				nb = *np
			default:
				nb = make([]byte, b.w+max(min, rxSize))
			}
			copy(nb, b.buf[:b.w])
			b.putBack()
			b.buf, b.p = nb, np
		}
	}
	return b.buf[b.w:]
}

func (b *rxBuf) commit(n int) { b.w += n }

func (b *rxBuf) append(p []byte) { n := copy(b.space(len(p)), p); b.commit(n) }

func (b *rxBuf) putBack() {
	switch {
	case b.p == nil:
	case len(*b.p) == rxSmall:
		rxSmallPool.Put(b.p)
	default:
		rxPool.Put(b.p)
	}
	b.p = nil
}

// release gives the buffer back; unread bytes are dropped.
func (b *rxBuf) release() {
	b.putBack()
	*b = rxBuf{}
}

// shrink gives the buffer back when nothing is unread, or moves up to
// rxSmall unread bytes out of a bigger buffer into a small one: what a
// session holds between reads.
func (b *rxBuf) shrink() {
	n := b.len()
	switch {
	case n == 0:
		b.release()
	case n <= rxSmall && len(b.buf) > rxSmall:
		p := rxSmallPool.Get().(*[]byte)
		copy(*p, b.unread())
		b.putBack()
		b.buf, b.p, b.r, b.w = *p, p, 0, n
	}
}

// reset empties the buffer for a new socket.
func (b *rxBuf) reset() { b.release() }

// process handles everything whole in the receive buffer.
func (m *Machine) process(now time.Time) {
	for m.hasSocket {
		var ok bool
		switch m.ph {
		case phConnected:
			ok = m.handleServerBanner(now)
		case phConnReply:
			ok = m.handleConnectReply(now)
		case phAccBanner:
			ok = m.handleClientBanner(now)
		case phAccConnect:
			ok = m.handleConnect(now)
		case phAccSeq:
			ok = m.handleSeq(now)
		case phReady:
			ok = m.handleItem(now)
		default:
			// phLookup buffers until Resolve; others have no socket.
			return
		}
		if !ok {
			break
		}
	}
	if m.ph == phReady {
		m.flushMessages(now) // the ACK waits for WriteAck (Ready.AckDue)
	}
}

// WriteAck frames the ACK still owed for the messages received (the end
// of ProtocolV1::write_event): see v2.Ready.AckDue.
func (m *Machine) WriteAck(now time.Time) *v2.Ready {
	m.begin()
	if m.ph == phReady && m.hasSocket {
		m.writeAck()
	}
	return m.end()
}

// handleItem reads one item of an open session: a tag and what follows.
// It returns false when it needs more bytes or the session ended.
func (m *Machine) handleItem(now time.Time) bool {
	if m.inMsg {
		return m.readMessage(now)
	}
	p := m.rx.peek(1)
	if p == nil {
		return false
	}
	switch tag := Tag(p[0]); tag {
	case TagMsg:
		h := m.rx.peek(1 + HeaderLen)
		if h == nil {
			return false
		}
		crc, err := DecodeHeader(&m.inHdr, h[1:])
		if err != nil {
			m.fault(now, m.protoErr("message header", err))
			return false
		}
		total := uint64(m.inHdr.FrontLen) + uint64(m.inHdr.MiddleLen) + uint64(m.inHdr.DataLen)
		if total > uint64(m.cfg.MaxFrameSize) {
			m.fault(now, m.protoErr("message header", fmt.Errorf("%w: message of %d bytes, limit %d", ErrTooBig, total, m.cfg.MaxFrameSize)))
			return false
		}
		m.rx.consume(1 + HeaderLen)
		m.inHdrCRC = crc
		var rb *message.RxBuffer
		if dl := int(m.inHdr.DataLen); m.cfg.RxBuffer != nil && dl >= minRouted {
			rb = m.cfg.RxBuffer(m.inHdr.Tid, m.inHdr.Type, dl)
		}
		m.body.start(int(m.inHdr.FrontLen+m.inHdr.MiddleLen), int(m.inHdr.DataLen), FooterSize(m.msgAuth), rb)
		m.inMsg = true
		return m.readMessage(now)
	case TagAck:
		b := m.rx.peek(9)
		if b == nil {
			return false
		}
		m.rx.consume(9)
		if !m.policy.Lossy {
			m.handleAck(binary.LittleEndian.Uint64(b[1:]))
		}
	case TagKeepalive:
		m.rx.consume(1)
	case TagKeepalive2:
		b := m.rx.peek(1 + timespecLen)
		if b == nil {
			return false
		}
		out := make([]byte, 0, 1+timespecLen)
		out = append(out, byte(TagKeepalive2Ack))
		out = append(out, b[1:1+timespecLen]...)
		m.rx.consume(1 + timespecLen)
		m.write(out)
	case TagKeepalive2Ack:
		b := m.rx.peek(1 + timespecLen)
		if b == nil {
			return false
		}
		t := decodeTimespec(b[1:])
		m.rx.consume(1 + timespecLen)
		m.rd.Emit(v2.KeepaliveAck{Stamp: t.Time()})
	case TagClose:
		m.rx.consume(1)
		m.stop(now, fmt.Errorf("%w: peer sent CLOSE", v2.ErrSocket), false)
		return false
	default:
		m.fault(now, m.protoErr("open session", fmt.Errorf("%w: %v", ErrBadTag, tag)))
		return false
	}
	return true
}

// readMessage fills the message body from the receive buffer and, once
// whole, checks and delivers it.
func (m *Machine) readMessage(now time.Time) bool {
	if m.body.n < m.body.total {
		m.rx.consume(m.body.fill(m.rx.unread()))
		if m.body.n < m.body.total {
			return false
		}
	}
	h := &m.inHdr
	body := m.body
	m.body.reset()
	m.inMsg = false
	fl, ml := int(h.FrontLen), int(h.MiddleLen)
	var f Footer
	if err := DecodeFooter(&f, body.footer(), m.msgAuth); err != nil {
		m.fault(now, m.protoErr("message footer", err))
		return false
	}
	if f.Flags&message.FooterComplete == 0 {
		m.fault(now, m.protoErr("message footer", fmt.Errorf("%w: seq %d", ErrAborted, h.Seq)))
		return false
	}
	in := v2.NewInMessage()
	in.Header = *h
	in.Payload.Owner = body.owner // given back after Decode (message.Payload)
	in.Payload.Front = body.buf[:fl:fl]
	in.Payload.Middle = body.buf[fl : fl+ml : fl+ml]
	var err error
	if body.routed() {
		// The data crc was taken as it arrived in the RxBuffer.
		front := f
		front.Flags |= message.FooterNoCRC
		if err = CheckCRCs(&front, &in.Payload); err == nil {
			err = body.checkData(&f)
		}
	} else {
		in.Payload.Data = body.data()
		err = CheckCRCs(&f, &in.Payload)
	}
	if err != nil {
		m.fault(now, m.protoErr(fmt.Sprintf("message seq %d", h.Seq), err))
		return false
	}
	if m.sessKey != nil && m.msgAuth {
		sig, err := cephx.MessageSignature(m.sessKey, sigFields(h, m.inHdrCRC, &f))
		if err != nil || sig != f.Sig {
			m.fault(now, m.protoErr(fmt.Sprintf("message seq %d", h.Seq), fmt.Errorf("%w: got %#x", ErrBadSignature, f.Sig)))
			return false
		}
	}
	in.Header.Flags = f.Flags
	if h.Seq <= m.inSeq {
		// An old message (sent again after a reconnect): drop it.
		return true
	}
	if body.routed() {
		// Checked: the data is the RxBuffer's memory, filled, or lost
		// if it was revoked (the message is then dropped, its seq
		// counted; see v2.Config.RxBuffer).
		if in.Payload.Data = body.data(); in.Payload.Data == nil {
			m.inSeq = h.Seq
			if !m.policy.Lossy {
				m.ackLeft++
			}
			return true
		}
	}
	if h.Seq > m.inSeq+1 && m.cfg.FaultOnSeqGap {
		m.fault(now, fmt.Errorf("%w: got seq %d, expected %d", v2.ErrSeqGap, h.Seq, m.inSeq+1))
		return false
	}
	m.inSeq = h.Seq
	if !m.policy.Lossy {
		m.ackLeft++
	}
	m.rd.Delivered = append(m.rd.Delivered, in)
	return true
}

func sigFields(h *message.Header, hdrCRC uint32, f *Footer) cephx.SigFields {
	return cephx.SigFields{
		HeaderCRC: hdrCRC, FrontCRC: f.FrontCRC, FrontLen: h.FrontLen,
		MiddleCRC: f.MiddleCRC, MiddleLen: h.MiddleLen,
		DataCRC: f.DataCRC, DataLen: h.DataLen, Seq: h.Seq,
	}
}

// flush writes what is due on an open session: a keepalive, the requeued
// messages, the queue by priority, then an ACK if one is owed
// (ProtocolV1::write_event).
func (m *Machine) flush(now time.Time) {
	if m.flushMessages(now) {
		m.writeAck()
	}
}

// flushMessages is flush without the ACK; false if it could not write.
func (m *Machine) flushMessages(now time.Time) bool {
	if m.ph != phReady || !m.hasSocket {
		return false
	}
	if m.keepalive {
		m.keepalive = false
		if encoding.HasFeatures(m.features, encoding.FeatureMsgrKeepalive2) {
			b := append(m.arena.Alloc(1 + timespecLen)[:0], byte(TagKeepalive2))
			m.write(AppendTimespec(b, encoding.UTimeOf(now)))
		} else {
			m.write([]byte{byte(TagKeepalive)})
		}
	}
	lossyDone := len(m.rd.Acked)
	for msg := m.outq.Next(); msg != nil; msg = m.outq.Next() {
		if err := m.writeMessage(msg); err != nil {
			m.outq.Unsend(msg)
			// As before, lossy messages framed so far are not reported.
			clear(m.rd.Acked[lossyDone:])
			m.rd.Acked = m.rd.Acked[:lossyDone]
			m.fault(now, fmt.Errorf("%w: encoding message seq %d: %w", v2.ErrProtocol, msg.Header.Seq, err))
			return false
		}
		if m.policy.Lossy {
			m.rd.Acked = append(m.rd.Acked, msg)
		} else {
			m.outq.Sent(msg)
		}
	}
	return true
}

// writeAck queues an ACK if one is owed: msgr1's messages carry none.
func (m *Machine) writeAck() {
	if m.ackLeft > 0 && !m.policy.Lossy {
		m.ackLeft = 0
		b := m.arena.Alloc(9)
		b[0] = byte(TagAck)
		binary.LittleEndian.PutUint64(b[1:], m.inSeq)
		m.write(b)
	}
}

// writeMessage queues msg as tag, header, sections and footer
// (ProtocolV1::write_message); the sections are written as they are.
func (m *Machine) writeMessage(msg *v2.OutMessage) error {
	h := &msg.Header
	h.AckSeq = 0
	h.Src = m.cfg.Me
	h.FrontLen = uint32(len(msg.Payload.Front))
	h.MiddleLen = uint32(len(msg.Payload.Middle))
	h.DataLen = uint32(len(msg.Payload.Data))
	fsz := FooterSize(m.msgAuth)
	b := append(m.arena.Alloc(1 + HeaderLen + fsz)[:0], byte(TagMsg))
	b = message.AppendHeader(b, h)
	hdrCRC := binary.LittleEndian.Uint32(b[1+headerCRCLen:])
	f := Footer{Flags: message.FooterComplete}
	f.FrontCRC, f.MiddleCRC = sectionCRC(msg.Payload.Front), sectionCRC(msg.Payload.Middle)
	if crc, ok := msg.DataSum.For(SectionSeed, msg.Payload.Data); ok {
		f.DataCRC = crc // taken by the sender (wire.PreSum)
	} else {
		f.DataCRC = sectionCRC(msg.Payload.Data)
	}
	if m.sessKey != nil && m.msgAuth {
		sig, err := cephx.MessageSignature(m.sessKey, sigFields(h, hdrCRC, &f))
		if err != nil {
			return err
		}
		f.Sig = sig
		f.Flags |= message.FooterSigned
	}
	hdr := b[:1+HeaderLen]
	foot := AppendFooter(b[1+HeaderLen:], &f, m.msgAuth)
	m.write(hdr)
	for _, s := range [][]byte{msg.Payload.Front, msg.Payload.Middle, msg.Payload.Data} {
		if len(s) > 0 {
			m.write(s)
		}
	}
	m.write(foot)
	return nil
}

package v2

import (
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// stream is the codec state of one socket: the banner, the frame decoder
// and encoder (revision, secure mode) and the bytes the pre-auth
// signatures cover. A session outlives its streams; a stream moves with
// its socket when the messenger hands a socket to an existing connection.
type stream struct {
	dec *wire.Decoder
	enc *wire.Encoder // holds the tx cipher in secure mode
	// vec builds crc-mode MESSAGE frames as buffer lists that reference
	// the payload, and the small control frames of an open session. Its
	// arena is never reset (the pieces must outlive the call): a full
	// chunk is left to the garbage collector once written.
	vec *wire.Encoder
	// sums computes big segments' crcs as they are written, when the
	// driver gates its writes with Machine.Writable (Config.StreamSums).
	sums       wire.SendSums
	streamSums bool
	bannerIn   bool // the peer's banner has been read
	rev1       bool

	// preAuth: until AUTH_SIGNATURE each side records what it received
	// (to sign it) and what it sent (to check the peer's signature).
	preAuth bool
	rxLog   []byte
	txLog   []byte
}

// newStream starts a socket's codec: frames bounded by
// wire.PreSessionLimits, and buffers charged to budget (if any), until
// established; l after. streamSums: see Config.StreamSums.
func newStream(l wire.Limits, budget *wire.Budget, streamSums bool) *stream {
	s := &stream{dec: wire.NewDecoder(l), enc: wire.NewEncoder(), preAuth: true, rev1: true, streamSums: streamSums}
	s.dec.SetBudget(budget)
	return s
}

// smallControl bounds the payload of a control frame built in the vec
// arena (ACK, KEEPALIVE2 and KEEPALIVE2_ACK carry 8 to 12 bytes).
const smallControl = 64

func (s *stream) setRev1(rev1 bool) {
	s.rev1 = rev1
	s.dec.SetRev1(rev1)
	s.enc.SetRev1(rev1)
	s.vec = nil
}

// secure installs secure mode for the frames that follow in both
// directions.
func (s *stream) secure(secret []byte, role wire.Role) error {
	rx, tx, err := wire.NewSecure(secret, role, s.rev1)
	if err != nil {
		return err
	}
	s.dec.SetSecure(rx)
	s.enc.SetSecure(tx)
	return nil
}

// control appends control frame f to iov, in a buffer of its own.
func (s *stream) control(iov [][]byte, f wire.ControlFrame) ([][]byte, error) {
	b, err := s.enc.AppendControl(nil, f)
	if err != nil {
		return iov, err
	}
	if s.preAuth {
		s.txLog = append(s.txLog, b...)
	}
	return append(iov, b), nil
}

// message appends a MESSAGE frame to iov. In crc mode the payload is
// referenced, not copied, and data (the data segment's PreSum, if taken)
// spares summing it; secure mode encrypts it into new buffers (pooled
// ones, given back once written, and a big frame sealed chunk by chunk as
// it is written, when the driver calls Writable).
func (s *stream) message(iov [][]byte, h *message.Header, p *message.Payload, data wire.PreSum) ([][]byte, error) {
	if s.enc.Secure() {
		if s.streamSums {
			s.enc.SetSendSums(&s.sums)
		}
		return s.enc.VecMessageStaged(iov, h, p)
	}
	return s.vecEncoder().VecMessage(iov, h, p, data)
}

// controlPayload appends a control frame of tag whose payload is already
// encoded (the caller may reuse it at once). Once the session is open, in
// crc mode, the frame's bytes come from the vec arena: the frames sent
// with every message (ACK, KEEPALIVE2 and its ACK) allocate nothing.
func (s *stream) controlPayload(iov [][]byte, tag wire.Tag, payload []byte) ([][]byte, error) {
	if s.preAuth || s.enc.Secure() || len(payload) > smallControl {
		b, err := s.enc.AppendFrame(nil, tag, payload)
		if err != nil {
			return iov, err
		}
		if s.preAuth {
			s.txLog = append(s.txLog, b...)
		}
		return append(iov, b), nil
	}
	return s.vecEncoder().VecControl(iov, tag, payload)
}

// vecEncoder returns the crc-mode encoder, made on first use.
func (s *stream) vecEncoder() *wire.Encoder {
	if s.vec == nil {
		s.vec = wire.NewEncoder()
		s.vec.SetRev1(s.rev1)
		if s.streamSums {
			s.vec.SetSendSums(&s.sums)
		}
	}
	return s.vec
}

// written is called once every buffer the stream handed out has been
// written (or dropped with the socket): the vec arena's chunk and the
// staging buffers of secure frames go back to their pools, and crcs
// still waiting for chunks no longer listed are forgotten.
func (s *stream) written() {
	s.sums.Writable(nil)
	if s.vec != nil {
		s.vec.Release()
	}
}

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
	dec      *wire.Decoder
	enc      *wire.Encoder
	bannerIn bool // the peer's banner has been read
	rev1     bool

	// preAuth: until AUTH_SIGNATURE each side records what it received
	// (to sign it) and what it sent (to check the peer's signature).
	preAuth bool
	rxLog   []byte
	txLog   []byte
}

func newStream(l wire.Limits) *stream {
	return &stream{dec: wire.NewDecoder(l), enc: wire.NewEncoder(), preAuth: true, rev1: true}
}

func (s *stream) setRev1(rev1 bool) {
	s.rev1 = rev1
	s.dec.SetRev1(rev1)
	s.enc.SetRev1(rev1)
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

// control appends the buffers of control frame f to iov. The encoder's
// arena is never reset, so the pieces stay valid for the writer.
func (s *stream) control(iov [][]byte, f wire.ControlFrame) ([][]byte, error) {
	n := len(iov)
	iov, err := s.enc.Vec(iov, f.Tag(), f.AppendPayload(nil))
	if err == nil && s.preAuth {
		for _, b := range iov[n:] {
			s.txLog = append(s.txLog, b...)
		}
	}
	return iov, err
}

func (s *stream) message(iov [][]byte, h *message.Header, p *message.Payload) ([][]byte, error) {
	return s.enc.VecMessage(iov, h, p)
}

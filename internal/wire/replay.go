package wire

import (
	"errors"
	"fmt"
)

// conModeSecure is CEPH_CON_MODE_SECURE (auth.ModeSecure).
const conModeSecure = 2

// ReplayCapture decodes one direction of a captured msgr2 connection: the
// banner, the plain frames, and, once authentication ends, the secure ones.
// It is for tests and tools (a cephx test that has recovered a
// connection's secret can decrypt a capture with it).
//
// receiver is the side that read the stream: RoleClient for a
// server-to-client capture. The switch to secure mode happens where the
// receiver makes it: after an AUTH_DONE with con_mode secure in a
// server-to-client stream; in a client-to-server stream, at the first
// frame after the client's authentication frames that is not a valid
// plain frame (the client switches on receiving AUTH_DONE, which is not in
// this stream). With a nil secret replay stops at the first encrypted
// frame with the plain decoder's ErrBadCRC.
//
// fn sees every frame; the frame is valid only during the call. The result
// is the number of bytes left undecoded: non-zero for a capture cut
// partway through a frame.
func ReplayCapture(stream, secret []byte, receiver Role, fn func(*Frame) error) (int, error) {
	d := NewDecoder(Limits{})
	d.Establish() // a capture is trusted input, handshake or not
	d.Feed(stream)
	bn, raw, err := d.Banner()
	if err != nil {
		return d.Buffered(), err
	}
	if raw == nil {
		return d.Buffered(), nil
	}
	d.SetRev1(bn.Supported&FeatureRevision1 != 0)
	var rx *Cipher
	if secret != nil {
		if rx, _, err = NewSecure(secret, receiver, d.rev1); err != nil {
			return d.Buffered(), err
		}
	}
	authSeen := false
	for {
		f, err := d.Next()
		if err != nil {
			if receiver == RoleServer && authSeen && rx != nil && !d.Secure() && errors.Is(err, ErrBadCRC) {
				// The client's first encrypted frame: nothing was
				// consumed, so retry it in secure mode.
				d.err = nil
				d.SetSecure(rx)
				continue
			}
			return d.Buffered(), err
		}
		if f == nil {
			return d.Buffered(), nil
		}
		switch f.Tag {
		case TagAuthRequest, TagAuthRequestMore:
			authSeen = true
		case TagAuthDone:
			var ad AuthDone
			if err := ad.DecodePayload(f.Payload()); err != nil {
				return d.Buffered(), err
			}
			if receiver == RoleClient && ad.ConMode == conModeSecure && !d.Secure() {
				if rx == nil {
					if err := fn(f); err != nil {
						return d.Buffered(), err
					}
					// Report the first encrypted frame as plain
					// decoding would.
					f, err := d.Next()
					if err == nil && f != nil {
						err = fmt.Errorf("%w: expected an encrypted frame", ErrMalformed)
					}
					return d.Buffered(), err
				}
				d.SetSecure(rx)
			}
		}
		if err := fn(f); err != nil {
			return d.Buffered(), err
		}
	}
}

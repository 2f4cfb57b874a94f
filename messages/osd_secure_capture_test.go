package messages

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
	"github.com/gomsgr/msgr/message"
)

// The cephx-secure captures are AES-GCM after authentication. Their OSD
// connection's secret is recovered from the captures and client.admin's
// key alone: the mon's AUTH_DONE carries the OSD service ticket's session
// key (sealed with the auth session key, itself sealed with the client's
// key), and the OSD's AUTH_DONE carries the connection secret sealed with
// that ticket key. internal/wire then decrypts the frames.

// cephxOpen decrypts a sealed cephx blob (encode_encrypt: u8 1, the magic,
// then the payload) and returns a Decoder over the payload, or nil if key
// does not open it.
func cephxOpen(key auth.CryptoKey, sealed []byte) *encoding.Decoder {
	pt, err := key.Decrypt(sealed)
	if err != nil {
		return nil
	}
	d := encoding.NewDecoder(pt)
	if d.U8() != 1 || d.U64() != 0xff009cad8826aa55 || d.Err() != nil {
		return nil
	}
	return d
}

// cephxTicketKeys reads a CephXTicketReply list whose session keys are
// sealed with key, into service id → session key.
func cephxTicketKeys(t *testing.T, d *encoding.Decoder, key auth.CryptoKey, into map[uint32]auth.CryptoKey) {
	t.Helper()
	if v := d.U8(); v != 1 {
		t.Fatalf("ticket reply v%d", v)
	}
	for n := d.U32(); n > 0 && d.Err() == nil; n-- {
		svc := d.U32()
		d.U8() // struct_v
		st := cephxOpen(key, d.Blob())
		if st == nil {
			t.Fatalf("ticket for service %d does not open", svc)
		}
		st.U8() // CephXServiceTicket struct_v
		into[svc] = auth.DecodeCryptoKey(st)
		if st.Err() != nil {
			t.Fatal(st.Err())
		}
		d.U8()   // ticket_enc
		d.Blob() // the ticket, opaque to the client
	}
}

// osdAuthDone returns the AUTH_DONE payload of a stream's plain part.
func osdAuthDone(t *testing.T, stream []byte) []byte {
	t.Helper()
	var done []byte
	_, err := wire.ReplayCapture(stream, nil, wire.RoleClient, func(f *wire.Frame) error {
		if f.Tag == wire.TagAuthDone {
			var ad wire.AuthDone
			if err := ad.DecodePayload(f.Payload()); err != nil {
				return err
			}
			done = bytes.Clone(ad.Payload)
		}
		return nil
	})
	// Without the secret, replay stops at the first encrypted frame.
	if err != nil && !errors.Is(err, wire.ErrBadCRC) {
		t.Fatal(err)
	}
	return done
}

// osdTicketKeys returns the OSD ticket session keys found in the mon
// connections of one command.
func osdTicketKeys(t *testing.T, cmd string, clientKey auth.CryptoKey) []auth.CryptoKey {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "osd", "cephx-secure", cmd+".conn*.mon-to-client.bin"))
	var keys []auth.CryptoKey
	for _, f := range files {
		done := osdAuthDone(t, osdReadTestdata(t, "cephx-secure", filepath.Base(f)))
		if done == nil {
			continue
		}
		d := encoding.NewDecoder(done)
		if d.U16() != 0x0100 || d.I32() != 0 {
			t.Fatalf("%s: not a CEPHX_GET_AUTH_SESSION_KEY reply", f)
		}
		tk := map[uint32]auth.CryptoKey{}
		cephxTicketKeys(t, d, clientKey, tk)
		d.Blob() // the connection secret, sealed with the auth session key
		if extra := d.Sub(); extra.Remaining() > 0 {
			cephxTicketKeys(t, extra, tk[uint32(encoding.EntityTypeAuth)], tk)
		}
		if k, ok := tk[uint32(encoding.EntityTypeOSD)]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		t.Fatalf("%s: no OSD ticket in the mon streams", cmd)
	}
	return keys
}

// osdSecureMessages decrypts one command's OSD connection and returns its
// MESSAGE frames, client→OSD and OSD→client.
func osdSecureMessages(t *testing.T, cmd string) (toOSD, fromOSD []osdCapturedMsg) {
	t.Helper()
	kr, err := auth.ParseKeyring(osdReadTestdata(t, "cephx-secure", "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := kr.Key(auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	c2o := osdReadTestdata(t, "cephx-secure", cmd+".conn0.client-to-osd.bin")
	o2c := osdReadTestdata(t, "cephx-secure", cmd+".conn0.osd-to-client.bin")
	done := osdAuthDone(t, o2c)
	var secret []byte
	for _, k := range osdTicketKeys(t, cmd, clientKey) {
		d := encoding.NewDecoder(done)
		r := cephxOpen(k, d.Blob())
		if r == nil {
			continue
		}
		if v := r.U8(); v < 2 {
			t.Fatalf("authorizer reply v%d carries no connection secret", v)
		}
		r.U64() // the nonce plus one
		secret = bytes.Clone(r.Blob())
		if r.Err() != nil || len(secret) != 64 {
			t.Fatalf("connection secret: %v, %d bytes", r.Err(), len(secret))
		}
		break
	}
	if secret == nil {
		t.Fatalf("%s: no OSD ticket key opens the OSD's AUTH_DONE", cmd)
	}
	collect := func(stream []byte, receiver wire.Role) []osdCapturedMsg {
		var msgs []osdCapturedMsg
		rest, err := wire.ReplayCapture(stream, secret, receiver, func(f *wire.Frame) error {
			if f.Tag != wire.TagMessage {
				return nil
			}
			if f.Raw != nil {
				t.Fatal("a MESSAGE frame in the clear on a secure connection")
			}
			var m osdCapturedMsg
			if err := message.DecodeHeader2(&m.hdr, f.Segment(0)); err != nil {
				return err
			}
			m.payload = message.Payload{
				Front:  bytes.Clone(f.Segment(1)),
				Middle: bytes.Clone(f.Segment(2)),
				Data:   bytes.Clone(f.Segment(3)),
			}
			msgs = append(msgs, m)
			return nil
		})
		if err != nil || rest != 0 {
			t.Fatalf("%s: decrypting: %v (%d bytes left)", cmd, err, rest)
		}
		return msgs
	}
	return collect(c2o, wire.RoleServer), collect(o2c, wire.RoleClient)
}

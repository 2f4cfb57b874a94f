package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// Just enough cephx to recover a mon connection's secret from a capture and
// client.admin's key, so that secure mode is checked on real bytes end to
// end. The real implementation is package auth/cephx's.

func adminKey(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, dir, "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\[client\.admin\]\s+key = (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no client.admin key")
	}
	raw, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil || len(raw) != 28 {
		t.Fatalf("key: %v", err)
	}
	return raw[12:] // u16 type, utime created, u16 len, then the secret
}

// cephxDecrypt undoes Ceph's encode_encrypt: AES-128-CBC with the fixed IV,
// PKCS#7, then u8 1 and the magic.
func cephxDecrypt(t *testing.T, key, ct []byte) *encoding.Decoder {
	t.Helper()
	blk, err := aes.NewCipher(key)
	if err != nil || len(ct) == 0 || len(ct)%16 != 0 {
		t.Fatalf("cephx ciphertext of %d bytes: %v", len(ct), err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(blk, []byte("cephsageyudagreg")).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 16 {
		t.Fatalf("bad padding %d", pad)
	}
	d := encoding.NewDecoder(pt[:len(pt)-pad])
	if d.U8() != 1 || d.U64() != 0xff009cad8826aa55 {
		t.Fatal("bad cephx magic: wrong key?")
	}
	return d
}

// tryCephxDecrypt is cephxDecrypt that reports a wrong key instead of
// failing the test.
func tryCephxDecrypt(key, ct []byte) *encoding.Decoder {
	blk, err := aes.NewCipher(key)
	if err != nil || len(ct) == 0 || len(ct)%16 != 0 {
		return nil
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(blk, []byte("cephsageyudagreg")).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 16 {
		return nil
	}
	d := encoding.NewDecoder(pt[:len(pt)-pad])
	if d.U8() != 1 || d.U64() != 0xff009cad8826aa55 {
		return nil
	}
	return d
}

// tickets reads a CephXTicketReply list, its session keys encrypted with
// key, into service id -> session key.
func tickets(t *testing.T, d *encoding.Decoder, key []byte, into map[uint32][]byte) {
	t.Helper()
	if d.U8() != 1 {
		t.Fatal("ticket reply version")
	}
	for n := d.U32(); n > 0 && d.Err() == nil; n-- {
		svc := d.U32()
		d.U8()
		st := cephxDecrypt(t, key, d.Blob())
		st.U8()       // CephXServiceTicket struct_v
		st.U16()      // CryptoKey type
		st.UTime()    // created
		l := st.U16() // secret length
		into[svc] = bytes.Clone(st.Bytes(int(l)))
		d.U8()   // ticket_enc
		d.Blob() // ticket
	}
}

// monSecrets reads the mon's AUTH_DONE and returns the session key, the
// connection secret, and every service ticket's session key.
func monSecrets(t *testing.T, clientKey, authDone []byte) (sessionKey, secret []byte, keys map[uint32][]byte) {
	var ad AuthDone
	if err := ad.DecodePayload(authDone); err != nil {
		t.Fatal(err)
	}
	d := encoding.NewDecoder(ad.Payload)
	if d.U16() != 0x0100 || d.I32() != 0 {
		t.Fatal("not a CEPHX_GET_AUTH_SESSION_KEY reply")
	}
	keys = map[uint32][]byte{}
	tickets(t, d, clientKey, keys)
	sessionKey = keys[uint32(encoding.EntityTypeAuth)]
	cs := cephxDecrypt(t, sessionKey, d.Sub().Blob())
	secret = bytes.Clone(cs.Blob())
	if extra := d.Sub(); extra.Remaining() > 0 {
		tickets(t, extra, sessionKey, keys)
	}
	if d.Err() != nil || len(secret) != 64 {
		t.Fatalf("connection secret: %v, %d bytes", d.Err(), len(secret))
	}
	return sessionKey, secret, keys
}

// osdSecret reads an OSD's AUTH_DONE (the authorizer reply) with whichever
// candidate OSD ticket key opens it.
func osdSecret(t *testing.T, candidates [][]byte, authDone []byte) (sessionKey, secret []byte) {
	var ad AuthDone
	if err := ad.DecodePayload(authDone); err != nil {
		t.Fatal(err)
	}
	for _, k := range candidates {
		d := encoding.NewDecoder(ad.Payload)
		r := tryCephxDecrypt(k, d.Blob())
		if r == nil {
			continue
		}
		if v := r.U8(); v < 2 {
			t.Fatalf("authorizer reply v%d has no connection secret", v)
		}
		r.U64() // nonce + 1
		secret = bytes.Clone(r.Blob())
		if r.Err() != nil || len(secret) != 64 {
			t.Fatalf("osd connection secret: %v", r.Err())
		}
		return k, secret
	}
	t.Fatal("no OSD ticket key opens the authorizer reply")
	return nil, nil
}

// preAuthLen is the length of a stream's plain part: banner and frames
// up to the end of authentication.
func preAuthLen(stream []byte, receiver Role) int {
	n := BannerSize
	ReplayCapture(stream, nil, receiver, func(f *Frame) error {
		n += len(f.Raw)
		return nil
	})
	return n
}

// decryptPair replays both directions of one connection with its secret.
func decryptPair(t *testing.T, name string, fromPeer, toPeer, sessionKey, secret []byte, peerIdent Tag, cut bool, check func(*Frame)) int {
	t.Helper()
	total := 0
	for _, dirn := range []struct {
		stream   []byte
		receiver Role
		ident    Tag
		signed   []byte // what the sender of AUTH_SIGNATURE received
	}{
		{fromPeer, RoleClient, peerIdent, toPeer[:preAuthLen(toPeer, RoleServer)]},
		{toPeer, RoleServer, TagClientIdent, fromPeer[:preAuthLen(fromPeer, RoleClient)]},
	} {
		var tags []Tag
		var types []uint16
		// Re-encrypting each decrypted frame as its sender must give the
		// captured ciphertext: the encoder is byte-exact in secure mode.
		orig := bytes.Clone(dirn.stream)
		pos := preAuthLen(orig, dirn.receiver)
		_, tx, err := NewSecure(secret, 1-dirn.receiver, true)
		if err != nil {
			t.Fatal(err)
		}
		enc := NewEncoder()
		enc.SetSecure(tx)
		rest, err := ReplayCapture(dirn.stream, secret, dirn.receiver, func(f *Frame) error {
			if f.Raw != nil { // still plain
				return nil
			}
			n := int(onWireLen(&f.Preamble, true, true))
			segs := make([][]byte, f.NumSegments)
			for i := range segs {
				segs[i] = f.Segment(i)
			}
			again, err := enc.AppendFrame(nil, f.Tag, segs...)
			if err != nil || !bytes.Equal(again, orig[pos:pos+n]) {
				t.Errorf("%s: re-encrypted %v differs from the capture (%v)", name, f.Tag, err)
			}
			pos += n
			tags = append(tags, f.Tag)
			if check != nil {
				check(f)
			}
			switch f.Tag {
			case TagMessage:
				var h message.Header
				if err := message.DecodeHeader2(&h, f.Segment(SegHeader)); err != nil {
					return err
				}
				types = append(types, h.Type)
			case TagAuthSignature:
				mac := hmac.New(sha256.New, sessionKey)
				mac.Write(dirn.signed)
				if !bytes.Equal(mac.Sum(nil), f.Payload()) {
					t.Errorf("%s: AUTH_SIGNATURE is not the HMAC of the %d bytes received", name, len(dirn.signed))
				}
			default:
				if _, err := DecodeControlFrame(f.Tag, f.Payload()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s receiver %v: %v after %v", name, dirn.receiver, err, tags)
		}
		if (rest != 0) != (cut && dirn.receiver == RoleClient) {
			t.Fatalf("%s receiver %v: %d bytes left", name, dirn.receiver, rest)
		}
		if len(tags) < 3 || tags[0] != TagAuthSignature || tags[1] != dirn.ident {
			t.Fatalf("%s: decrypted frames %v", name, tags)
		}
		total += len(tags)
		if testing.Verbose() {
			t.Logf("%s receiver %v: %v types %v", filepath.Base(name), dirn.receiver, tags, types)
		}
	}
	return total
}

// TestCapturesSecureFull decrypts every mon connection of the cephx-secure
// captures with the connection secret recovered from client.admin's key:
// every record's GCM tag verifies, every frame decodes, and each side's
// AUTH_SIGNATURE is the HMAC of what it received before, keyed with the
// session key.
func TestCapturesSecureFull(t *testing.T) {
	for _, dir := range []string{"cephx-secure", "osd/cephx-secure"} {
		key := adminKey(t, dir)
		decrypted := 0
		osdKeys := map[string][][]byte{} // command prefix -> OSD ticket keys
		obj, _ := os.ReadFile(filepath.Join(vectors, "osd/cephx-secure/obj1.data"))
		for _, name := range captures(t, dir) {
			if !strings.HasSuffix(name, ".mon-to-client.bin") {
				continue
			}
			fromMon, _ := os.ReadFile(name)
			toMon, err := os.ReadFile(strings.Replace(name, ".mon-to-client.bin", ".client-to-mon.bin", 1))
			if err != nil {
				t.Fatal(err)
			}
			var sessionKey, secret []byte
			ReplayCapture(fromMon, nil, RoleClient, func(f *Frame) error {
				if f.Tag == TagAuthDone {
					var keys map[uint32][]byte
					sessionKey, secret, keys = monSecrets(t, key, f.Payload())
					if k := keys[uint32(encoding.EntityTypeOSD)]; k != nil {
						cmd := strings.SplitN(filepath.Base(name), ".", 2)[0]
						osdKeys[cmd] = append(osdKeys[cmd], k)
					}
				}
				return nil
			})
			if secret == nil {
				t.Fatalf("%s: no AUTH_DONE", name)
			}
			cut := dir == "cephx-secure" && strings.HasSuffix(name, "conn2.mon-to-client.bin")
			decrypted += decryptPair(t, name, fromMon, toMon, sessionKey, secret, TagServerIdent, cut, nil)
		}
		for _, name := range captures(t, dir) {
			if !strings.HasSuffix(name, ".osd-to-client.bin") {
				continue
			}
			fromOSD, _ := os.ReadFile(name)
			toOSD, err := os.ReadFile(strings.Replace(name, ".osd-to-client.bin", ".client-to-osd.bin", 1))
			if err != nil {
				t.Fatal(err)
			}
			cmd := strings.SplitN(filepath.Base(name), ".", 2)[0]
			var sessionKey, secret []byte
			ReplayCapture(fromOSD, nil, RoleClient, func(f *Frame) error {
				if f.Tag == TagAuthDone {
					sessionKey, secret = osdSecret(t, osdKeys[cmd], f.Payload())
				}
				return nil
			})
			// put sends obj1.data and get returns it, as the data segment.
			objects := 0
			check := func(f *Frame) {
				if f.Tag == TagMessage && len(f.Segment(SegData)) == len(obj) {
					if !bytes.Equal(f.Segment(SegData), obj) {
						t.Errorf("%s: data segment is not obj1.data", name)
					}
					objects++
				}
			}
			decrypted += decryptPair(t, name, fromOSD, toOSD, sessionKey, secret, TagServerIdent, false, check)
			if (cmd == "1-put" || cmd == "3-get") && objects != 1 {
				t.Errorf("%s: %d object payloads", name, objects)
			}
		}
		t.Logf("%s: %d frames decrypted", dir, decrypted)
	}
}

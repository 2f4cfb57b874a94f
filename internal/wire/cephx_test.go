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

// monSecrets reads the mon's AUTH_DONE and returns the session key and
// the connection secret.
func monSecrets(t *testing.T, clientKey, authDone []byte) (sessionKey, secret []byte) {
	var ad AuthDone
	if err := ad.DecodePayload(authDone); err != nil {
		t.Fatal(err)
	}
	d := encoding.NewDecoder(ad.Payload)
	if d.U16() != 0x0100 || d.I32() != 0 || d.U8() != 1 {
		t.Fatal("not a CEPHX_GET_AUTH_SESSION_KEY reply")
	}
	for n := d.U32(); n > 0; n-- {
		svc := d.U32()
		d.U8()
		st := cephxDecrypt(t, clientKey, d.Blob())
		st.U8()       // CephXServiceTicket struct_v
		st.U16()      // CryptoKey type
		st.UTime()    // created
		l := st.U16() // secret length
		key := st.Bytes(int(l))
		if svc == uint32(encoding.EntityTypeAuth) {
			sessionKey = bytes.Clone(key)
		}
		d.U8()   // ticket_enc
		d.Blob() // ticket
	}
	cs := cephxDecrypt(t, sessionKey, d.Sub().Blob())
	secret = bytes.Clone(cs.Blob())
	if d.Err() != nil || len(secret) != 64 {
		t.Fatalf("connection secret: %v, %d bytes", d.Err(), len(secret))
	}
	return sessionKey, secret
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
		for _, name := range captures(t, dir) {
			if !strings.HasSuffix(name, ".mon-to-client.bin") {
				continue
			}
			fromMon, _ := os.ReadFile(name)
			toMon, err := os.ReadFile(strings.Replace(name, ".mon-to-client.bin", ".client-to-mon.bin", 1))
			if err != nil {
				t.Fatal(err)
			}
			// Find AUTH_DONE in the plain part of the mon's stream.
			var sessionKey, secret []byte
			monPreAuth, clientPreAuth := 0, 0
			ReplayCapture(fromMon, nil, RoleClient, func(f *Frame) error {
				monPreAuth += len(f.Raw)
				if f.Tag == TagAuthDone {
					sessionKey, secret = monSecrets(t, key, f.Payload())
				}
				return nil
			})
			if secret == nil {
				t.Fatalf("%s: no AUTH_DONE", name)
			}
			ReplayCapture(toMon, nil, RoleServer, func(f *Frame) error {
				clientPreAuth += len(f.Raw)
				return nil
			})
			monPreAuth += BannerSize
			clientPreAuth += BannerSize

			for _, dirn := range []struct {
				stream   []byte
				receiver Role
				ident    Tag
				signed   []byte // what the sender of AUTH_SIGNATURE received
			}{
				{fromMon, RoleClient, TagServerIdent, toMon[:clientPreAuth]},
				{toMon, RoleServer, TagClientIdent, fromMon[:monPreAuth]},
			} {
				var tags []Tag
				var types []uint16
				rest, err := ReplayCapture(dirn.stream, secret, dirn.receiver, func(f *Frame) error {
					if f.Raw == nil { // decrypted
						tags = append(tags, f.Tag)
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
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s receiver %v: %v after %v", name, dirn.receiver, err, tags)
				}
				cut := strings.HasSuffix(name, "conn2.mon-to-client.bin") && dirn.receiver == RoleClient && dir == "cephx-secure"
				if (rest != 0) != cut {
					t.Fatalf("%s receiver %v: %d bytes left", name, dirn.receiver, rest)
				}
				if len(tags) < 3 || tags[0] != TagAuthSignature || tags[1] != dirn.ident {
					t.Fatalf("%s: decrypted frames %v", name, tags)
				}
				decrypted += len(tags)
				if testing.Verbose() {
					t.Logf("%s receiver %v: %v types %v", filepath.Base(name), dirn.receiver, tags, types)
				}
			}
		}
		t.Logf("%s: %d frames decrypted", dir, decrypted)
	}
}

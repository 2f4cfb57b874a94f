package auth

import (
	"errors"
	"os"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

func FuzzParseKeyring(f *testing.F) {
	data, err := os.ReadFile("testdata/keyring")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("[client.x]\ncaps mon = \"a\\\"b\" ; c\nkey = \\\n" + adminKey))
	k, _ := ParseKey(adminKey)
	bin := []byte{1}
	bin = encoding.AppendU32(bin, 1)
	bin = AppendEntityName(bin, EntityName{Type: 8, ID: "admin"})
	bin = append(bin, 2)
	bin = encoding.AppendU64(bin, 0)
	bin = AppendCryptoKey(bin, k)
	bin = encoding.AppendU32(bin, 1)
	bin = encoding.AppendString(bin, "mon")
	f.Add(encoding.AppendBytes(bin, encoding.AppendString(nil, "allow *")))
	f.Fuzz(func(t *testing.T, data []byte) {
		kr, err := ParseKeyring(data)
		if err != nil {
			if !errors.Is(err, ErrKeyring) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		// What parses marshals to something that parses to the same.
		again, err := ParseKeyring(kr.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, kr.Marshal())
		}
		if string(again.Marshal()) != string(kr.Marshal()) {
			t.Fatalf("round trip differs")
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	k, _ := ParseKey(adminKey)
	ct, _ := k.Encrypt([]byte("0123456789"))
	f.Add(ct)
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, ct []byte) {
		pt, err := k.Decrypt(ct)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("untyped %v", err)
			}
			return
		}
		again, err := k.Encrypt(pt)
		if err != nil || string(again) != string(ct) {
			t.Fatal("decrypt/encrypt is not the identity")
		}
		if _, err := ParseKey(string(ct)); err != nil && !errors.Is(err, ErrBadKey) {
			t.Fatalf("ParseKey: untyped %v", err)
		}
	})
}

package auth

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

const adminKey = "AQAQEQZr9meMOBAAwxYRBlOTvX16waXwlQq7Qw=="

func TestParseKey(t *testing.T) {
	k, err := ParseKey(adminKey)
	if err != nil {
		t.Fatal(err)
	}
	if k.Type != KeyTypeAES || len(k.Secret) != 16 || k.Created.Sec != 0x6b061110 {
		t.Fatalf("got type %d len %d created %v", k.Type, len(k.Secret), k.Created)
	}
	if k.String() != adminKey {
		t.Fatalf("re-encoded %q", k.String())
	}
	if s := fmt.Sprintf("%v %+v %s", k, k, k); strings.Contains(s, hex.EncodeToString(k.Secret)) || strings.Contains(s, adminKey) {
		t.Fatalf("formatting leaks the secret: %s", s)
	}
	for _, tc := range []struct{ name, in string }{
		{"not base64", "!!!"},
		{"truncated", adminKey[:20]},
		{"short secret", "AQAQEQZr9meMOBAACAAAAAAAAAAAAAA="},
		{"bad type", "BwAQEQZr9meMOBAAwxYRBlOTvX16waXwlQq7Qw=="},
		{"trailing", "AQAQEQZr9meMOBAAwxYRBlOTvX16waXwlQq7QwAA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseKey(tc.in); !errors.Is(err, ErrBadKey) {
				t.Fatalf("err %v, want ErrBadKey", err)
			}
		})
	}
}

// The known answer comes from `openssl enc -aes-128-cbc` with Ceph's IV.
func TestEncryptKnownAnswer(t *testing.T) {
	k, _ := ParseKey(adminKey)
	ct, err := k.Encrypt([]byte("hello world, 20 bytes"))
	if err != nil {
		t.Fatal(err)
	}
	want := "eae17d30e102800bb25900648a951c4ecb3a113661c69ac282500eda94778583"
	if hex.EncodeToString(ct) != want {
		t.Fatalf("ciphertext %x, want %s", ct, want)
	}
	pt, err := k.Decrypt(ct)
	if err != nil || string(pt) != "hello world, 20 bytes" {
		t.Fatalf("decrypt %q %v", pt, err)
	}
}

func TestEncryptRoundTripAndPadding(t *testing.T) {
	k, _ := ParseKey(adminKey)
	for n := 0; n <= 48; n++ {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		ct, err := k.Encrypt(pt)
		if err != nil {
			t.Fatal(err)
		}
		if want := (n/16 + 1) * 16; len(ct) != want {
			t.Fatalf("len(ct)=%d for %d bytes, want %d", len(ct), n, want)
		}
		got, err := k.Decrypt(ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: %x %v", n, got, err)
		}
	}
}

func TestDecryptRejects(t *testing.T) {
	k, _ := ParseKey(adminKey)
	other := CryptoKey{Type: KeyTypeAES, Secret: bytes.Repeat([]byte{7}, 16)}
	ct, _ := k.Encrypt([]byte("0123456789abcdef0123"))
	for _, tc := range []struct {
		name string
		key  CryptoKey
		ct   []byte
		want error
	}{
		{"empty", k, nil, ErrDecrypt},
		{"not whole blocks", k, ct[:20], ErrDecrypt},
		{"wrong key", other, ct, ErrDecrypt},
		{"bad key", CryptoKey{Type: KeyTypeAES, Secret: []byte{1}}, ct, ErrBadKey},
		{"unknown type", CryptoKey{Type: 9}, ct, ErrBadKey},
		{"zero key", CryptoKey{}, ct, ErrBadKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.key.Decrypt(tc.ct)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCryptoKeyEncoding(t *testing.T) {
	k := CryptoKey{Type: KeyTypeAES, Created: encoding.UTime{Sec: 1, Nsec: 2}, Secret: bytes.Repeat([]byte{9}, 16)}
	b := AppendCryptoKey(nil, k)
	if len(b) != 28 {
		t.Fatalf("encoded %d bytes", len(b))
	}
	d := encoding.NewDecoder(b)
	got := DecodeCryptoKey(d)
	if d.Err() != nil || got.Created != k.Created || !bytes.Equal(got.Secret, k.Secret) {
		t.Fatalf("got %+v %v", got, d.Err())
	}
	d = encoding.NewDecoder(b[:27])
	DecodeCryptoKey(d)
	if !errors.Is(d.Err(), encoding.ErrTruncated) {
		t.Fatalf("truncated: %v", d.Err())
	}
}

func TestParseKeyring(t *testing.T) {
	data, err := os.ReadFile("testdata/keyring")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := ParseKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	admin := EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}
	k, err := kr.Key(admin)
	if err != nil || k.String() != adminKey {
		t.Fatalf("client.admin: %v", err)
	}
	e, _ := kr.Entry(admin)
	if e.Caps["mon"] != "allow *" || e.Caps["osd"] != "allow *" || len(e.Caps) != 4 {
		t.Fatalf("caps %v", e.Caps)
	}
	mon := EntityName{Type: uint32(encoding.EntityTypeMon)}
	if _, err := kr.Key(mon); err != nil {
		t.Fatalf("mon.: %v", err)
	}
	if _, err := kr.Key(EntityName{Type: uint32(encoding.EntityTypeClient), ID: "nobody"}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("unknown entity: %v", err)
	}
	again, err := ParseKeyring(kr.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Marshal()) != string(kr.Marshal()) {
		t.Fatalf("marshal round trip differs:\n%s", again.Marshal())
	}
}

func TestParseKeyringVariants(t *testing.T) {
	ok := []struct{ name, in string }{
		{"comments and global", "[global]\nfoo = bar\n# c\n; c\n[client.x]\nkey = " + adminKey + " # trailing\n"},
		{"underscores", "[client.x]\n  key=" + adminKey + "\n caps_mon = \"allow r ; x\"\n"},
		{"continuation", "[client.x]\nkey = \\\n" + adminKey + "\n"},
		{"auid", "[client.x]\nkey = " + adminKey + "\nauid = 0\n"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := ParseKeyring([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := ParseEntityName("client.x")
			if _, err := kr.Key(n); err != nil {
				t.Fatal(err)
			}
			if tc.name == "underscores" {
				if e, _ := kr.Entry(n); e.Caps["mon"] != "allow r ; x" {
					t.Fatalf("caps %q", e.Caps)
				}
			}
		})
	}
	bad := []struct{ name, in string }{
		{"bad section", "[client.x\nkey = " + adminKey},
		{"bad entity", "[bogus.x]\nkey = " + adminKey},
		{"no section", "key = " + adminKey},
		{"no equals", "[client.x]\nkey"},
		{"bad key", "[client.x]\nkey = AAAA"},
		{"unknown field", "[client.x]\ncolour = blue"},
		{"unterminated quote", "[client.x]\ncaps mon = \"allow"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseKeyring([]byte(tc.in)); !errors.Is(err, ErrKeyring) {
				t.Fatalf("err %v, want ErrKeyring", err)
			}
		})
	}
}

func TestParseEntityName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want EntityName
		ok   bool
	}{
		{"client.admin", EntityName{Type: 8, ID: "admin"}, true},
		{"mon.", EntityName{Type: 1}, true},
		{"osd.0", EntityName{Type: 4, ID: "0"}, true},
		{"mgr.x.y", EntityName{Type: 0x10, ID: "x.y"}, true},
		{"admin", EntityName{}, false},
		{"foo.bar", EntityName{}, false},
	} {
		got, err := ParseEntityName(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("%q formats as %q", tc.in, got.String())
		}
	}
}

func TestParseKeyFile(t *testing.T) {
	k, err := ParseKeyFile([]byte(adminKey + "\n"))
	if err != nil || k.String() != adminKey {
		t.Fatal(err)
	}
}

func TestResultFormatHidesSecrets(t *testing.T) {
	r := Result{GlobalID: 7, SessionKey: []byte("0123456789abcdef"), ConnectionSecret: []byte("topsecretconnectionsecret")}
	for _, s := range []string{fmt.Sprintf("%v", r), fmt.Sprintf("%+v", ServerReply{Result: r}), fmt.Sprintf("%#v", r)} {
		if strings.Contains(s, "0123456789") || strings.Contains(s, "topsecret") || strings.Contains(s, "48 49 50") {
			t.Fatalf("leak: %s", s)
		}
	}
}

package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomsgr/msgr/encoding"
)

func TestKeyOptions(t *testing.T) {
	dir := t.TempDir()
	data, _ := os.ReadFile("testdata/keyring")
	if err := os.WriteFile(filepath.Join(dir, "test.client.admin.keyring"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	other, _ := ParseKey("AQAQEQZr8CZtNxAAkZM2QbKMcc4YM0ENz9H7HA==")
	keyFile := filepath.Join(dir, "admin.key")
	os.WriteFile(keyFile, []byte(other.String()+"\n"), 0o600)
	admin, _ := ParseEntityName("client.admin")
	list := filepath.Join(dir, "missing") + ", " + filepath.Join(dir, "${cluster}.$name.keyring")
	for _, tc := range []struct {
		name string
		o    KeyOptions
		want string
		err  error
	}{
		{"keyring list", KeyOptions{Cluster: "test", Name: admin, Keyring: list}, adminKey, nil},
		{"key overrides", KeyOptions{Cluster: "test", Name: admin, Keyring: list, Key: other.String()}, other.String(), nil},
		{"keyfile", KeyOptions{Name: admin, Keyring: filepath.Join(dir, "missing"), KeyFile: keyFile}, other.String(), nil},
		{"nothing found", KeyOptions{Name: admin, Keyring: filepath.Join(dir, "missing")}, "", fs.ErrNotExist},
		{"entity not in keyring", KeyOptions{Cluster: "test", Name: EntityName{Type: admin.Type, ID: "x"}, Keyring: filepath.Join(dir, "test.client.admin.keyring")}, "", ErrNoKey},
		{"bad key option", KeyOptions{Name: admin, Keyring: filepath.Join(dir, "missing"), Key: "zz"}, "", ErrBadKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.o.FindKey()
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || k.String() != tc.want {
				t.Fatalf("%v", err)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	o := KeyOptions{Name: EntityName{Type: uint32(encoding.EntityTypeOSD), ID: "3"}}
	for in, want := range map[string]string{
		"/etc/ceph/$cluster.$name.keyring": "/etc/ceph/ceph.osd.3.keyring",
		"/var/lib/ceph/$type/$cluster-$id": "/var/lib/ceph/osd/ceph-3",
		"${name}x $namex $ $home":          "osd.3x $namex $ $home",
	} {
		if got := o.expand(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

func TestBinaryKeyring(t *testing.T) {
	k, _ := ParseKey(adminKey)
	admin, _ := ParseEntityName("client.admin")
	b := []byte{1}
	b = encoding.AppendU32(b, 1)
	b = AppendEntityName(b, admin)
	b = append(b, 2)
	b = encoding.AppendU64(b, ^uint64(0))
	b = AppendCryptoKey(b, k)
	b = encoding.AppendU32(b, 1)
	b = encoding.AppendString(b, "mon")
	b = encoding.AppendBytes(b, encoding.AppendString(nil, "allow *"))
	kr, err := ParseKeyring(b)
	if err != nil {
		t.Fatal(err)
	}
	e, ok := kr.Entry(admin)
	if !ok || e.Key.String() != adminKey || e.Caps["mon"] != "allow *" {
		t.Fatalf("%+v", e)
	}
	if _, err := ParseKeyring(b[:len(b)-1]); !errors.Is(err, ErrKeyring) {
		t.Fatalf("truncated binary: %v", err)
	}
}

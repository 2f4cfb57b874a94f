package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gomsgr/msgr/encoding"
)

// DefaultKeyring is Ceph's default for the keyring option: the first of
// these files that exists is loaded.
const DefaultKeyring = "/etc/ceph/$cluster.$name.keyring,/etc/ceph/$cluster.keyring,/etc/ceph/keyring,/etc/ceph/keyring.bin"

// KeyOptions say where a principal's key comes from, as Ceph's options do:
// keyring (-k, "keyring =" in ceph.conf), key (--key) and keyfile
// (--keyfile). The caller parses the command line, ceph.conf and CEPH_ARGS
// into them.
type KeyOptions struct {
	Cluster string     // "" means "ceph"
	Name    EntityName // the principal (-n / --id)
	Keyring string     // paths separated by , ; = space or tab, with $cluster, $name, $type, $id; "" means DefaultKeyring
	Key     string     // a base64 key, overriding the keyring's
	KeyFile string     // a file holding a base64 key, overriding the keyring's
}

// Load reads the keyring as Ceph's KeyRing::from_ceph_context does: the
// first keyring file that exists, then Key or KeyFile (in that order) as the
// principal's key. With none of them available the error matches
// fs.ErrNotExist and names the paths tried.
func (o KeyOptions) Load() (*Keyring, error) {
	list := o.Keyring
	if list == "" {
		list = DefaultKeyring
	}
	paths := o.expandList(list)
	kr := NewKeyring()
	found := false
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if kr, err = ParseKeyring(data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		found = true
		break
	}
	switch {
	case o.Key != "":
		k, err := ParseKey(strings.TrimSpace(o.Key))
		if err != nil {
			return nil, fmt.Errorf("key option: %w", err)
		}
		kr.Add(o.Name, k)
	case o.KeyFile != "":
		data, err := os.ReadFile(o.KeyFile)
		if err != nil {
			return nil, err
		}
		k, err := ParseKeyFile(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.KeyFile, err)
		}
		kr.Add(o.Name, k)
	case !found:
		return nil, fmt.Errorf("auth: unable to find a keyring on %s: %w", strings.Join(paths, ","), fs.ErrNotExist)
	}
	return kr, nil
}

// FindKey loads the keyring and returns the principal's key; the error
// matches ErrNoKey or fs.ErrNotExist.
func (o KeyOptions) FindKey() (CryptoKey, error) {
	kr, err := o.Load()
	if err != nil {
		return CryptoKey{}, err
	}
	return kr.Key(o.Name)
}

func (o KeyOptions) expandList(list string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(list, func(r rune) bool { return strings.ContainsRune(";,= \t", r) }) {
		out = append(out, o.expand(p))
	}
	return out
}

// expand replaces Ceph's metavariables in s.
func (o KeyOptions) expand(s string) string {
	cluster := o.Cluster
	if cluster == "" {
		cluster = "ceph"
	}
	vars := map[string]string{
		"cluster": cluster,
		"name":    o.Name.String(),
		"type":    encoding.EntityTypeName(uint8(o.Name.Type)),
		"id":      o.Name.ID,
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		braced := strings.HasPrefix(rest, "{")
		if braced {
			rest = rest[1:]
		}
		done := false
		for v, val := range vars {
			if !strings.HasPrefix(rest, v) || (braced && !strings.HasPrefix(rest[len(v):], "}")) {
				continue
			}
			// $name must not match the prefix of a longer word.
			if !braced && len(rest) > len(v) && isWordByte(rest[len(v)]) {
				continue
			}
			b.WriteString(val)
			i += len(v)
			if braced {
				i += 2
			}
			done = true
			break
		}
		if !done {
			b.WriteByte('$')
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// textSafeName reports whether n is a name the text format can hold: a
// type Ceph names, and an id without control bytes, the bytes that end a
// section header or start a comment, or edge spaces.
func textSafeName(n EntityName) bool {
	if n.Type > 0xff {
		return false
	}
	if _, ok := entityTypeByName(encoding.EntityTypeName(uint8(n.Type))); !ok {
		return false
	}
	if strings.TrimSpace(n.ID) != n.ID {
		return false
	}
	for _, c := range []byte(n.ID) {
		if c < 0x20 || c == 0x7f || strings.IndexByte("[]#;\\", c) >= 0 {
			return false
		}
	}
	return true
}

// textSafeCapName reports whether "caps <name>" reads back as name from the
// text format (field names are trimmed, '_' is a space, runs of spaces are
// one; '=' ends the name, '#' and ';' start comments).
func textSafeCapName(name string) bool {
	if name == "" || normalizeField(name) != name {
		return false
	}
	for _, c := range []byte(name) {
		if c < 0x20 || c == 0x7f || strings.IndexByte("=#;\\\"", c) >= 0 {
			return false
		}
	}
	return true
}

// parseBinaryKeyring decodes the binary keyring format (keyring.bin: u8
// struct_v, then map<EntityName, EntityAuth>). It fails unless the whole
// input decodes, so that plain text never passes for it.
func parseBinaryKeyring(data []byte) (*Keyring, error) {
	d := encoding.NewDecoder(data)
	d.U8()
	n := d.Len(4 + 4 + 1 + 12 + 4)
	kr := NewKeyring()
	for i := 0; i < n && d.Err() == nil; i++ {
		name := DecodeEntityName(d)
		if !textSafeName(name) {
			// Marshal writes the text format, which could not name it.
			d.Fail(fmt.Errorf("%w: %q", ErrBadName, name.String()))
			break
		}
		v := d.U8()
		if v >= 2 {
			d.U64() // auid
		}
		key := DecodeCryptoKey(d)
		nc := d.Len(8)
		caps := map[string]string{}
		for j := 0; j < nc && d.Err() == nil; j++ {
			svc := d.String()
			if !textSafeCapName(svc) {
				d.Fail(fmt.Errorf("%w: caps name %q", ErrKeyring, svc))
				break
			}
			cd := d.Sub()
			caps[svc] = cd.String()
			if cd.Err() != nil {
				d.Fail(cd.Err())
			}
		}
		if v >= 3 {
			DecodeCryptoKey(d) // pending key
		}
		if d.Err() != nil {
			break
		}
		kr.Add(name, key)
		for s, c := range caps {
			kr.SetCaps(name, s, c)
		}
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	if d.Remaining() != 0 {
		return nil, errors.New("trailing bytes")
	}
	return kr, nil
}

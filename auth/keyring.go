package auth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// ErrKeyring reports a keyring file that cannot be parsed.
var ErrKeyring = errors.New("auth: bad keyring")

// ErrNoKey reports that a keyring holds no key for an entity.
var ErrNoKey = errors.New("auth: no key for entity")

// KeyringEntry is one section of a keyring: an entity's key and its caps.
type KeyringEntry struct {
	Name EntityName
	Key  CryptoKey
	Caps map[string]string // service ("mon", "osd", ...) to cap string
}

// Keyring maps entity names to keys, as Ceph's KeyRing does.
type Keyring struct {
	entries map[EntityName]*KeyringEntry
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{entries: map[EntityName]*KeyringEntry{}} }

// Add sets name's key, keeping any caps it had.
func (k *Keyring) Add(name EntityName, key CryptoKey) {
	e := k.entries[name]
	if e == nil {
		e = &KeyringEntry{Name: name, Caps: map[string]string{}}
		k.entries[name] = e
	}
	e.Key = key
}

// SetCaps sets name's cap string for service, adding the entity if needed.
func (k *Keyring) SetCaps(name EntityName, service, caps string) {
	e := k.entries[name]
	if e == nil {
		e = &KeyringEntry{Name: name, Caps: map[string]string{}}
		k.entries[name] = e
	}
	e.Caps[service] = caps
}

// Key returns name's key, or an error matching ErrNoKey.
func (k *Keyring) Key(name EntityName) (CryptoKey, error) {
	if k != nil {
		if e := k.entries[name]; e != nil && !e.Key.IsZero() {
			return e.Key, nil
		}
	}
	return CryptoKey{}, fmt.Errorf("%w %s", ErrNoKey, name)
}

// Entry returns a copy of name's entry.
func (k *Keyring) Entry(name EntityName) (KeyringEntry, bool) {
	if k == nil || k.entries[name] == nil {
		return KeyringEntry{}, false
	}
	e := *k.entries[name]
	e.Caps = make(map[string]string, len(k.entries[name].Caps))
	for s, c := range k.entries[name].Caps {
		e.Caps[s] = c
	}
	return e, true
}

// Names lists the entities in the keyring, sorted.
func (k *Keyring) Names() []EntityName {
	var ns []EntityName
	for n := range k.entries {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].String() < ns[j].String() })
	return ns
}

// LoadKeyring reads a keyring file (see ParseKeyring).
func LoadKeyring(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKeyring parses the plain-text keyring format Ceph writes:
//
//	[client.admin]
//		key = AQ...==
//		caps mon = "allow *"
//
// The binary format (keyring.bin) is accepted too. Like Ceph's KeyRing the
// text parser skips a [global] section, accepts '#' and ';'
// comments and backslash continuations, treats '_' in field names as a
// space, and refuses a bad entity name, a bad key or an unknown field.
func ParseKeyring(data []byte) (*Keyring, error) {
	if len(data) > 0 && data[0] != '[' {
		// Ceph tries the binary format first (keyring.bin).
		if k, err := parseBinaryKeyring(data); err == nil {
			return k, nil
		}
	}
	k := NewKeyring()
	var cur *EntityName
	skip := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	var pending string
	for sc.Scan() {
		lineNo++
		line := pending + sc.Text()
		pending = ""
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSuffix(line, "\\")
			continue
		}
		line = strings.TrimSpace(stripComment(line))
		if line == "" {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 || strings.TrimSpace(line[end+1:]) != "" {
				return nil, fmt.Errorf("%w: line %d: bad section header", ErrKeyring, lineNo)
			}
			sect := strings.TrimSpace(line[1:end])
			skip = sect == "global"
			cur = nil
			if skip {
				continue
			}
			n, err := ParseEntityName(sect)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrKeyring, lineNo, err)
			}
			cur = &n
			if k.entries[n] == nil {
				k.entries[n] = &KeyringEntry{Name: n, Caps: map[string]string{}}
			}
			continue
		}
		if skip {
			continue
		}
		field, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: expected 'name = value'", ErrKeyring, lineNo)
		}
		if cur == nil {
			return nil, fmt.Errorf("%w: line %d: field outside a section", ErrKeyring, lineNo)
		}
		field = normalizeField(field)
		val, err := unquote(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrKeyring, lineNo, err)
		}
		switch {
		case field == "key":
			key, err := ParseKey(val)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrKeyring, lineNo, err)
			}
			k.entries[*cur].Key = key
		case strings.HasPrefix(field, "caps "):
			k.entries[*cur].Caps[strings.TrimPrefix(field, "caps ")] = val
		case field == "auid":
			// Deprecated; Ceph still accepts and ignores it.
		default:
			return nil, fmt.Errorf("%w: line %d: unknown field %q", ErrKeyring, lineNo, field)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyring, err)
	}
	return k, nil
}

// ParseKeyFile parses a key file (--keyfile): the base64 key alone.
func ParseKeyFile(data []byte) (CryptoKey, error) {
	return ParseKey(strings.TrimSpace(string(data)))
}

// Marshal writes k in the plain-text format, entities and caps sorted.
func (k *Keyring) Marshal() []byte {
	var b bytes.Buffer
	for _, n := range k.Names() {
		e := k.entries[n]
		fmt.Fprintf(&b, "[%s]\n", n)
		if !e.Key.IsZero() {
			fmt.Fprintf(&b, "\tkey = %s\n", e.Key.String())
		}
		var svcs []string
		for s := range e.Caps {
			svcs = append(svcs, s)
		}
		sort.Strings(svcs)
		for _, s := range svcs {
			fmt.Fprintf(&b, "\tcaps %s = \"%s\"\n", s, capsEscaper.Replace(e.Caps[s]))
		}
	}
	return b.Bytes()
}

// capsEscaper escapes what unquote unescapes.
var capsEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// stripComment drops a '#' or ';' comment that is not inside quotes.
func stripComment(s string) string {
	inQ := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQ = !inQ
		case '#', ';':
			if !inQ {
				return s[:i]
			}
		}
	}
	return s
}

func normalizeField(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", " ")
	return strings.Join(strings.Fields(s), " ")
}

func unquote(v string) (string, error) {
	if !strings.HasPrefix(v, "\"") {
		return v, nil
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i+1 < len(v) {
				i++
				b.WriteByte(v[i])
			}
		case '"':
			if strings.TrimSpace(v[i+1:]) != "" {
				return "", errors.New("text after closing quote")
			}
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quote")
}

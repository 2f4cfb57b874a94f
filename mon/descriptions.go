// Package mon is the monitor side of the client path: turning ceph CLI
// words into the JSON commands a monitor runs, as the ceph CLI does it
// (src/pybind/ceph_argparse.py), and MonClient.
package mon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Command flags (ceph_argparse.Flag, MonCommand.h).
const (
	FlagNoForward  = 1 << 0
	FlagObsolete   = 1 << 1
	FlagDeprecated = 1 << 2
	FlagMgr        = 1 << 3
	FlagPoll       = 1 << 4
	FlagHidden     = 1 << 5
)

// ErrDescriptions reports command descriptions that do not parse.
var ErrDescriptions = errors.New("mon: bad command descriptions")

// MaxDescriptionsSize bounds the get_command_descriptions answer accepted.
const MaxDescriptionsSize = 16 << 20

// ArgDesc is one element of a command signature: a fixed word (Type
// CephPrefix) or a typed argument.
type ArgDesc struct {
	Type      string   // CephPrefix, CephInt, CephString, ...
	Name      string   // the JSON key ("prefix" for fixed words)
	N         bool     // n = "N": one or more
	Count     int      // how many, when not N
	Req       bool     // required
	Prefix    string   // CephPrefix: the word
	Strings   []string // CephChoices / CephBool: the allowed words
	Range     string   // CephInt / CephFloat: "min" or "min|max"
	GoodChars string   // CephString: a regexp character class

	intRange []*big.Int
	fltRange []float64
	goodset  *[128]bool // nil: any characters
}

// Command is one signature of get_command_descriptions.
type Command struct {
	Tag    string // "cmd042": the key, in the order the mon sent them
	Sig    []ArgDesc
	Help   string
	Module string
	Perm   string
	Flags  int
}

// Descriptions is the parsed answer to get_command_descriptions, in the
// mon's order (the order matters for ties, as in Python's dict).
type Descriptions struct {
	Commands []Command
}

// knownTypes are the argument types ceph_argparse defines.
var knownTypes = map[string]bool{
	"CephPrefix": true, "CephInt": true, "CephFloat": true, "CephString": true,
	"CephSocketpath": true, "CephIPAddr": true, "CephEntityAddr": true, "CephPoolname": true,
	"CephObjectname": true, "CephPgid": true, "CephName": true, "CephOsdName": true,
	"CephChoices": true, "CephBool": true, "CephFilepath": true, "CephFragment": true,
	"CephUUID": true,
}

// ParseDescriptions parses a get_command_descriptions answer for the
// "cli" consumer (commands whose avail excludes "cli" are dropped).
func ParseDescriptions(data []byte) (*Descriptions, error) {
	if len(data) > MaxDescriptionsSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrDescriptions, len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a JSON object", ErrDescriptions)
	}
	ds := &Descriptions{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDescriptions, err)
		}
		tag, _ := t.(string)
		var raw struct {
			Sig    []json.RawMessage `json:"sig"`
			Help   string            `json:"help"`
			Module string            `json:"module"`
			Perm   string            `json:"perm"`
			Flags  json.Number       `json:"flags"`
			Avail  *string           `json:"avail"`
		}
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrDescriptions, tag, err)
		}
		if raw.Sig == nil {
			return nil, fmt.Errorf("%w: %s has no 'sig'", ErrDescriptions, tag)
		}
		if raw.Avail != nil && !strings.Contains(*raw.Avail, "cli") {
			continue
		}
		c := Command{Tag: tag, Help: raw.Help, Module: raw.Module, Perm: raw.Perm}
		if raw.Flags != "" {
			f, err := raw.Flags.Int64()
			if err != nil {
				return nil, fmt.Errorf("%w: %s: flags %q", ErrDescriptions, tag, raw.Flags)
			}
			c.Flags = int(f)
		}
		for _, rs := range raw.Sig {
			a, err := parseArgDesc(rs)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrDescriptions, tag, err)
			}
			c.Sig = append(c.Sig, a)
		}
		ds.Commands = append(ds.Commands, c)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDescriptions, err)
	}
	return ds, nil
}

// jsonScalar reads a descriptor field that Ceph sends as a string but that
// could be a number or a boolean.
func jsonScalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

func parseArgDesc(rs json.RawMessage) (ArgDesc, error) {
	var word string
	if json.Unmarshal(rs, &word) == nil {
		return ArgDesc{Type: "CephPrefix", Name: "prefix", Prefix: word, Req: true, Count: 1}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(rs))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return ArgDesc{}, fmt.Errorf("descriptor %s: %v", rs, err)
	}
	field := func(k string) (string, bool) {
		v, ok := m[k]
		if !ok {
			return "", false
		}
		return jsonScalar(v)
	}
	a := ArgDesc{Req: true, Count: 1}
	var ok bool
	if a.Type, ok = field("type"); !ok {
		return a, fmt.Errorf("descriptor %s has no type", rs)
	}
	if !knownTypes[a.Type] {
		return a, fmt.Errorf("unknown type %s", a.Type)
	}
	a.Name, _ = field("name")
	if n, ok := field("n"); ok {
		if n == "n" || n == "N" {
			a.N = true
		} else if c, err := strconv.Atoi(n); err == nil && c >= 0 && c <= 1000 {
			a.Count = c
		} else {
			return a, fmt.Errorf("%s: bad n %q", a.Name, n)
		}
	}
	if r, ok := field("req"); ok {
		a.Req = r == "True" || r == "true"
	}
	if a.Type == "CephPrefix" {
		a.Prefix, _ = field("prefix")
		a.Req = true
	}
	if s, ok := field("strings"); ok {
		a.Strings = strings.Split(s, "|")
	} else if a.Type == "CephChoices" || a.Type == "CephBool" {
		a.Strings = []string{""}
	}
	a.Range, _ = field("range")
	a.GoodChars, _ = field("goodchars")
	if a.Range != "" {
		for _, part := range strings.Split(a.Range, "|") {
			switch a.Type {
			case "CephInt":
				v, ok := pyInt(part)
				if !ok {
					return a, fmt.Errorf("%s: bad range %q", a.Name, a.Range)
				}
				a.intRange = append(a.intRange, v)
			case "CephFloat":
				v, ok := pyFloat(part)
				if !ok {
					return a, fmt.Errorf("%s: bad range %q", a.Name, a.Range)
				}
				a.fltRange = append(a.fltRange, v)
			}
		}
	}
	if a.Type == "CephString" && a.GoodChars != "" {
		re, err := regexp.Compile(a.GoodChars)
		if err != nil {
			return a, fmt.Errorf("%s: goodchars %q: %v", a.Name, a.GoodChars, err)
		}
		// Python: the printable ASCII characters the class matches.
		var set [128]bool
		any := false
		for c := 0; c < 128; c++ {
			if isPyPrintable(byte(c)) && re.MatchString(string(rune(c))) {
				set[c] = true
				any = true
			}
		}
		if any {
			a.goodset = &set
		}
	}
	return a, nil
}

// isPyPrintable is membership of Python's string.printable.
func isPyPrintable(c byte) bool {
	return c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// String gives the descriptor as ceph_argparse's helpstr does, for usage
// messages.
func (a ArgDesc) String() string {
	var s string
	switch a.Type {
	case "CephBool":
		s = "--" + strings.ReplaceAll(a.Name, "_", "-")
	case "CephPrefix":
		s = a.Prefix
	case "CephChoices":
		s = strings.Join(a.Strings, "|")
		if a.Name == "format" {
			s = "--format {" + s + "}"
		}
	case "CephOsdName":
		s = "<id|osd.id>"
	case "CephName":
		s = "<type.id>"
	case "CephInt":
		s = "<" + a.Name + ":int>"
	case "CephFloat":
		s = "<" + a.Name + ":float>"
	default:
		s = "<" + a.Name + ">"
	}
	if a.N {
		s += "..."
	}
	if !a.Req {
		s = "[" + s + "]"
	}
	return s
}

// Usage is the command's concise signature ("osd pool create <pool> ...").
func (c *Command) Usage() string {
	parts := make([]string, len(c.Sig))
	for i, a := range c.Sig {
		parts[i] = a.String()
	}
	return strings.Join(parts, " ")
}

// pyInt parses as Python's int(s, 0): optional sign, 0x/0o/0b prefixes,
// underscores between digits, no leading zeros in decimal, surrounding
// white space allowed.
func pyInt(s string) (*big.Int, bool) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if len(s) > 1 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 10 {
			s = s[2:]
			if strings.HasPrefix(s, "_") {
				s = s[1:] // int("0x_1f", 0) is allowed
			}
		}
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return nil, false
	}
	digits := strings.ReplaceAll(s, "_", "")
	if base == 10 && len(digits) > 1 && digits[0] == '0' && strings.Trim(digits, "0") != "" {
		return nil, false // "010" is not an int to Python; "00" is 0
	}
	if len(digits) > 4300 { // Python's int max str digits
		return nil, false
	}
	v, ok := new(big.Int).SetString(digits, base)
	if !ok {
		return nil, false
	}
	if neg {
		v.Neg(v)
	}
	return v, true
}

// pyFloat parses as Python's float(s).
func pyFloat(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	l := strings.ToLower(strings.TrimLeft(s, "+-"))
	switch l {
	case "inf", "infinity", "nan":
		f, _ := strconv.ParseFloat(strings.Replace(strings.ToLower(s), "infinity", "inf", 1), 64)
		return f, true
	}
	if s == "" || strings.ContainsAny(s, "xXpP") {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && (i == 0 || i == len(s)-1 || !isDigit(s[i-1]) || !isDigit(s[i+1])) {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, true // Python gives inf or 0 on overflow / underflow
		}
		return 0, false
	}
	return f, !math.IsNaN(f) || l == "nan"
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

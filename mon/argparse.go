package mon

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalidCommand is matched by every *CommandError.
var ErrInvalidCommand = errors.New("mon: invalid command")

// CommandError reports words that match no command, or match one with a
// bad argument. Its text is what the ceph CLI prints.
type CommandError struct {
	NoMatch bool     // no signature matched
	Msg     string   // the argument error ("missing required parameter ...")
	Usage   string   // the matched command's signature
	Help    string   // and its help
	Closest []string // NoMatch: up to 10 closest signatures
}

func (e *CommandError) Error() string {
	if e.NoMatch {
		s := fmt.Sprintf("no valid command found; %d closest matches:", len(e.Closest))
		for _, c := range e.Closest {
			s += "\n" + c
		}
		return s
	}
	return fmt.Sprintf("Invalid command: %s\n%s :  %s", e.Msg, e.Usage, e.Help)
}

// Is makes a CommandError match ErrInvalidCommand.
func (e *CommandError) Is(target error) bool { return target == ErrInvalidCommand }

// argError kinds, as ceph_argparse's exception classes.
type argKind int

const (
	kindPrefix  argKind = iota // ArgumentPrefix
	kindMissing                // ArgumentMissing
	kindTooFew                 // ArgumentTooFew
	kindOther                  // ArgumentNumber, ArgumentFormat, ArgumentValid, ArgumentError
)

type argError struct {
	kind argKind
	msg  string
}

func (e *argError) Error() string { return e.msg }

func argErr(kind argKind, format string, args ...any) *argError {
	return &argError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Value is a validated argument as ceph_argparse keeps it; it marshals to
// JSON as Python's json.dumps writes it.
type Value struct {
	kind byte // 's' string, 'i' int, 'f' float, 'b' bool, 'l' list
	s    string
	i    *big.Int
	f    float64
	b    bool
	list []Value
}

// Args is the ordered dictionary a command becomes: "prefix" first, then
// the arguments in signature order, as Python's dict keeps them.
type Args struct {
	keys []string
	vals map[string]Value
}

func (a *Args) set(k string, v Value) {
	if a.vals == nil {
		a.vals = map[string]Value{}
	}
	if _, ok := a.vals[k]; !ok {
		a.keys = append(a.keys, k)
	}
	a.vals[k] = v
}

// Get returns the value of key k.
func (a *Args) Get(k string) (Value, bool) {
	v, ok := a.vals[k]
	return v, ok
}

// Keys returns the keys in order.
func (a *Args) Keys() []string { return append([]string(nil), a.keys...) }

// SetString adds or replaces a string argument (e.g. "format").
func (a *Args) SetString(k, v string) { a.set(k, Value{kind: 's', s: v}) }

// JSON returns the command as the ceph CLI sends it (json.dumps of the
// dict: ", " and ": " separators, non-ASCII escaped).
func (a *Args) JSON() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range a.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		pyString(&b, k)
		b.WriteString(": ")
		a.vals[k].write(&b)
	}
	b.WriteByte('}')
	return b.String()
}

// String returns the value's JSON.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v Value) write(b *strings.Builder) {
	switch v.kind {
	case 's':
		pyString(b, v.s)
	case 'i':
		b.WriteString(v.i.String())
	case 'f':
		b.WriteString(pyFloatRepr(v.f))
	case 'b':
		b.WriteString(strconv.FormatBool(v.b))
	case 'l':
		b.WriteByte('[')
		for i, x := range v.list {
			if i > 0 {
				b.WriteString(", ")
			}
			x.write(b)
		}
		b.WriteByte(']')
	}
}

// pyString writes s as json.dumps does with ensure_ascii.
func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r >= 0x20 && r < 0x7f {
				b.WriteRune(r)
			} else if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloatRepr formats f as Python's repr (and json.dumps) does.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	if decpt := exp + 1; decpt > -4 && decpt <= 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	sign := "+"
	if exp < 0 {
		sign, exp = "-", -exp
	}
	return fmt.Sprintf("%se%s%02d", mant, sign, exp)
}

// ParseCommand turns ceph CLI words into the command the ceph CLI sends,
// by matching them against the mon's signatures exactly as
// ceph_argparse.validate_command does. Commands handled by the mgr come
// back with "target": ["mon-mgr", ""], as the CLI adds it; format, when
// not empty, is added as the CLI's -f does.
func (ds *Descriptions) ParseCommand(words []string, format string) (*Args, *Command, error) {
	bestCnt := 0.0
	var best []*Command
	for i := range ds.Commands {
		c := &ds.Commands[i]
		if c.Flags&FlagObsolete != 0 {
			continue
		}
		matched := float64(matchnum(words, c.Sig, true))
		if matched >= math.Floor(bestCnt) && matched == float64(matchnum(words, c.Sig, false)) {
			matched += 0.5 // prefer full matches over partial ones
		}
		if matched < bestCnt {
			continue
		}
		if matched > bestCnt {
			bestCnt = matched
			best = []*Command{c}
		} else {
			best = append(best, c)
		}
	}
	sorted := append([]*Command(nil), best...)
	sort.SliceStable(sorted, func(i, j int) bool { return reqCount(sorted[i]) < reqCount(sorted[j]) })

	var found *Command
	var ex *argError
	var args *Args
	for _, c := range sorted {
		d, err := validate(words, c.Sig, c.Flags)
		if err == nil {
			args, found = d, c
			break
		}
		switch err.kind {
		case kindPrefix:
			continue
		case kindMissing:
			ex = err
			if len(best) == 1 {
				found = c
			}
		case kindTooFew:
			continue
		default:
			ex, found = err, c
		}
		break
	}
	if found != nil && args == nil {
		msg := ""
		if ex != nil {
			msg = ex.msg
		}
		return nil, found, &CommandError{Msg: msg, Usage: found.Usage(), Help: found.Help}
	}
	if found == nil {
		ce := &CommandError{NoMatch: true}
		for _, c := range best {
			if c.Flags&(FlagDeprecated|FlagHidden) == 0 && len(ce.Closest) < 10 {
				ce.Closest = append(ce.Closest, c.Usage())
			}
		}
		return nil, nil, ce
	}
	if format != "" {
		args.SetString("format", format)
	}
	return args, found, nil
}

func reqCount(c *Command) int {
	n := 0
	for _, a := range c.Sig {
		if a.Req {
			n++
		}
	}
	return n
}

// descState is the part of an argdesc that validation mutates (Python
// deep-copies the signature for it).
type descState struct {
	n       int
	numseen int
}

func newStates(sig []ArgDesc) []descState {
	st := make([]descState, len(sig))
	for i, a := range sig {
		st[i].n = a.Count
		if a.N {
			st[i].n = 1
		}
	}
	return st
}

// validateOne is ceph_argparse.validate_one.
func validateOne(word string, a *ArgDesc, st *descState, isKwarg, partial bool) ([]Value, *argError) {
	var vals []Value
	if a.N && (isKwarg || a.Type != "CephString") {
		for _, part := range strings.Split(word, ",") {
			v, err := a.valid(part, partial)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
	} else {
		v, err := a.valid(word, partial)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	st.numseen++
	if a.N {
		st.n = st.numseen + 1
	}
	return vals, nil
}

// matchnum is ceph_argparse.matchnum.
func matchnum(args []string, sig []ArgDesc, partial bool) int {
	words := args
	st := newStates(sig)
	cnt := 0
	for i := range sig {
		a := &sig[i]
		for st[i].numseen < st[i].n {
			if len(words) == 0 {
				return cnt
			}
			word := words[0]
			words = words[1:]
			_, err := validateOne(word, a, &st[i], false, partial && len(words) == 0)
			if err != nil {
				if !a.Req {
					words = append([]string{word}, words...)
					break
				}
				return cnt
			}
		}
		if a.Req {
			cnt++
		}
	}
	return cnt
}

func storeArg(a *ArgDesc, vals []Value, d *Args) {
	switch {
	case a.N:
		if old, ok := d.vals[a.Name]; ok && old.kind == 'l' {
			d.set(a.Name, Value{kind: 'l', list: append(append([]Value(nil), old.list...), vals...)})
		} else {
			d.set(a.Name, Value{kind: 'l', list: vals})
		}
	case a.Type == "CephPrefix":
		if old, ok := d.vals[a.Name]; ok {
			d.set(a.Name, Value{kind: 's', s: old.s + " " + vals[len(vals)-1].s})
		} else {
			d.set(a.Name, vals[len(vals)-1])
		}
	default:
		d.set(a.Name, vals[len(vals)-1])
	}
}

// kwarg splits "--key=value" (value non-empty, up to a newline, as
// Python's '.') or "--key" into the key with dashes as underscores.
func kwarg(s string) (key, val string, hasVal, ok bool) {
	if !strings.HasPrefix(s, "--") {
		return "", "", false, false
	}
	rest := s[2:]
	if i := strings.IndexByte(rest, '='); i > 0 {
		v := rest[i+1:]
		if nl := strings.IndexByte(v, '\n'); nl >= 0 {
			v = v[:nl]
		}
		if v != "" {
			return strings.ReplaceAll(rest[:i], "-", "_"), v, true, true
		}
	}
	end := strings.IndexByte(rest, '=')
	if end < 0 {
		end = len(rest)
	}
	if end == 0 {
		return "", "", false, false
	}
	return strings.ReplaceAll(rest[:end], "-", "_"), "", false, true
}

// validate is ceph_argparse.validate with partial false.
func validate(args []string, sig []ArgDesc, flags int) (*Args, *argError) {
	words := append([]string(nil), args...)
	st := newStates(sig)
	reqLen := 0
	byName := map[string]int{}
	for i, a := range sig {
		if a.Req {
			reqLen++
		}
		if a.Type != "CephPrefix" {
			byName[a.Name] = i
		}
	}
	injectargs := len(words) > 0 && words[0] == "injectargs"
	d := &Args{}
	cnt := 0
	var saved *argError
	var savedWord string
	for i := range sig {
		a := &sig[i]
		st[i].numseen = 0
		for st[i].numseen < st[i].n {
			have := len(words) > 0
			var arg string
			if have {
				arg, words = words[0], words[1:]
			}
			if !have {
				if !a.Req {
					break
				}
				if _, ok := d.vals[a.Name]; ok {
					break
				}
			}
			if have && arg != "" {
				if key, val, hasVal, ok := kwarg(arg); ok {
					if j, found := byName[key]; found {
						kd := &sig[j]
						use := true
						if !hasVal {
							switch {
							case kd.Type == "CephBool":
								val = "true"
							case len(words) > 0:
								val, words = words[0], words[1:]
							default:
								use = false
							}
						}
						if use {
							vals, err := validateOne(val, kd, &st[j], true, false)
							if err != nil {
								return nil, err
							}
							cnt++
							storeArg(kd, vals, d)
							continue
						}
					}
				}
			}
			if have && strings.HasPrefix(arg, "--") {
				isValue := a.Type == "CephChoices" || injectargs ||
					arg == "--yes-i-really-mean-it" || arg == "--yes-i-really-really-mean-it" ||
					arg == "--yes-i-really-really-mean-it-not-faking" || arg == "--force"
				if !isValue {
					return nil, argErr(kindOther, "Unexpected argument '%s'", arg)
				}
			}
			if !have && a.Req {
				if a.N && st[i].numseen < 1 {
					return nil, argErr(kindOther, "saw %d of %s, expected at least 1", st[i].numseen, a.pyStr())
				} else if !a.N && st[i].numseen < st[i].n {
					if st[i].numseen == 0 && st[i].n == 1 {
						return nil, argErr(kindMissing, "missing required parameter %s", a.pyStr())
					}
					return nil, argErr(kindOther, "saw %d of %s, expected %d", st[i].numseen, a.pyStr(), st[i].n)
				}
				break
			}
			vals, err := validateOne(arg, a, &st[i], false, false)
			if err != nil {
				if !a.Req {
					saved, savedWord = err, arg
					words = append([]string{arg}, words...)
					break
				}
				return nil, err
			}
			cnt++
			storeArg(a, vals, d)
			saved = nil
		}
	}
	if cnt < reqLen {
		return nil, argErr(kindTooFew, "not enough arguments given")
	}
	if len(words) > 0 {
		msg := "unused arguments: " + pyList(words)
		if saved != nil {
			msg = fmt.Sprintf("%s (%s not valid: %s)", msg, savedWord, saved.msg)
		}
		return nil, argErr(kindOther, "%s", msg)
	}
	if flags&FlagMgr != 0 {
		d.set("target", Value{kind: 'l', list: []Value{{kind: 's', s: "mon-mgr"}, {kind: 's', s: ""}}})
	}
	if flags&FlagPoll != 0 {
		d.set("poll", Value{kind: 'b', b: true})
	}
	return d, nil
}

// pyList formats words as Python prints a list of strings.
func pyList(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(w, `\`, `\\`), "'", `\'`) + "'"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyStr is argdesc.__str__, used in argument error messages.
func (a *ArgDesc) pyStr() string {
	var s string
	if a.Type == "CephPrefix" || a.Type == "CephChoices" && len(a.Strings) == 1 {
		s = a.typeStr()
	} else {
		s = a.Name + "(" + a.typeStr() + ")"
		if a.N {
			s += "..."
		}
	}
	if !a.Req {
		s = "[" + s + "]"
	}
	return s
}

func (a *ArgDesc) typeStr() string {
	switch a.Type {
	case "CephPrefix":
		return a.Prefix
	case "CephChoices":
		return strings.Join(a.Strings, "|")
	case "CephInt", "CephFloat":
		t := "int"
		if a.Type == "CephFloat" {
			t = "float"
		}
		parts := strings.Split(a.Range, "|")
		switch {
		case a.Range == "":
			return "<" + t + ">"
		case len(parts) == 1:
			return "<" + t + "[" + parts[0] + "-]>"
		default:
			return "<" + t + "[" + parts[0] + "-" + parts[1] + "]>"
		}
	case "CephString":
		if a.GoodChars != "" {
			return "<string(goodchars " + a.GoodChars + ")>"
		}
		return "<string>"
	case "CephBool":
		return "<bool>"
	case "CephPoolname":
		return "<poolname>"
	case "CephObjectname":
		return "<objectname>"
	case "CephPgid":
		return "<pgid>"
	case "CephName":
		return "<name (type.id)>"
	case "CephOsdName":
		return "<osdname (id|osd.id)>"
	case "CephUUID":
		return "<uuid>"
	case "CephIPAddr":
		return "<IPaddr[:port]>"
	case "CephEntityAddr":
		return "<EntityAddr>"
	case "CephFilepath":
		return "<outfilename>"
	case "CephSocketpath":
		return "<admin-socket-path>"
	}
	return "<" + a.Type + ">"
}

// valid is CephArgtype.valid for each type: the validated value or the
// error ceph_argparse raises.
func (a *ArgDesc) valid(s string, partial bool) (Value, *argError) {
	str := Value{kind: 's', s: s}
	switch a.Type {
	case "CephPrefix":
		if partial && strings.HasPrefix(a.Prefix, s) || !partial && s == a.Prefix {
			return str, nil
		}
		return Value{}, argErr(kindPrefix, "no match for %s", s)
	case "CephChoices":
		for _, t := range a.Strings {
			if partial && strings.HasPrefix(t, s) || !partial && s == t {
				return str, nil
			}
		}
		return Value{}, argErr(kindOther, "%s not in %s", s, a.typeStr())
	case "CephInt":
		v, ok := pyInt(s)
		if !ok {
			return Value{}, argErr(kindOther, "%s doesn't represent an int", s)
		}
		r := a.intRange
		if len(r) >= 2 && (v.Cmp(r[0]) < 0 || v.Cmp(r[1]) > 0) || len(r) == 1 && v.Cmp(r[0]) < 0 {
			return Value{}, argErr(kindOther, "%s not in range %s", v, intRangeStr(r))
		}
		return Value{kind: 'i', i: v}, nil
	case "CephFloat":
		v, ok := pyFloat(s)
		if !ok {
			return Value{}, argErr(kindOther, "%s doesn't represent a float", s)
		}
		r := a.fltRange
		if len(r) >= 2 && (v < r[0] || v > r[1]) || len(r) == 1 && v < r[0] {
			return Value{}, argErr(kindOther, "%s not in range %s", pyFloatRepr(v), fltRangeStr(r))
		}
		return Value{kind: 'f', f: v}, nil
	case "CephString":
		if a.goodset != nil {
			for _, r := range s {
				if r >= 128 || !a.goodset[r] {
					return Value{}, argErr(kindOther, "invalid chars %c in %s", r, s)
				}
			}
		}
		return str, nil
	case "CephBool":
		switch strings.ToLower(s) {
		case "true", "1":
			return Value{kind: 'b', b: true}, nil
		case "false", "0":
			return Value{kind: 'b', b: false}, nil
		}
		return Value{}, argErr(kindOther, "%s not one of 'true', 'false'", s)
	case "CephPoolname", "CephObjectname":
		return str, nil
	case "CephPgid":
		pool, pgnum, ok := strings.Cut(s, ".")
		if !ok {
			return Value{}, argErr(kindOther, "pgid has no .")
		}
		p, ok := pyIntBase10(pool)
		if !ok {
			return Value{}, argErr(kindOther, "pool %s not integer", pool)
		}
		if p.Sign() < 0 {
			return Value{}, argErr(kindOther, "pool %s < 0", pool)
		}
		if !pyIntBase16(pgnum) {
			return Value{}, argErr(kindOther, "pgnum %s not hex integer", pgnum)
		}
		return str, nil
	case "CephName":
		if s == "*" || s == "mgr" || s == "mon" {
			return str, nil
		}
		t, id, ok := strings.Cut(s, ".")
		if !ok {
			return Value{}, argErr(kindOther, "CephName: no . in %s", s)
		}
		switch t {
		case "osd", "mon", "client", "mds", "mgr":
		default:
			return Value{}, argErr(kindOther, "unknown type %s", t)
		}
		if t == "osd" && id != "*" {
			if _, ok := pyIntBase10(id); !ok {
				return Value{}, argErr(kindOther, "osd id %s not integer", id)
			}
		}
		return str, nil
	case "CephOsdName":
		if s == "*" {
			return str, nil
		}
		id := s
		if t, rest, ok := strings.Cut(s, "."); ok {
			if t != "osd" {
				return Value{}, argErr(kindOther, "unknown type %s", t)
			}
			id = rest
		}
		v, ok := pyIntBase10(id)
		if !ok {
			return Value{}, argErr(kindOther, "osd id %s not integer", id)
		}
		if v.Sign() < 0 {
			return Value{}, argErr(kindOther, "osd id %s is less than 0", v)
		}
		return Value{kind: 'i', i: v}, nil
	case "CephUUID":
		if !pyUUID(s) {
			return Value{}, argErr(kindOther, "invalid UUID %s", s)
		}
		return str, nil
	case "CephIPAddr":
		if err := validIPAddr(s); err != nil {
			return Value{}, err
		}
		return str, nil
	case "CephEntityAddr":
		ip, nonce, hasNonce := s, "", false
		if strings.Contains(s, "/") {
			parts := strings.Split(s, "/")
			if len(parts) != 2 {
				return Value{}, argErr(kindOther, "%s: too many /", s)
			}
			ip, nonce, hasNonce = parts[0], parts[1], true
			if strings.HasSuffix(nonce, "]") {
				nonce, ip = nonce[:len(nonce)-1], ip+"]"
			}
		}
		if err := validIPAddr(ip); err != nil {
			return Value{}, err
		}
		if hasNonce && nonce != "" {
			if n, ok := pyIntBase10(nonce); !ok || n.Sign() < 0 {
				return Value{}, argErr(kindOther, "%s: invalid entity, nonce %s not integer > 0", s, nonce)
			}
		}
		return str, nil
	case "CephFilepath":
		p, err := filepath.Abs(s)
		if err != nil {
			return Value{}, argErr(kindOther, "%s: %v", s, err)
		}
		if _, err := os.Stat(p); err != nil {
			if _, err := os.Stat(filepath.Dir(p)); err != nil {
				return Value{}, argErr(kindOther, "cannot create file in %s", filepath.Dir(p))
			}
		}
		return Value{kind: 's', s: p}, nil
	case "CephSocketpath":
		fi, err := os.Stat(s)
		if err != nil || fi.Mode()&os.ModeSocket == 0 {
			return Value{}, argErr(kindOther, "socket path %s is not a socket", s)
		}
		return str, nil
	case "CephFragment":
		// ceph_argparse requires "0x..." and then parses it as base 10,
		// so no fragment ever validates; the CLI behaves the same.
		if !strings.Contains(s, "/") {
			return Value{}, argErr(kindOther, "%s: no /", s)
		}
		return Value{}, argErr(kindOther, "can't convert %s to integer", s)
	}
	return Value{}, argErr(kindOther, "unknown type %s", a.Type)
}

func intRangeStr(r []*big.Int) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = v.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func fltRangeStr(r []float64) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = pyFloatRepr(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyIntBase10 is Python's int(s) (base 10, leading zeros allowed).
func pyIntBase10(s string) (*big.Int, bool) {
	t := strings.TrimSpace(s)
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return nil, false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) && t[i] != '_' {
			return nil, false
		}
	}
	if len(t) > 4300 {
		return nil, false
	}
	return new(big.Int).SetString(sign+strings.ReplaceAll(t, "_", ""), 10)
}

// pyIntBase16 is whether Python's int(s, 16) accepts s.
func pyIntBase16(s string) bool {
	t := strings.TrimSpace(s)
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		t = strings.TrimPrefix(t[2:], "_")
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '_') {
			return false
		}
	}
	return true
}

// pyUUID is whether Python's uuid.UUID(s) accepts s.
func pyUUID(s string) bool {
	h := strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// validIPAddr is CephIPAddr.valid.
func validIPAddr(s string) *argError {
	v6 := true
	switch {
	case strings.HasPrefix(s, "v1:"):
		s, v6 = s[3:], false
	case strings.HasPrefix(s, "v2:"):
		s = s[3:]
	case strings.HasPrefix(s, "any:"):
		s, v6 = s[4:], false
	case strings.HasPrefix(s, "["):
	case strings.Contains(s, "."):
		v6 = false
	}
	port := ""
	var a string
	if !v6 {
		if i := strings.IndexByte(s, ':'); i >= 0 {
			a, port = s[:i], s[i+1:]
			p, ok := pyIntBase10(port)
			if !ok {
				return argErr(kindOther, "%s: bad port number", port)
			}
			if p.Cmp(big.NewInt(65535)) > 0 {
				return argErr(kindOther, "%s: invalid IPv4 port", port)
			}
		} else {
			a = s
		}
		if ip, err := netip.ParseAddr(a); err != nil || !ip.Is4() {
			return argErr(kindOther, "%s: invalid IPv4 address", a)
		}
		return nil
	}
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return argErr(kindOther, "%s missing terminating ]", s)
		}
		if end+1 < len(s) && s[end+1] == ':' {
			// ceph_argparse reads only the first digit of the port.
			if end+2 >= len(s) || !isDigit(s[end+2]) {
				return argErr(kindOther, "%s: bad port number", s)
			}
		} else if end+1 >= len(s) {
			return argErr(kindOther, "%s: bad port number", s) // Python's s[end+1] raises
		}
		a = s[1:end]
	} else {
		a = s
	}
	if ip, err := netip.ParseAddr(a); err != nil || !ip.Is6() || ip.Zone() != "" {
		return argErr(kindOther, "%s not valid IPv6 address", s)
	}
	return nil
}

// ParseJSONCommand checks a command given as JSON (the ceph CLI's raw
// form): an object with a string "prefix". It returns the JSON as given.
func ParseJSONCommand(s string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return "", &CommandError{Msg: "not a JSON object: " + err.Error(), Usage: "{\"prefix\": ...}"}
	}
	var prefix string
	if raw, ok := obj["prefix"]; !ok || json.Unmarshal(raw, &prefix) != nil || prefix == "" {
		return "", &CommandError{Msg: "JSON command has no string \"prefix\"", Usage: "{\"prefix\": ...}"}
	}
	if !utf8.ValidString(s) {
		return "", &CommandError{Msg: "JSON command is not UTF-8"}
	}
	return s, nil
}

// Target reports where the CLI would send the command: "mon", or
// "mon-mgr" for commands the mgr implements.
func (a *Args) Target() string {
	if v, ok := a.vals["target"]; ok && v.kind == 'l' && len(v.list) > 0 {
		return v.list[0].s
	}
	return "mon"
}

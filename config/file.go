// Package config reads Ceph configuration as Ceph's own tools do: ceph.conf
// files (src/common/ConfUtils.cc), per-entity section precedence, $meta
// variables, `mon host` in all its forms, and the command-line / CEPH_ARGS
// options that the ceph and rados CLIs share.
package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxFileSize bounds what ReadFile loads; Ceph's limit is 1 GiB, far more
// than any real configuration, so a smaller one guards against mistakes.
const MaxFileSize = 16 << 20

// ErrSyntax is matched (errors.Is) by every *ParseError.
var ErrSyntax = errors.New("config: syntax error")

// ParseError reports where a configuration file stopped making sense.
type ParseError struct {
	Line int // 1-based
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("config: line %d: %s", e.Line, e.Msg) }

// Is makes a ParseError match ErrSyntax.
func (e *ParseError) Is(target error) bool { return target == ErrSyntax }

// File is a parsed ceph.conf: sections of normalized keys. Later lines win
// over earlier ones with the same key, and a section that appears twice is
// merged, as in Ceph.
type File struct {
	sections map[string]map[string]string
}

// NewFile returns an empty File.
func NewFile() *File { return &File{sections: map[string]map[string]string{}} }

// NormalizeKey returns the form ConfFile::normalize_key_name gives a key
// in a file: trimmed, each run of white space turned into one underscore,
// so "mon host" and "mon_host" are one key. Dashes are not touched: Ceph
// ignores "mon-host = ..." in a file (checked with the real ceph CLI),
// while on a command line --mon-host and --mon_host are the same option
// (see OptionKey).
func NormalizeKey(k string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.TrimSpace(k) {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('_')
		}
		sep = false
		b.WriteRune(r)
	}
	return b.String()
}

// OptionKey is the canonical option name: NormalizeKey, and dashes as
// underscores (ceph_argparse's rule for command-line options).
func OptionKey(k string) string { return strings.ReplaceAll(NormalizeKey(k), "-", "_") }

// Sections returns the section names, sorted.
func (f *File) Sections() []string {
	names := make([]string, 0, len(f.sections))
	for n := range f.sections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns key's raw (unexpanded) value in one section.
func (f *File) Lookup(section, key string) (string, bool) {
	s := f.sections[section]
	if s == nil {
		return "", false
	}
	v, ok := s[NormalizeKey(key)]
	return v, ok
}

// Set stores a value, as if the file held the line.
func (f *File) Set(section, key, value string) {
	s := f.sections[section]
	if s == nil {
		s = map[string]string{}
		f.sections[section] = s
	}
	s[NormalizeKey(key)] = value
}

// Keys returns the normalized keys of a section, sorted.
func (f *File) Keys(section string) []string {
	s := f.sections[section]
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ReadFile parses the file at path.
func ReadFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("config: %s is %d bytes, more than %d: %w", path, st.Size(), MaxFileSize, ErrSyntax)
	}
	data := make([]byte, 0, st.Size()+1)
	buf := make([]byte, 32<<10)
	for {
		n, err := fh.Read(buf)
		data = append(data, buf[:n]...)
		if len(data) > MaxFileSize {
			return nil, fmt.Errorf("config: %s grew past %d bytes: %w", path, MaxFileSize, ErrSyntax)
		}
		if err != nil {
			break
		}
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse reads ceph.conf syntax: `[section]` headings, `key = value` lines,
// `#` and `;` comments (also after a value), values optionally in single
// or double quotes (a comment character must still be escaped inside
// quotes, and the value is trimmed, as in Ceph), `\x` escapes, and a
// trailing `\` continuing a line.
// Keys before the first heading are kept in section "global" (Ceph accepts
// them only in a file of one line; being lenient costs nothing).
func Parse(data []byte) (*File, error) {
	if !utf8.Valid(data) {
		line := 1 + strings.Count(string(data[:invalidUTF8At(data)]), "\n")
		return nil, &ParseError{Line: line, Msg: "invalid UTF-8"}
	}
	// Ceph's grammar ends every line, the last one included, with a
	// newline: a file without a final one does not parse (ceph-conf
	// agrees). An empty file is fine.
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, &ParseError{Line: 1 + strings.Count(string(data), "\n"), Msg: "no newline at the end of the file (Ceph refuses such a file)"}
	}
	f := NewFile()
	section := ""
	p := parser{s: string(data), line: 1}
	for !p.eof() {
		startLine := p.line
		p.blanks()
		switch c := p.peek(); {
		case c == '\n':
			p.next()
		case c == '#' || c == ';':
			p.skipComment()
		case c == '[':
			p.next()
			name, err := p.heading()
			if err != nil {
				return nil, err
			}
			section = name
			if f.sections[section] == nil {
				f.sections[section] = map[string]string{}
			}
		default:
			key, err := p.key()
			if err != nil {
				return nil, err
			}
			p.blanks()
			if p.peek() != '=' {
				return nil, &ParseError{Line: startLine, Msg: fmt.Sprintf("expected '=' after key %q", key)}
			}
			p.next()
			p.blanks()
			val, err := p.value()
			if err != nil {
				return nil, err
			}
			sec := section
			if sec == "" {
				sec = "global"
			}
			f.Set(sec, key, val)
		}
	}
	return f, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

type parser struct {
	s    string
	i    int
	line int
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

// peek returns the next byte after any line continuation ("\\\n" is
// invisible, as Ceph's skipper makes it), or '\n' at the end of input.
func (p *parser) peek() byte {
	p.continuations()
	if p.eof() {
		return '\n'
	}
	return p.s[p.i]
}

func (p *parser) next() {
	if p.eof() {
		return
	}
	if p.s[p.i] == '\n' {
		p.line++
	}
	p.i++
}

func (p *parser) continuations() {
	for {
		if strings.HasPrefix(p.s[p.i:], "\\\n") {
			p.i += 2
			p.line++
		} else if strings.HasPrefix(p.s[p.i:], "\\\r\n") {
			p.i += 3
			p.line++
		} else {
			return
		}
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

func (p *parser) blanks() {
	for !p.eof() && isBlank(p.peek()) {
		p.next()
	}
}

func (p *parser) skipComment() {
	for !p.eof() && p.s[p.i] != '\n' {
		p.i++
	}
}

// endOfLine accepts blanks, an optional comment, then a newline or EOF.
func (p *parser) endOfLine(what string) error {
	p.blanks()
	c := p.peek()
	if c == '#' || c == ';' {
		p.skipComment()
		c = p.peek()
	}
	if c != '\n' {
		return &ParseError{Line: p.line, Msg: fmt.Sprintf("unexpected %q after %s", c, what)}
	}
	if p.eof() {
		// Only a continuation can have eaten the final newline.
		return &ParseError{Line: p.line, Msg: "a continued line runs past the end of the file"}
	}
	p.next()
	return nil
}

// textChar reads one character of text: `\x` is x, a newline or comment
// start ends text. ok is false at the end of text.
func (p *parser) textChar() (c byte, ok bool) {
	c = p.peek()
	if p.eof() || c == '\n' || c == '#' || c == ';' {
		return 0, false
	}
	if c == '\\' && p.i+1 < len(p.s) && p.s[p.i+1] != '\n' {
		p.i++
		c = p.s[p.i]
		p.i++
		return c, true
	}
	p.next()
	return c, true
}

func (p *parser) heading() (string, error) {
	var b strings.Builder
	for {
		c := p.peek()
		if c == ']' {
			p.next()
			break
		}
		ch, ok := p.textChar()
		if !ok {
			return "", &ParseError{Line: p.line, Msg: "section name without ']'"}
		}
		b.WriteByte(ch)
	}
	if b.Len() == 0 {
		return "", &ParseError{Line: p.line, Msg: "empty section name"}
	}
	if err := p.endOfLine("section heading"); err != nil {
		return "", err
	}
	return b.String(), nil
}

// key reads words of text separated by blanks, stopping before '='.
func (p *parser) key() (string, error) {
	var b strings.Builder
	line := p.line
	for {
		c := p.peek()
		if c == '=' || c == '[' {
			break
		}
		if isBlank(c) {
			p.blanks()
			if p.peek() == '=' {
				break
			}
			b.WriteByte(' ')
			continue
		}
		ch, ok := p.textChar()
		if !ok {
			break
		}
		b.WriteByte(ch)
	}
	k := NormalizeKey(b.String())
	if k == "" {
		return "", &ParseError{Line: line, Msg: "expected a key, a [section] or a comment"}
	}
	return k, nil
}

func (p *parser) value() (string, error) {
	line := p.line
	if q := p.peek(); q == '"' || q == '\'' {
		p.next()
		var b strings.Builder
		for {
			if p.peek() == q {
				p.next()
				break
			}
			ch, ok := p.textChar()
			if !ok {
				return "", &ParseError{Line: line, Msg: fmt.Sprintf("unterminated %c-quoted value", q)}
			}
			b.WriteByte(ch)
		}
		if err := p.endOfLine("quoted value"); err != nil {
			return "", err
		}
		// Ceph trims every value, quoted or not (conf_line_t).
		return strings.TrimSpace(b.String()), nil
	}
	var b strings.Builder
	for {
		ch, ok := p.textChar()
		if !ok {
			break
		}
		b.WriteByte(ch)
	}
	if err := p.endOfLine("value"); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

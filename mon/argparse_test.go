package mon

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadDescriptions(t testing.TB) *Descriptions {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "descriptions.json"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ParseDescriptions(b)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

type capturedCommand struct {
	Args   []string `json:"args"`
	RC     int      `json:"rc"`
	JSON   string   `json:"json"`
	Audit  []string `json:"audit"`
	Stderr string   `json:"stderr"`
}

func loadCaptured(t testing.TB) []capturedCommand {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "commands.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []capturedCommand
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c capturedCommand
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) < 100 {
		t.Fatalf("only %d captured commands", len(out))
	}
	return out
}

// TestParseCommandMatchesCLI replays every command run through the real
// ceph CLI (testdata/commands.jsonl, made by capture-commands.py against
// a Pacific cluster whose descriptions are testdata/descriptions.json):
// the JSON must be byte for byte what the CLI sent, and words the CLI
// rejected must be rejected.
func TestParseCommandMatchesCLI(t *testing.T) {
	ds := loadDescriptions(t)
	for _, c := range loadCaptured(t) {
		name := strings.Join(c.Args, " ")
		format, words, err := SplitFormat(c.Args)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		args, cmd, err := ds.ParseCommand(words, format)
		if c.JSON == "" {
			if err == nil {
				t.Errorf("%s: the CLI rejected it, we produced %s", name, args.JSON())
			} else if !errors.Is(err, ErrInvalidCommand) {
				t.Errorf("%s: untyped error %v", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v; the CLI sent %s", name, err, c.JSON)
			continue
		}
		if got := args.JSON(); got != c.JSON {
			t.Errorf("%s:\n got %s\nwant %s", name, got, c.JSON)
		}
		if len(c.Audit) == 1 && c.Audit[0] != c.JSON {
			t.Errorf("%s: the mon logged %s", name, c.Audit[0])
		}
		wantTarget := "mon"
		if strings.Contains(c.JSON, `"target": ["mon-mgr", ""]`) {
			wantTarget = "mon-mgr"
		}
		if args.Target() != wantTarget || (wantTarget == "mon-mgr") != (cmd.Flags&FlagMgr != 0) {
			t.Errorf("%s: target %s flags %d", name, args.Target(), cmd.Flags)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	ds := loadDescriptions(t)
	tests := []struct {
		words   []string
		noMatch bool
		msg     string
	}{
		{[]string{"osd", "dumpx"}, true, ""},
		{[]string{"osd", "pool", "create"}, false, "missing required parameter pool(<poolname>)"},
		{[]string{"osd", "reweight", "0", "2.0"}, false, "2.0 not in range [0.0, 1.0]"},
		{[]string{"mon", "dump", "1", "2"}, false, "unused arguments: ['2']"},
		{[]string{"osd", "dump", "--bogus"}, false, "Unexpected argument '--bogus'"},
		{[]string{}, true, ""},
	}
	for _, tt := range tests {
		_, _, err := ds.ParseCommand(tt.words, "")
		var ce *CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%q: %v", tt.words, err)
			continue
		}
		if ce.NoMatch != tt.noMatch || !strings.HasPrefix(ce.Msg, tt.msg) {
			t.Errorf("%q: %+v", tt.words, ce)
		}
		if tt.noMatch && !strings.HasPrefix(ce.Error(), "no valid command found; ") {
			t.Errorf("%q: %s", tt.words, ce.Error())
		}
		if !tt.noMatch && (!strings.HasPrefix(ce.Error(), "Invalid command: "+tt.msg) || ce.Usage == "") {
			t.Errorf("%q: %s", tt.words, ce.Error())
		}
	}
	_, _, err := ds.ParseCommand([]string{"osd", "dumpx"}, "")
	var ce *CommandError
	if errors.As(err, &ce) && (len(ce.Closest) == 0 || len(ce.Closest) > 10) {
		t.Errorf("closest: %q", ce.Closest)
	}
}

func TestJSONFormatting(t *testing.T) {
	for f, want := range map[float64]string{
		1: "1.0", 0.5: "0.5", 0.01: "0.01", 1e16: "1e+16", 1e15: "1000000000000000.0",
		0.0001: "0.0001", 0.00001: "1e-05", -2.5e-7: "-2.5e-07", 123456789.125: "123456789.125",
	} {
		if got := pyFloatRepr(f); got != want {
			t.Errorf("pyFloatRepr(%v) = %s, want %s", f, got, want)
		}
	}
	a := &Args{}
	a.SetString("prefix", "x")
	a.SetString("s", "quote\" back\\ nl\n tab\t é 😀 \x01 \x7f")
	if got, want := a.JSON(), `{"prefix": "x", "s": "quote\" back\\ nl\n tab\t \u00e9 \ud83d\ude00 \u0001 \u007f"}`; got != want {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}
	a.SetString("prefix", "y") // replacing keeps the position
	if !strings.HasPrefix(a.JSON(), `{"prefix": "y", "s"`) {
		t.Error(a.JSON())
	}
}

func TestPyNumbers(t *testing.T) {
	for s, ok := range map[string]bool{
		"10": true, "0x1f": true, "0o17": true, "0b101": true, "-5": true, "+5": true, " 7 ": true,
		"1_000": true, "00": true, "010": false, "1__0": false, "_1": false, "": false, "abc": false, "0x": false,
	} {
		if _, got := pyInt(s); got != ok {
			t.Errorf("pyInt(%q) = %v", s, got)
		}
	}
	for s, ok := range map[string]bool{
		"1": true, "1.5": true, "1e3": true, "inf": true, "-Infinity": true, "nan": true, "1_0.5": true,
		"0x10": false, "": false, "1__0": false, "abc": false,
	} {
		if _, got := pyFloat(s); got != ok {
			t.Errorf("pyFloat(%q) = %v", s, got)
		}
	}
}

func TestSplitFormat(t *testing.T) {
	for _, tt := range []struct {
		in     []string
		format string
		rest   string
	}{
		{[]string{"osd", "tree", "-f", "json"}, "json", "osd tree"},
		{[]string{"-fjson-pretty", "status"}, "json-pretty", "status"},
		{[]string{"osd", "dump", "--format=json", "--format", "plain"}, "plain", "osd dump"},
		{[]string{"status"}, "", "status"},
	} {
		f, rest, err := SplitFormat(tt.in)
		if err != nil || f != tt.format || strings.Join(rest, " ") != tt.rest {
			t.Errorf("%q: %q %q %v", tt.in, f, rest, err)
		}
	}
	for _, in := range [][]string{{"status", "-f"}, {"-f", "html"}} {
		if _, _, err := SplitFormat(in); !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestParseJSONCommand(t *testing.T) {
	if s, err := ParseJSONCommand(`{"prefix": "osd dump", "format": "json"}`); err != nil || s == "" {
		t.Errorf("%q %v", s, err)
	}
	for _, bad := range []string{`[]`, `{"format": "json"}`, `{"prefix": 3}`, `{`} {
		if _, err := ParseJSONCommand(bad); !errors.Is(err, ErrInvalidCommand) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestParseDescriptionsErrors(t *testing.T) {
	for _, bad := range []string{
		`[]`, `{"cmd000": {"help": "x"}}`, `{"cmd000": {"sig": [{"name": "x"}]}}`,
		`{"cmd000": {"sig": [{"type": "CephNope", "name": "x"}]}}`,
		`{"cmd000": {"sig": [{"type": "CephInt", "name": "x", "range": "a"}]}}`,
		`{"cmd000": {"sig": [{"type": "CephString", "name": "x", "goodchars": "["}]}}`,
		`{"cmd000": {"sig": ["a"]}`,
	} {
		if _, err := ParseDescriptions([]byte(bad)); !errors.Is(err, ErrDescriptions) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	ds, err := ParseDescriptions([]byte(`{"cmd000": {"sig": ["a"], "avail": "rest"}, "cmd001": {"sig": ["b"], "flags": 2}}`))
	if err != nil || len(ds.Commands) != 1 || ds.Commands[0].Flags != FlagObsolete {
		t.Errorf("%+v %v", ds, err)
	}
	if _, _, err := ds.ParseCommand([]string{"b"}, ""); !errors.Is(err, ErrInvalidCommand) {
		t.Errorf("obsolete commands must not match: %v", err)
	}
}

package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

func TestNormalizeKey(t *testing.T) {
	for in, want := range map[string]string{
		"mon host":              "mon_host",
		"mon_host":              "mon_host",
		"mon-host":              "mon-host", // a file's dashes stay: Ceph ignores such keys
		"  mon   host  ":        "mon_host",
		"auth client required":  "auth_client_required",
		"ms_mon client \t mode": "ms_mon_client_mode",
		"":                      "",
	} {
		if got := NormalizeKey(in); got != want {
			t.Errorf("NormalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptionKey(t *testing.T) {
	if got := OptionKey(" mon-host "); got != "mon_host" {
		t.Errorf("OptionKey: %q", got)
	}
	f, _ := Parse([]byte("[global]\nmon-host = 1.2.3.4\n"))
	if _, ok := New(f, DefaultName).Get("mon_host"); ok {
		t.Error("a dashed key in a file must not set the option (Ceph ignores it)")
	}
	c := New(f, DefaultName)
	c.Set("mon-host", "5.6.7.8") // command-line spelling
	if v, _ := c.Get("mon host"); v != "5.6.7.8" {
		t.Errorf("--mon-host override: %q", v)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]map[string]string
	}{
		{"basic", "[global]\nfsid = abc\nmon host = 1.2.3.4\n",
			map[string]map[string]string{"global": {"fsid": "abc", "mon_host": "1.2.3.4"}}},
		{"comments", "# top\n; also\n[global] # heading comment\n\tkey = v # trailing\nk2=v2;c\n",
			map[string]map[string]string{"global": {"key": "v", "k2": "v2"}}},
		{"quotes", "[a]\nx = \"quoted \\# escaped\" # comment\ny = ' single '\n",
			map[string]map[string]string{"a": {"x": "quoted # escaped", "y": "single"}}},
		{"escapes", "[a]\nx = a\\#b\\;c\n",
			map[string]map[string]string{"a": {"x": "a#b;c"}}},
		{"continuation", "[a]\nx = one \\\n two\n",
			map[string]map[string]string{"a": {"x": "one  two"}}},
		{"last wins, sections merge", "[a]\nx = 1\n[b]\ny = 2\n[a]\nx = 3\nz = 4\n",
			map[string]map[string]string{"a": {"x": "3", "z": "4"}, "b": {"y": "2"}}},
		{"space and underscore are one key, dash is not", "[a]\nmon-host = 1\nmon host = 2\nmon_host = 3\n",
			map[string]map[string]string{"a": {"mon-host": "1", "mon_host": "3"}}},
		{"CRLF", "[a]\r\nx = 1\r\ny = 2\r\n",
			map[string]map[string]string{"a": {"x": "1", "y": "2"}}},
		{"empty value", "[a]\nx =\n",
			map[string]map[string]string{"a": {"x": ""}}},
		{"key before any section", "x = 1\n",
			map[string]map[string]string{"global": {"x": "1"}}},
		{"value with equals", "[a]\nx = a=b\n",
			map[string]map[string]string{"a": {"x": "a=b"}}},
		{"section names are kept as written", "[client.admin]\nkeyring = /k\n",
			map[string]map[string]string{"client.admin": {"keyring": "/k"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]string{}
			for _, s := range f.Sections() {
				got[s] = map[string]string{}
				for _, k := range f.Keys(s) {
					got[s][k], _ = f.Lookup(s, k)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
	}{
		{"[global\nx = 1\n", 1},
		{"[]\n", 1},
		{"[a]\njust words\n", 2},
		{"[a]\nx = \"open\n", 2},
		{"[a]\nx = \"a # b\"\n", 2}, // as in Ceph: a comment starts even inside quotes
		{"[a]\nx = \"a\" trailing\n", 2},
		{"[a] junk\n", 1},
		{"[a]\n= v\n", 2},
		{"[a]\nx = \xff\n", 2},
		{"[a]\nx = 1", 2},   // no final newline: Ceph refuses it
		{"[a]\nx = 1\\", 2}, // nor a continuation at the end
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want a ParseError", tt.in, err)
			continue
		}
		if pe.Line != tt.line {
			t.Errorf("Parse(%q): line %d, want %d (%v)", tt.in, pe.Line, tt.line, err)
		}
	}
}

func TestPrecedenceAndExpand(t *testing.T) {
	f, err := Parse([]byte(`
[global]
keyring = /etc/ceph/$cluster.$name.keyring
log file = $run_dir/$name.log
run dir = /run/x
a = global
b = global
c = global
loop = $loop2
loop2 = $loop
[client]
a = client
b = client
[client.admin]
a = admin
braces = ${type}-${id}
unknown = $nosuchoption/$
`))
	if err != nil {
		t.Fatal(err)
	}
	c := New(f, "client.admin")
	c.Set("c", "override")
	for key, want := range map[string]string{
		"a":                    "admin",
		"b":                    "client",
		"c":                    "override",
		"keyring":              "/etc/ceph/ceph.client.admin.keyring",
		"log_file":             "/run/x/client.admin.log",
		"braces":               "client-admin",
		"unknown":              "$nosuchoption/$",
		"auth_client_required": "cephx, none", // a default
	} {
		if got, ok := c.Get(key); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if v, _ := c.Get("loop"); !strings.Contains(v, "$") {
		t.Errorf("self-referencing options expanded to %q; want the recursion cut off", v)
	}
	osd := New(f, "osd.3")
	if got, _ := osd.Get("a"); got != "global" {
		t.Errorf("osd.3 sees a = %q, want global", got)
	}
	if got, _ := osd.Get("keyring"); got != "/etc/ceph/ceph.osd.3.keyring" {
		t.Errorf("osd.3 keyring = %q", got)
	}
	c.Cluster = "other"
	if got, _ := c.Get("keyring"); got != "/etc/ceph/other.client.admin.keyring" {
		t.Errorf("$cluster: %q", got)
	}
}

func addr(t encoding.AddrType, s string) encoding.EntityAddr {
	return encoding.EntityAddr{Type: t, Addr: netip.MustParseAddrPort(s)}
}

func TestParseMonHost(t *testing.T) {
	v1, v2 := encoding.AddrTypeLegacy, encoding.AddrTypeMsgr2
	type m = Mon
	vec := func(a ...encoding.EntityAddr) encoding.EntityAddrVec { return a }
	tests := []struct {
		in   string
		want []Mon
	}{
		{"127.0.0.1", []Mon{
			{Name: "noname-a", Addrs: vec(addr(v2, "127.0.0.1:3300"))},
			{Name: "noname-a-legacy", Addrs: vec(addr(v1, "127.0.0.1:6789"))}}},
		{"127.0.0.1:6789", []Mon{{Name: "noname-a-legacy", Addrs: vec(addr(v1, "127.0.0.1:6789"))}}},
		{"127.0.0.1:3300", []Mon{{Name: "noname-a", Addrs: vec(addr(v2, "127.0.0.1:3300"))}}},
		{"127.0.0.1:5000", []Mon{
			{Name: "noname-a", Addrs: vec(addr(v2, "127.0.0.1:5000"))},
			{Name: "noname-a-legacy", Addrs: vec(addr(v1, "127.0.0.1:5000"))}}},
		{"v2:127.0.0.1", []Mon{{Name: "noname-a", Addrs: vec(addr(v2, "127.0.0.1:3300"))}}},
		{"v1:127.0.0.1", []Mon{{Name: "noname-a", Addrs: vec(addr(v1, "127.0.0.1:6789"))}}},
		{"[v2:127.0.0.1:3300,v1:127.0.0.1:6789]", []Mon{
			{Name: "noname-a", Addrs: vec(addr(v2, "127.0.0.1:3300"), addr(v1, "127.0.0.1:6789"))}}},
		{"[v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300,v1:10.0.0.2:6789] [v2:10.0.0.3:3300]", []Mon{
			{Name: "noname-a", Addrs: vec(addr(v2, "10.0.0.1:3300"), addr(v1, "10.0.0.1:6789"))},
			{Name: "noname-b", Addrs: vec(addr(v2, "10.0.0.2:3300"), addr(v1, "10.0.0.2:6789"))},
			{Name: "noname-c", Addrs: vec(addr(v2, "10.0.0.3:3300"))}}},
		{"10.0.0.1:6789, 10.0.0.2:6789;10.0.0.3:6789", []Mon{
			{Name: "noname-a-legacy", Addrs: vec(addr(v1, "10.0.0.1:6789"))},
			{Name: "noname-b-legacy", Addrs: vec(addr(v1, "10.0.0.2:6789"))},
			{Name: "noname-c-legacy", Addrs: vec(addr(v1, "10.0.0.3:6789"))}}},
		{"[::1]:3300", []Mon{{Name: "noname-a", Addrs: vec(addr(v2, "[::1]:3300"))}}},
		{"::1", []Mon{
			{Name: "noname-a", Addrs: vec(addr(v2, "[::1]:3300"))},
			{Name: "noname-a-legacy", Addrs: vec(addr(v1, "[::1]:6789"))}}},
		{"[v2:[::1]:3300,v1:[::1]:6789]", []Mon{
			{Name: "noname-a", Addrs: vec(addr(v2, "[::1]:3300"), addr(v1, "[::1]:6789"))}}},
		{"127.0.0.1:3300,127.0.0.1:3300", []Mon{{Name: "noname-a", Addrs: vec(addr(v2, "127.0.0.1:3300"))}}},
		{"v2:127.0.0.1:3300/7", []Mon{{Name: "noname-a", Addrs: encoding.EntityAddrVec{
			{Type: v2, Nonce: 7, Addr: netip.MustParseAddrPort("127.0.0.1:3300")}}}}},
	}
	_ = m{}
	for _, tt := range tests {
		got, err := ParseMonHost(tt.in)
		if err != nil {
			t.Errorf("ParseMonHost(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMonHost(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseMonHostErrors(t *testing.T) {
	old := LookupHost
	defer func() { LookupHost = old }()
	LookupHost = func(h string) ([]netip.Addr, error) {
		if h == "mon1.example" {
			return []netip.Addr{netip.MustParseAddr("192.0.2.7")}, nil
		}
		return nil, errors.New("no such host")
	}
	for _, in := range []string{"", " ; ", "[v2:1.2.3.4:3300", "1.2.3.4:99999", "[v3:1.2.3.4]", "nosuch.example", "bad host!"} {
		if _, err := ParseMonHost(in); err == nil {
			t.Errorf("ParseMonHost(%q) succeeded", in)
		} else if !errors.Is(err, ErrBadAddr) && !errors.Is(err, ErrNoMonHost) {
			t.Errorf("ParseMonHost(%q) = %v: not a typed error", in, err)
		}
	}
	got, err := ParseMonHost("mon1.example:3300")
	if err != nil {
		t.Fatal(err)
	}
	want := []Mon{{Name: "noname-a", Addrs: encoding.EntityAddrVec{addr(encoding.AddrTypeMsgr2, "192.0.2.7:3300")}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("host name: %+v", got)
	}
}

func TestMonsFromSections(t *testing.T) {
	f, err := Parse([]byte(`
[global]
fsid = a6c7f451-ea9b-458a-bde4-13fe4e0254d7
[mon]
mon priority = 1
[mon.a]
mon addr = v2:127.0.0.1:3300
mon priority = 2
[mon.b]
mon addr = 127.0.0.2
[mon.c]
mon addr = [v2:127.0.0.3:3300,v1:127.0.0.3:6789]
[mon.d]
host = no address here
`))
	if err != nil {
		t.Fatal(err)
	}
	mons, err := New(f, DefaultName).Mons()
	if err != nil {
		t.Fatal(err)
	}
	// As Pacific's init_with_config_file: an untyped mon addr is v1 on
	// 6789, [mon] supplies the priority, and an address vector is refused.
	want := []Mon{
		{Name: "a", Priority: 2, Addrs: encoding.EntityAddrVec{addr(encoding.AddrTypeMsgr2, "127.0.0.1:3300")}},
		{Name: "b", Priority: 1, Addrs: encoding.EntityAddrVec{addr(encoding.AddrTypeLegacy, "127.0.0.2:6789")}},
	}
	if !reflect.DeepEqual(mons, want) {
		t.Errorf("Mons() =\n %+v\nwant\n %+v", mons, want)
	}
	if _, err := New(NewFile(), DefaultName).Mons(); !errors.Is(err, ErrNoMonHost) {
		t.Errorf("empty config: %v", err)
	}
	f, _ = Parse([]byte("[mon.x]\nmon addr = [v2:1.2.3.4:3300]\n"))
	if _, err := New(f, DefaultName).Mons(); !errors.Is(err, ErrNoMonHost) || !strings.Contains(err.Error(), "mon.x") {
		t.Errorf("unusable mon addr: %v", err)
	}
}

func TestRealConfigs(t *testing.T) {
	for _, tt := range []struct {
		file, fsid string
		auth       []string
		mode       uint32
	}{
		{"vectors-cephx-secure.conf", "e25081db-64e0-4029-b7f7-5607cb21d4c4", []string{"cephx"}, ModeSecure},
		{"ceph-cluster-sh.conf", "", []string{"none"}, ModeCRC},
	} {
		f, err := ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		c := New(f, DefaultName)
		mons, err := c.Mons()
		if err != nil || len(mons) != 1 || len(mons[0].Addrs) != 2 || mons[0].Addrs[0].Type != encoding.AddrTypeMsgr2 {
			t.Errorf("%s: mons %+v, %v", tt.file, mons, err)
		}
		id, ok, err := c.FSID()
		if err != nil || !ok {
			t.Errorf("%s: fsid %v %v", tt.file, ok, err)
		}
		if tt.fsid != "" && id.String() != tt.fsid {
			t.Errorf("%s: fsid %s", tt.file, id)
		}
		if got := c.AuthClientRequired(); !reflect.DeepEqual(got, tt.auth) {
			t.Errorf("%s: auth %v", tt.file, got)
		}
		modes, err := c.Modes("ms_mon_client_mode")
		if err != nil || len(modes) != 1 || modes[0] != tt.mode {
			t.Errorf("%s: modes %v %v", tt.file, modes, err)
		}
		paths := c.KeyringPaths()
		if len(paths) != 1 || !strings.HasSuffix(paths[0], "/keyring") {
			t.Errorf("%s: keyring %v", tt.file, paths)
		}
		// The OSD's keyring comes from [osd] in the script's file.
		if tt.file == "ceph-cluster-sh.conf" {
			if k, _ := New(f, "osd.0").Get("keyring"); !strings.HasSuffix(k, "/osd/ceph-0/keyring") {
				t.Errorf("osd.0 keyring %q", k)
			}
		}
	}
}

func TestTypedGetters(t *testing.T) {
	c := New(nil, DefaultName)
	c.Set("auth supported", "none")
	c.Set("auth client required", "cephx")
	if got := c.AuthClientRequired(); !reflect.DeepEqual(got, []string{"none"}) {
		t.Errorf("auth_supported must override: %v", got)
	}
	if m, err := c.Modes("ms_mon_client_mode"); err != nil || !reflect.DeepEqual(m, []uint32{ModeSecure, ModeCRC}) {
		t.Errorf("default mon client modes %v %v", m, err)
	}
	c.Set("ms_client_mode", "crc bogus")
	if _, err := c.Modes("ms_client_mode"); !errors.Is(err, ErrBadValue) {
		t.Errorf("bad mode: %v", err)
	}
	c.Set("x", "1.5")
	if d, err := c.Duration("x"); err != nil || d != 1500*time.Millisecond {
		t.Errorf("Duration %v %v", d, err)
	}
	if _, err := c.Duration("nope"); !errors.Is(err, ErrNotSet) {
		t.Errorf("Duration unset: %v", err)
	}
	c.Set("b", "yes")
	if b, err := c.Bool("b"); err != nil || !b {
		t.Errorf("Bool %v %v", b, err)
	}
	c.Set("fsid", "not-a-uuid")
	if _, _, err := c.FSID(); !errors.Is(err, ErrBadValue) {
		t.Errorf("bad fsid: %v", err)
	}
}

func TestArgsAndLoad(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "ceph.conf")
	keyring := filepath.Join(dir, "keyring")
	if err := os.WriteFile(conf, []byte("[global]\nmon host = 127.0.0.1:3300\nkeyring = "+keyring+"\n[client.bob]\nkeyring = /bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyring, []byte("[client.admin]\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	a, rest, err := ExtractArgs([]string{"-c", conf, "osd", "--id=bob", "dump", "-f", "json", "--", "-m", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Conf != conf || a.ID != "bob" || !reflect.DeepEqual(rest, []string{"osd", "dump", "-f", "json", "--", "-m", "x"}) {
		t.Fatalf("ExtractArgs: %+v %q", a, rest)
	}
	if _, _, err := ExtractArgs([]string{"status", "-k"}); !errors.Is(err, ErrUsage) {
		t.Errorf("missing value: %v", err)
	}

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	c, err := Load(a, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "client.bob" || c.Path != conf {
		t.Errorf("Load: name %q path %q", c.Name, c.Path)
	}
	if k, _ := c.Get("keyring"); k != "/bob" {
		t.Errorf("[client.bob] keyring: %q", k)
	}

	// CEPH_ARGS comes after the command line, so it wins; it also carries
	// arbitrary options.
	env["CEPH_ARGS"] = "--name client.admin -m 10.0.0.9 --ms-client-mode=secure --debug_ms 0"
	c, err = Load(a, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "client.admin" {
		t.Errorf("CEPH_ARGS --name: %q", c.Name)
	}
	if p, ok := c.Keyring(); !ok || p != keyring {
		t.Errorf("Keyring() = %q %v", p, ok)
	}
	if v, _ := c.Get("ms_client_mode"); v != "secure" {
		t.Errorf("CEPH_ARGS setting: %q", v)
	}
	if v, _ := c.Get("debug ms"); v != "0" {
		t.Errorf("CEPH_ARGS setting with separate value: %q", v)
	}
	mons, err := c.Mons()
	if err != nil || len(mons) != 2 || mons[0].Addrs[0].Addr.Addr().String() != "10.0.0.9" {
		t.Errorf("-m from CEPH_ARGS must beat the file: %+v %v", mons, err)
	}

	// -k beats the file; CEPH_CONF is used without -c.
	env = map[string]string{"CEPH_CONF": conf}
	c, err = Load(Args{Keyring: "/k1,/k2"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.KeyringPaths(); !reflect.DeepEqual(got, []string{"/k1", "/k2"}) {
		t.Errorf("-k: %v", got)
	}

	// Named but missing file; and nothing at all.
	if _, err := Load(Args{Conf: filepath.Join(dir, "missing.conf")}, getenv); err == nil {
		t.Error("a missing -c file must fail")
	}
	env = map[string]string{}
	if _, err := Load(Args{Cluster: "no-such-cluster-xyz"}, getenv); !errors.Is(err, ErrNoConfig) {
		t.Errorf("no conf: %v", err)
	}
	c, err = Load(Args{Cluster: "no-such-cluster-xyz", MonHost: "127.0.0.1"}, getenv)
	if err != nil || c.File == nil {
		t.Errorf("-m alone must do: %v", err)
	}
	for path, want := range map[string]string{"/etc/ceph/prod.conf": "prod", "/x/ceph.conf": "ceph", "/x/cfg": "ceph", "a.conf.bak": "a"} {
		if got := clusterFromPath(path); got != want {
			t.Errorf("clusterFromPath(%q) = %q, want %q", path, got, want)
		}
	}
	if _, err := Load(Args{Name: "admin"}, getenv); !errors.Is(err, ErrUsage) {
		t.Errorf("bad --name: %v", err)
	}
	env["CEPH_ARGS"] = "stray"
	if _, err := Load(Args{MonHost: "127.0.0.1"}, getenv); !errors.Is(err, ErrUsage) {
		t.Errorf("bad CEPH_ARGS: %v", err)
	}
}

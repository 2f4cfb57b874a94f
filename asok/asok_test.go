package asok

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/perf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// query sends raw bytes and reads one framed reply, as ceph_daemon.py does.
func query(t testing.TB, path string, raw []byte) (string, error) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(raw); err != nil {
		return "", err
	}
	if n := len(raw); n > 0 && raw[n-1] != 0 && raw[n-1] != '\n' {
		c.(*net.UnixConn).CloseWrite() // unterminated: end it with EOF
	}
	var h [4]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		return "", err
	}
	n := binary.BigEndian.Uint32(h[:])
	if n > 1<<24 {
		t.Fatalf("reply length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		return "", err
	}
	if extra, _ := c.Read(make([]byte, 1)); extra != 0 {
		t.Fatal("bytes after the reply")
	}
	return string(b), nil
}

func cmd(t testing.TB, path, js string) string {
	t.Helper()
	out, err := query(t, path, append([]byte(js), 0))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newServer(t *testing.T) (*Server, *perf.Logger) {
	t.Helper()
	coll := perf.NewCollection()
	b := perf.NewBuilder("AsyncMessenger::Worker-0")
	b.Add(perf.Desc{Name: "msgr_recv_messages", Description: "Network received messages", Kind: perf.Counter})
	b.Add(perf.Desc{Name: "msgr_send_messages_queue_lat", Description: "Network sent messages lat", Kind: perf.TimeAvg})
	l := b.Logger()
	coll.Add(l)
	f, err := config.Parse([]byte("[global]\ndebug ms = 1/5\n[client.admin]\nkeyring = /k/$cluster.$name\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Listen(filepath.Join(t.TempDir(), "x.asok"), Options{Perf: coll, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ConfigCommands(config.New(f, "client.admin")) {
		if err := s.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.Close() })
	return s, l
}

func TestCommands(t *testing.T) {
	s, l := newServer(t)
	l.Inc(0, 7)
	l.TInc(1, 2*time.Millisecond)
	for _, tc := range []struct {
		name, req string
		want      []string // substrings of the reply
	}{
		{"version", `{"prefix":"version"}`, []string{"{\n    \"version\": \"1.2.3\",\n"}},
		{"compact", `{"prefix":"version","format":"json"}`, []string{`{"version":"1.2.3","release":"msgr","release_type":"stable"}`}},
		{"perf dump", `{"prefix":"perf dump"}`, []string{`"msgr_recv_messages": 7`, `"avgcount": 1`, `"sum": 0.002`}},
		{"perf dump one", `{"prefix":"perf dump","logger":"AsyncMessenger::Worker-0","counter":"msgr_recv_messages","format":"json"}`, []string{`{"AsyncMessenger::Worker-0":{"msgr_recv_messages":7}}`}},
		{"perf schema", `{"prefix":"perf schema","format":"json"}`, []string{`"msgr_recv_messages":{"type":10,"metric_type":"counter"`, `"type":5`}},
		{"help", `{"prefix":"help","format":"json"}`, []string{`"perf dump":"dump perfcounters value"`, `"config show"`}},
		{"descriptions", `{"prefix":"get_command_descriptions","format":"json"}`, []string{`"sig":["perf","dump",{"name":"logger","req":"false","type":"CephString"}`, `"sig":["config","get",{"name":"var","type":"CephString"}]`}},
		{"config show", `{"prefix":"config show","format":"json"}`, []string{`"debug_ms":"1/5"`, `"keyring":"/k/ceph.client.admin"`, `"name":"client.admin"`}},
		{"config get", `{"prefix":"config get","var":"debug_ms"}`, []string{"{\n    \"debug_ms\": \"1/5\"\n}\n"}},
		{"config get missing", `{"prefix":"config get","var":"nosuch"}`, []string{"ERROR: (2) No such file or directory\nerror getting 'nosuch': (2) No such file or directory\n"}},
		{"config get no var", `{"prefix":"config get"}`, []string{"ERROR: (22) Invalid argument\nmissing required parameter var\n"}},
		{"unknown", `{"prefix":"nosuch"}`, []string{"ERROR: (22) Invalid argument\nunknown command prefix nosuch\n"}},
		{"invalid json", `garbage`, []string{"ERROR: (22) Invalid argument\ninvalid json\n"}},
		{"json not an object", `[1,2]`, []string{"ERROR: (22) Invalid argument\ninvalid json\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := cmd(t, s.Path(), tc.req)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("reply %q lacks %q", out, w)
				}
			}
		})
	}
}

// Every error reply leaves the server serving the next connection.
func TestBadRequestsKeepServing(t *testing.T) {
	s, _ := newServer(t)
	for _, raw := range [][]byte{
		[]byte("\x00\x00\x00\x01"),                     // Ceph's old binary protocol
		[]byte(`{"prefix":"version"}`),                 // no terminator, then EOF
		bytes.Repeat([]byte("x"), maxRequest+10),       // too long
		append([]byte(`{"prefix":"perf dump"`), 0),     // truncated JSON
		append([]byte("\xff\xfe{\"prefix\":1}"), '\n'), // bytes that are not JSON
	} {
		out, err := query(t, s.Path(), raw)
		if err == nil && !strings.HasPrefix(out, "ERROR: (22)") {
			t.Errorf("%.20q: reply %q", raw, out)
		}
		if got := cmd(t, s.Path(), `{"prefix":"version","format":"json"}`); !strings.Contains(got, "1.2.3") {
			t.Fatalf("server stopped answering after %.20q: %q", raw, got)
		}
	}
	// A client that connects and leaves.
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := cmd(t, s.Path(), "{\"prefix\":\"version\"}\n"); !strings.Contains(got, "1.2.3") {
		t.Fatalf("newline-terminated: %q", got)
	}
}

func TestSocketFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.asok")
	// A stale socket file: bound, then its listener gone without unlink.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	s, err := Listen(path, Options{})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	if _, err := Listen(path, Options{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	if err := s.Register(Command{Prefix: "version"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate command: %v", err)
	}
	other := filepath.Join(dir, "b.asok")
	if _, err := Listen(other, Options{Commands: []Command{{Prefix: "help"}}}); !errors.Is(err, ErrExists) {
		t.Fatalf("Options.Commands naming a built-in: %v", err)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left after a failed Listen: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left after Close: %v", err)
	}
}

func TestHookErrors(t *testing.T) {
	s, _ := newServer(t)
	s.Register(Command{Prefix: "fail", Hook: func(context.Context, Request) ([]byte, error) {
		return nil, errors.New("plain")
	}})
	s.Register(Command{Prefix: "busy", Hook: func(context.Context, Request) ([]byte, error) {
		return nil, Errorf(syscall.EBUSY, "try later")
	}})
	if out := cmd(t, s.Path(), `{"prefix":"fail"}`); out != "ERROR: (22) Invalid argument\nplain\n" {
		t.Errorf("fail: %q", out)
	}
	if out := cmd(t, s.Path(), `{"prefix":"busy"}`); out != "ERROR: (16) Device or resource busy\ntry later\n" {
		t.Errorf("busy: %q", out)
	}
	s.Unregister("busy")
	if out := cmd(t, s.Path(), `{"prefix":"busy"}`); !strings.Contains(out, "unknown command prefix busy") {
		t.Errorf("after Unregister: %q", out)
	}
	if !errors.Is(Errorf(syscall.ENOENT, "x"), syscall.ENOENT) {
		t.Error("Error does not match its errno")
	}
}

func TestDescriptionsParse(t *testing.T) {
	s, _ := newServer(t)
	var d map[string]struct {
		Sig  []json.RawMessage `json:"sig"`
		Help string            `json:"help"`
	}
	if err := json.Unmarshal(s.Execute(context.Background(), []byte(`{"prefix":"get_command_descriptions","format":"json"}`)), &d); err != nil {
		t.Fatal(err)
	}
	if len(d) != len(s.commands()) || d["cmd000"].Sig == nil {
		t.Fatalf("descriptions: %v", d)
	}
}

func FuzzExecute(f *testing.F) {
	f.Add([]byte(`{"prefix":"perf dump","logger":"x"}`))
	f.Add([]byte(`{"prefix":"config get","var":7}`))
	f.Add([]byte(`{"prefix":["x"]}`))
	f.Add([]byte("\x00\x00\x00\x02"))
	coll := perf.NewCollection()
	s := &Server{opts: Options{Perf: coll}, cmds: map[string]*Command{}}
	for _, c := range s.builtins() {
		s.mustRegister(c)
	}
	for _, c := range ConfigCommands(config.New(nil, "client.admin")) {
		s.mustRegister(c)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, err := readRequest(bufioReader(b)); err == nil {
			out := s.Execute(context.Background(), req)
			if len(out) == 0 {
				t.Fatal("empty reply")
			}
		}
	})
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func TestConfiguredPath(t *testing.T) {
	for _, tc := range []struct {
		name, file, override, want string
	}{
		{"unset", "[global]\nrun dir = /r\n", "", ""},
		{"global is the daemons'", "[global]\nadmin socket = /r/$name.asok\n", "", ""},
		{"client section", "[global]\nadmin socket = /g.asok\n[client]\nadmin socket = /c/$name.asok\n", "", "/c/client.admin.asok"},
		{"entity section", "[client.admin]\nadmin_socket = /e.asok\n[client]\nadmin socket = /c.asok\n", "", "/e.asok"},
		{"override", "[client]\nadmin socket = /c.asok\n", "/o/$cluster.asok", "/o/ceph.asok"},
		{"empty", "[client]\nadmin socket =\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			c := config.New(f, "client.admin")
			if tc.override != "" {
				c.Set("admin-socket", tc.override)
			}
			if got := ConfiguredPath(c); got != tc.want {
				t.Errorf("ConfiguredPath = %q, want %q", got, tc.want)
			}
		})
	}
}

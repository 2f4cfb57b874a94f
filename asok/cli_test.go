package asok

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The real ceph CLI (Pacific's ceph_daemon.py) against our socket: it
// asks for get_command_descriptions, validates the command against them,
// then sends it.
func TestRealCephCLI(t *testing.T) {
	if _, err := exec.LookPath("ceph"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no ceph CLI under CI")
		}
		t.Skip("no ceph CLI")
	}
	s, l := newServer(t)
	l.Inc(0, 11)
	l.TInc(1, 3*time.Millisecond)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ceph", append([]string{"--admin-daemon", s.Path()}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ceph %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	var dump map[string]map[string]any
	if err := json.Unmarshal([]byte(run("perf", "dump")), &dump); err != nil {
		t.Fatal(err)
	}
	w := dump["AsyncMessenger::Worker-0"]
	if w["msgr_recv_messages"].(float64) != 11 || w["msgr_send_messages_queue_lat"].(map[string]any)["avgcount"].(float64) != 1 {
		t.Fatalf("perf dump: %v", dump)
	}
	if out := run("perf", "dump", "AsyncMessenger::Worker-0", "msgr_recv_messages"); !strings.Contains(out, `"msgr_recv_messages": 11`) {
		t.Errorf("perf dump LOGGER COUNTER: %s", out)
	}
	var schema map[string]map[string]map[string]any
	if err := json.Unmarshal([]byte(run("perf", "schema")), &schema); err != nil {
		t.Fatal(err)
	}
	if schema["AsyncMessenger::Worker-0"]["msgr_recv_messages"]["type"].(float64) != 10 {
		t.Errorf("perf schema: %v", schema)
	}
	if out := run("config", "show"); !strings.Contains(out, `"debug_ms": "1/5"`) {
		t.Errorf("config show: %s", out)
	}
	if out := run("config", "get", "debug_ms"); !strings.Contains(out, `"debug_ms": "1/5"`) {
		t.Errorf("config get: %s", out)
	}
	if out := run("version"); !strings.Contains(out, `"version": "1.2.3"`) {
		t.Errorf("version: %s", out)
	}
	if out := run("help"); !strings.Contains(out, `"perf schema": "dump perfcounters schema"`) {
		t.Errorf("help: %s", out)
	}
	if out := run("--format", "json", "version"); !strings.HasPrefix(out, `{"version":"1.2.3"`) {
		t.Errorf("--format json: %s", out)
	}
	// A command the descriptions lack: refused by the CLI, non-zero exit.
	if out, err := exec.Command("ceph", "--admin-daemon", s.Path(), "no", "such").CombinedOutput(); err == nil {
		t.Errorf("unknown command succeeded: %s", out)
	}
}

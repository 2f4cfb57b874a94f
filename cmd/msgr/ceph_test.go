package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseCephArgs(t *testing.T) {
	tests := []struct {
		in       string
		words    string
		format   string
		timeout  time.Duration
		conf     string
		in_, out string
	}{
		{"-c /x.conf status", "status", "", 300 * time.Second, "/x.conf", "", ""},
		{"-s -f json --connect-timeout 5", "status", "json", 5 * time.Second, "", "", ""},
		{"osd pool ls --connect-timeout=0.5 -fjson-pretty", "osd pool ls", "json-pretty", 500 * time.Millisecond, "", "", ""},
		{"-i in.bin -o out.bin osd setcrushmap", "osd setcrushmap", "", 300 * time.Second, "", "in.bin", "out.bin"},
		{"--conf=/c -n client.x {\"prefix\": \"fsid\"}", "{\"prefix\": \"fsid\"}", "", 300 * time.Second, "/c", "", ""},
	}
	for _, tt := range tests {
		o, err := parseCephArgs(strings.Fields(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if strings.Join(o.words, " ") != tt.words || o.format != tt.format || o.connectTimeout != tt.timeout ||
			o.cluster.Conf != tt.conf || o.inFile != tt.in_ || o.outFile != tt.out {
			t.Errorf("%q: %+v", tt.in, o)
		}
	}
	for _, bad := range []string{"", "-f html status", "--connect-timeout x status", "--connect-timeout", "-c"} {
		if _, err := parseCephArgs(strings.Fields(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var out, errb bytes.Buffer
	if rc := run([]string{"ceph"}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "usage: msgr ceph") {
		t.Errorf("no command: rc %d, %q", rc, errb.String())
	}
	out.Reset()
	if rc := run([]string{"ceph", "--help"}, &out, &errb); rc != 0 || !strings.Contains(out.String(), "usage: msgr ceph") {
		t.Errorf("--help: rc %d", rc)
	}
}

// TestCephLive compares msgr ceph with the real ceph CLI on the same
// cluster: same stdout, same stderr, same exit code; in crc and secure
// mode, with auth none and cephx.
func TestCephLive(t *testing.T) {
	if _, err := exec.LookPath("ceph"); err != nil && os.Getenv("MSGR_TEST_CEPH_NONE") != "" {
		t.Skip("no ceph CLI to compare with")
	}
	t.Setenv("CEPH_ARGS", "")
	for _, env := range []string{"MSGR_TEST_CEPH_NONE", "MSGR_TEST_CEPH_CEPHX", "MSGR_TEST_CEPH_SECURE"} {
		t.Run(env, func(t *testing.T) {
			conf := os.Getenv(env)
			if conf == "" {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is not set under CI=true", env)
				}
				t.Skipf("%s not set: no Ceph cluster (scripts/ci-ceph.sh)", env)
			}
			words := []string{"osd pool ls -f json", "fsid", "osd dump -f json-pretty", "mon dump", "osd pool create", "osd pool get no-such-pool size"}
			if env == "MSGR_TEST_CEPH_NONE" {
				words = append(words, "osd tree", "osd dumpx", "mon dump 1 2", "osd reweight 0 2.0", "health")
			}
			for _, w := range words {
				compareWithCeph(t, append([]string{"-c", conf, "--connect-timeout", "20"}, strings.Fields(w)...))
			}
			liveErrors(t, conf, env != "MSGR_TEST_CEPH_NONE")
		})
	}
}

func compareWithCeph(t *testing.T, args []string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(append([]string{"ceph"}, args...), &out, &errb)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ceph", args...)
	var cout, cerr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &cout, &cerr
	err := cmd.Run()
	crc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		crc = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if rc != crc || out.String() != cout.String() || errb.String() != cerr.String() {
		t.Errorf("%s:\n msgr: rc %d out %q err %q\n ceph: rc %d out %q err %q", strings.Join(args, " "),
			rc, trunc(out.String()), trunc(errb.String()), crc, trunc(cout.String()), trunc(cerr.String()))
	}
}

func liveErrors(t *testing.T, conf string, cephx bool) {
	// JSON in, JSON out.
	var out, errb bytes.Buffer
	if rc := run([]string{"ceph", "-c", conf, `{"prefix": "fsid", "format": "json"}`}, &out, &errb); rc != 0 || !strings.Contains(out.String(), `"fsid"`) {
		t.Errorf("JSON command: rc %d %q %q", rc, out.String(), errb.String())
	}
	// A monitor that is not there: the connect timeout ends it.
	start := time.Now()
	out.Reset()
	errb.Reset()
	rc := run([]string{"ceph", "-c", conf, "-m", "127.0.0.1:1", "--connect-timeout", "1", "status"}, &out, &errb)
	if rc == 0 || time.Since(start) > 5*time.Second || !strings.Contains(errb.String(), "no monitor reachable") {
		t.Errorf("no mon: rc %d after %v: %q", rc, time.Since(start), errb.String())
	}
	if !cephx {
		return
	}
	// A wrong key and an unknown entity: refused, EACCES, the cause named.
	bad := filepath.Join(t.TempDir(), "bad.keyring")
	if err := os.WriteFile(bad, []byte("[client.admin]\n\tkey = AQBZRwhrJG/nBhAArkdPoFC1NFqwmTW5zLu/1A==\n[client.nobody]\n\tkey = AQBZRwhrJG/nBhAArkdPoFC1NFqwmTW5zLu/1A==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"client.admin", "client.nobody"} {
		start = time.Now()
		errb.Reset()
		rc = run([]string{"ceph", "-c", conf, "-k", bad, "-n", who, "--connect-timeout", "10", "status"}, &out, &errb)
		if rc != int(syscall.EACCES) || time.Since(start) > 10*time.Second || !strings.Contains(errb.String(), "authentication failed") {
			t.Errorf("%s with a wrong key: rc %d after %v: %q", who, rc, time.Since(start), errb.String())
		}
	}
}

func trunc(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

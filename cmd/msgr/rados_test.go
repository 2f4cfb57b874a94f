package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/rados"
	"github.com/gomsgr/msgr/rados/radostest"
)

// keepOpen is a backend whose Shutdown leaves the shared in-memory cluster
// running, so that several commands can run against it.
type keepOpen struct{ *radostest.Cluster }

func (keepOpen) Shutdown() {}

// offlineRados points the rados command at an in-memory cluster for the
// test's duration.
func offlineRados(t *testing.T) *radostest.Cluster {
	_, cl := radostest.New(t, osdc.Config{})
	prev := radosConnect
	radosConnect = func(ctx context.Context, a config.Args) (*rados.Conn, error) {
		return rados.NewConnWithBackend(keepOpen{cl}), nil
	}
	prevLocal := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { radosConnect, time.Local = prev, prevLocal })
	return cl
}

func radosRun(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	prev := radosStdin
	radosStdin = bytes.NewReader(stdin)
	defer func() { radosStdin = prev }()
	code := run(append([]string{"rados"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRadosPutGetStatRm(t *testing.T) {
	offlineRados(t)
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4096, 4<<20 + 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			in := filepath.Join(dir, "in")
			out := filepath.Join(dir, "out")
			if err := os.WriteFile(in, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if code, o, e := radosRun(t, nil, "-p", "vec", "put", "obj", in); code != 0 || o != "" || e != "" {
				t.Fatalf("put: %d %q %q", code, o, e)
			}
			if code, _, e := radosRun(t, nil, "-p", "vec", "get", "obj", out); code != 0 {
				t.Fatalf("get: %d %q", code, e)
			}
			got, _ := os.ReadFile(out)
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes back, want %d", len(got), len(data))
			}
			code, o, _ := radosRun(t, nil, "-p", "vec", "stat", "obj")
			// The in-memory OSD stamps mtime 1700000000.
			if want := fmt.Sprintf("vec/obj mtime 2023-11-14T22:13:20.000000+0000, size %d\n", size); code != 0 || o != want {
				t.Fatalf("stat: %d %q, want %q", code, o, want)
			}
		})
	}
	// stdin and stdout.
	if code, _, e := radosRun(t, []byte("from stdin"), "-p", "vec", "put", "s", "-"); code != 0 {
		t.Fatalf("put -: %q", e)
	}
	if code, o, _ := radosRun(t, nil, "-p", "vec", "get", "s", "-"); code != 0 || o != "from stdin" {
		t.Fatalf("get -: %q", o)
	}
	if code, _, e := radosRun(t, []byte("+more"), "-p", "vec", "append", "s", "-"); code != 0 {
		t.Fatalf("append: %q", e)
	}
	if _, o, _ := radosRun(t, nil, "-p", "vec", "get", "s", "-"); o != "from stdin+more" {
		t.Fatalf("after append: %q", o)
	}
	if code, _, e := radosRun(t, nil, "-p", "vec", "truncate", "s", "4"); code != 0 {
		t.Fatalf("truncate: %q", e)
	}
	if _, o, _ := radosRun(t, nil, "-p", "vec", "get", "s", "-"); o != "from" {
		t.Fatalf("after truncate: %q", o)
	}
	if code, _, _ := radosRun(t, nil, "-p", "vec", "rm", "obj", "s"); code != 0 {
		t.Fatal("rm failed")
	}
	// Missing objects: rados' messages and a non-zero exit.
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-p", "vec", "stat", "obj"}, " error stat-ing vec/obj: (2) No such file or directory\n"},
		{[]string{"-p", "vec", "get", "obj", "-"}, "error getting vec/obj: (2) No such file or directory\n"},
		{[]string{"-p", "vec", "rm", "obj"}, "error removing vec>obj: (2) No such file or directory\n"},
		{[]string{"-p", "vec", "-N", "ns", "rm", "obj"}, "error removing vec>ns/obj: (2) No such file or directory\n"},
		{[]string{"-p", "nosuch", "ls"}, "error opening pool nosuch: (2) No such file or directory\n"},
		{[]string{"-p", "vec", "getxattr", "obj", "user.x"}, "error getting xattr vec/obj/user.x: (2) No such file or directory\n"},
		{[]string{"ls"}, "rados: pool name was not specified\n"},
	}
	for _, tt := range tests {
		code, o, e := radosRun(t, nil, tt.args...)
		if code == 0 || o != "" || e != tt.want {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tt.args, code, o, e, tt.want)
		}
	}
}

func TestRadosLsXattrPools(t *testing.T) {
	offlineRados(t)
	for _, n := range []string{"b", "a", "c"} {
		if code, _, e := radosRun(t, []byte(n), "-p", "vec", "put", n, "-"); code != 0 {
			t.Fatal(e)
		}
	}
	_, o, _ := radosRun(t, nil, "-p", "vec", "ls")
	lines := strings.Fields(o)
	if len(lines) != 3 || !strings.Contains(o, "a\n") || !strings.Contains(o, "b\n") || !strings.Contains(o, "c\n") {
		t.Fatalf("ls: %q", o)
	}
	if code, _, e := radosRun(t, nil, "-p", "vec", "setxattr", "a", "user.color", "blue"); code != 0 {
		t.Fatal(e)
	}
	if code, _, e := radosRun(t, []byte("red"), "-p", "vec", "setxattr", "a", "user.bg"); code != 0 {
		t.Fatal(e)
	}
	// rados getxattr prints the value without a newline.
	if _, o, _ := radosRun(t, nil, "-p", "vec", "getxattr", "a", "user.color"); o != "blue" {
		t.Fatalf("getxattr %q", o)
	}
	if _, o, _ := radosRun(t, nil, "-p", "vec", "listxattr", "a"); o != "user.bg\nuser.color\n" {
		t.Fatalf("listxattr %q", o)
	}
	if _, o, _ := radosRun(t, nil, "lspools"); o != "vec\n" {
		t.Fatalf("lspools %q", o)
	}
	if code, o, _ := radosRun(t, nil, "mkpool", "p2"); code != 0 || o != "successfully created pool p2\n" {
		t.Fatalf("mkpool %q", o)
	}
	if _, o, _ := radosRun(t, nil, "lspools"); o != "vec\np2\n" {
		t.Fatalf("lspools %q", o)
	}
	if code, _, e := radosRun(t, nil, "rmpool", "p2"); code == 0 || !strings.Contains(e, "PERMANENTLY DESTROY") {
		t.Fatalf("rmpool without confirmation: %d %q", code, e)
	}
	if code, o, _ := radosRun(t, nil, "rmpool", "p2", "p2", "--yes-i-really-really-mean-it"); code != 0 || o != "successfully deleted pool p2\n" {
		t.Fatalf("rmpool %d %q", code, o)
	}
	if code, _, e := radosRun(t, nil, "rmpool", "p2", "p2", "--yes-i-really-really-mean-it"); code == 0 || !strings.Contains(e, "(2) No such file or directory") {
		t.Fatalf("rmpool of a missing pool: %d %q", code, e)
	}
	if code, _, e := radosRun(t, nil, "bogus"); code == 0 || !strings.Contains(e, "unrecognized command bogus") {
		t.Fatalf("bogus: %d %q", code, e)
	}
	if code, _, e := radosRun(t, nil, "-p", "vec", "put", "x"); code == 0 || !strings.Contains(e, "not enough arguments") {
		t.Fatalf("short put: %d %q", code, e)
	}
	if code, _, _ := radosRun(t, nil, "-p", "vec", "--frobnicate", "ls"); code != 2 {
		t.Fatalf("bad option: %d", code)
	}
}

// TestRadosBenchOverBudget: with more ops in flight (-t) than the
// Objecter's budget, the bench's completions must not start the next op
// on the connection's loop (it would wait there for budget only that loop
// can free): it runs to its end.
func TestRadosBenchOverBudget(t *testing.T) {
	_, cl := radostest.New(t, osdc.Config{InflightOps: 2})
	prev := radosConnect
	radosConnect = func(ctx context.Context, a config.Args) (*rados.Conn, error) {
		c := rados.NewConnWithBackend(keepOpen{cl})
		return c, c.SetConfigOption("objecter_inflight_ops", "2")
	}
	t.Cleanup(func() { radosConnect = prev })
	code, o, e := radosRun(t, nil, "-p", "vec", "bench", "1", "write", "-b", "1K", "-t", "6")
	if code != 0 || !strings.Contains(o, "Total writes made:") {
		t.Fatalf("bench write: %d %q\n%s", code, e, o)
	}
}

func TestRadosBench(t *testing.T) {
	cl := offlineRados(t)
	objects := cl.OSDs.NumObjects()
	code, o, e := radosRun(t, nil, "-p", "vec", "bench", "1", "write", "-b", "4K", "-t", "4", "--no-cleanup")
	if code != 0 {
		t.Fatalf("bench write: %d %q", code, e)
	}
	for _, want := range []string{
		"Maintaining 4 concurrent writes of 4096 bytes to objects of size 4096 for up to 1 seconds or 0 objects",
		"  sec Cur ops   started  finished  avg MB/s  cur MB/s last lat(s)  avg lat(s)",
		"Total writes made:", "Write size:             4096", "Average IOPS:", "Average Latency(s):", "Latency p99(s):",
	} {
		if !strings.Contains(o, want) {
			t.Fatalf("bench write output lacks %q:\n%s", want, o)
		}
	}
	writes := regexp.MustCompile(`Total writes made:\s+(\d+)`).FindStringSubmatch(o)
	if writes == nil || writes[1] == "0" {
		t.Fatalf("no writes:\n%s", o)
	}
	if cl.OSDs.NumObjects() <= objects {
		t.Fatal("--no-cleanup left nothing")
	}
	for _, mode := range []string{"seq", "rand"} {
		code, o, e := radosRun(t, nil, "-p", "vec", "bench", "1", mode, "-t", "4")
		if code != 0 || !strings.Contains(o, "Total reads made:") || !strings.Contains(o, "Read size:            4096") {
			t.Fatalf("bench %s: %d %q\n%s", mode, code, e, o)
		}
	}
	// Cleanup keeps -t deletes in flight and counts every object it removed.
	if code, o, e := radosRun(t, nil, "-p", "vec", "cleanup", "-t", "3"); code != 0 || !strings.Contains(o, "Removed "+writes[1]+" objects") {
		t.Fatalf("cleanup: %d %q %q (wrote %s)", code, o, e, writes[1])
	}
	if n := cl.OSDs.NumObjects(); n != objects {
		t.Fatalf("%d objects after cleanup, %d before the bench", n, objects)
	}
	// A write bench that cleans up removes its objects.
	code, o, e = radosRun(t, nil, "-p", "vec", "bench", "1", "write", "-b", "1K", "-t", "2")
	if code != 0 || !strings.Contains(o, "Cleaning up (deleting benchmark objects)") || !strings.Contains(o, "Removed ") {
		t.Fatalf("bench write with cleanup: %d %q\n%s", code, e, o)
	}
	if n := cl.OSDs.NumObjects(); n != objects {
		t.Fatalf("%d objects after a cleaned-up bench, %d before", n, objects)
	}
	// --max-objects bounds a write bench (memstore clusters must not fill).
	code, o, e = radosRun(t, nil, "-p", "vec", "bench", "5", "write", "-b", "1K", "-t", "2", "--max-objects", "7")
	if code != 0 || !strings.Contains(o, "Total writes made:      7\n") || !strings.Contains(o, "for up to 5 seconds or 7 objects") {
		t.Fatalf("bench --max-objects: %d %q\n%s", code, e, o)
	}
	if code, _, e := radosRun(t, nil, "-p", "vec", "bench", "1", "seq", "--run-name", "nothing"); code == 0 || !strings.Contains(e, "Must write data") {
		t.Fatalf("seq without data: %d %q", code, e)
	}
}

// TestRadosCLIInterop runs msgr rados and the real rados on the same
// objects of the cluster MSGR_TEST_CEPH_RADOS names and compares what
// they print and how they exit.
func TestRadosCLIInterop(t *testing.T) {
	conf := os.Getenv("MSGR_TEST_CEPH_RADOS")
	if conf == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MSGR_TEST_CEPH_RADOS is not set (CI=true)")
		}
		t.Skip("MSGR_TEST_CEPH_RADOS is not set: no cluster for the rados CLI interop test")
	}
	real := func(stdin []byte, args ...string) (int, string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "rados", append([]string{"-c", conf}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String(), errb.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String(), errb.String()
	}
	mine := func(stdin []byte, args ...string) (int, string, string) {
		return radosRun(t, stdin, append([]string{"-c", conf}, args...)...)
	}
	pool := "msgr"
	obj := fmt.Sprintf("cli-%d", time.Now().UnixNano())
	data := bytes.Repeat([]byte("0123456789abcdef"), 70000) // 1.1 MB
	if code, _, e := mine(data, "-p", pool, "put", obj, "-"); code != 0 {
		t.Fatalf("msgr put: %s", e)
	}
	defer real(nil, "-p", pool, "rm", obj)
	if code, o, _ := real(nil, "-p", pool, "get", obj, "-"); code != 0 || o != string(data) {
		t.Fatalf("rados get of msgr's object: %d, %d bytes", code, len(o))
	}
	if code, _, e := real([]byte("blue"), "-p", pool, "setxattr", obj, "user.color"); code != 0 {
		t.Fatal(e)
	}
	same := func(args ...string) {
		t.Helper()
		c1, o1, e1 := real(nil, args...)
		c2, o2, e2 := mine(nil, args...)
		if (c1 == 0) != (c2 == 0) || o1 != o2 || e1 != e2 {
			t.Errorf("%v:\n rados exit %d stdout %q stderr %q\n  msgr exit %d stdout %q stderr %q", args, c1, o1, e1, c2, o2, e2)
		}
	}
	same("-p", pool, "stat", obj)
	same("-p", pool, "getxattr", obj, "user.color")
	same("-p", pool, "listxattr", obj)
	same("-p", pool, "get", obj, "-")
	same("-p", pool, "stat", obj+"-missing")
	same("-p", pool, "get", obj+"-missing", "-")
	same("-p", pool, "rm", obj+"-missing")
	same("-p", pool, "getxattr", obj, "user.missing")
	same("-p", "no-such-pool", "ls")
	same("-p", "no-such-pool", "stat", obj)
	same("lspools")
}

// TestRadosCLIDenied: with a key the monitors refuse (a wrong one, or one
// for an entity they do not know), msgr rados fails at once as the real
// rados does: "couldn't connect to cluster: (13) Permission denied", exit 1.
// --timeout bounds the run; failing by it would print another cause.
func TestRadosCLIDenied(t *testing.T) {
	conf := os.Getenv("MSGR_TEST_CEPH_RADOS")
	if conf == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MSGR_TEST_CEPH_RADOS is not set (CI=true)")
		}
		t.Skip("MSGR_TEST_CEPH_RADOS is not set: no cluster for the rados CLI interop test")
	}
	const want = "couldn't connect to cluster: (13) Permission denied\n"
	for _, user := range []string{"admin", "msgr-no-such-user"} {
		keyring := filepath.Join(t.TempDir(), "keyring")
		if err := os.WriteFile(keyring, []byte("[client."+user+"]\n\tkey = AQBxMyRpAAAAABAAQ0+1fYs8z8Yb0PH5Jc6ZaQ==\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"-c", conf, "--id", user, "--keyring", keyring}
		code, o, e := radosRun(t, nil, append(args, "--timeout", "30", "lspools")...)
		if code != 1 || o != "" || e != want {
			t.Errorf("msgr rados as client.%s with a wrong key: exit %d stdout %q stderr %q", user, code, o, e)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, "rados", append(args, "--no-mon-config", "lspools")...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(errb.String(), want) {
			t.Errorf("real rados as client.%s with a wrong key: %v %q", user, err, errb.String())
		}
	}
}

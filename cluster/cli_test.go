package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/cluster"
)

// needCLIs skips without Ceph's CLIs (fails under CI=true, where
// scripts/ceph-cluster.sh install puts them on the PATH).
func needCLIs(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ceph", "rados"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed under CI=true", tool)
			}
			t.Skipf("%s is not installed: the real-client tests need Ceph's CLIs", tool)
		}
	}
}

// cli runs a Ceph CLI against conf and returns stdout, failing the test
// unless it exits 0.
func cli(t *testing.T, conf string, stdin []byte, tool string, args ...string) string {
	t.Helper()
	out, errb, err := runCLI(conf, stdin, tool, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", tool, strings.Join(args, " "), err, out, errb)
	}
	return out
}

func runCLI(conf string, stdin []byte, tool string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"-c", conf, "--connect-timeout", "20"}, args...)...)
	if tool == "rados" {
		cmd = exec.CommandContext(ctx, tool, append([]string{"-c", conf}, args...)...)
	}
	cmd.Env = append(os.Environ(), "CEPH_ARGS=")
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestRealClients is the proof: Ceph's own ceph and rados CLIs
// (librados, no msgr code on the client side) against the Go cluster,
// in auth none and cephx, crc and secure.
func TestRealClients(t *testing.T) {
	needCLIs(t)
	for _, m := range modes {
		t.Run(m.auth+"-"+m.mode, func(t *testing.T) {
			c := start(t, cluster.Config{OSDs: 3, Auth: m.auth, Mode: m.mode})
			conf := c.ConfPath
			if out := cli(t, conf, nil, "ceph", "status"); !strings.Contains(out, c.FSID.String()) || !strings.Contains(out, "3 osds: 3 up") {
				t.Fatalf("ceph status:\n%s", out)
			}
			if out := cli(t, conf, nil, "ceph", "osd", "tree"); !regexp.MustCompile(`(?m)^ 2 .*osd\.2\s+up\s`).MatchString(out) {
				t.Fatalf("ceph osd tree:\n%s", out)
			}
			cli(t, conf, nil, "ceph", "osd", "pool", "create", "p", "8")
			if out := cli(t, conf, nil, "ceph", "osd", "pool", "ls"); out != "p\n" {
				t.Fatalf("osd pool ls: %q", out)
			}
			var dump struct {
				Epoch uint32 `json:"epoch"`
				FSID  string `json:"fsid"`
				Pools []struct {
					Name  string `json:"pool_name"`
					PGNum int    `json:"pg_num"`
					Size  int    `json:"size"`
				} `json:"pools"`
			}
			if err := json.Unmarshal([]byte(cli(t, conf, nil, "ceph", "osd", "dump", "-f", "json")), &dump); err != nil {
				t.Fatal(err)
			}
			if dump.FSID != c.FSID.String() || len(dump.Pools) != 1 || dump.Pools[0].Name != "p" || dump.Pools[0].PGNum != 8 || dump.Pools[0].Size != 1 {
				t.Fatalf("osd dump: %+v", dump)
			}

			dir := t.TempDir()
			for _, n := range []int{0, 1<<20 + 7, 16 << 20} {
				data := randomBytes(t, n)
				in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
				if err := os.WriteFile(in, data, 0o600); err != nil {
					t.Fatal(err)
				}
				oid := "o" + strconv.Itoa(n)
				cli(t, conf, nil, "rados", "-p", "p", "put", oid, in)
				if st := cli(t, conf, nil, "rados", "-p", "p", "stat", oid); !strings.HasSuffix(st, "size "+strconv.Itoa(n)+"\n") {
					t.Fatalf("stat: %q", st)
				}
				cli(t, conf, nil, "rados", "-p", "p", "get", oid, out)
				got, err := os.ReadFile(out)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%d bytes: got back %d bytes (%v), differ", n, len(got), err)
				}
			}
			cli(t, conf, nil, "rados", "-p", "p", "setxattr", "o0", "attr1", "value1")
			if v := cli(t, conf, nil, "rados", "-p", "p", "getxattr", "o0", "attr1"); v != "value1" {
				t.Fatalf("getxattr: %q", v)
			}
			if v := cli(t, conf, nil, "rados", "-p", "p", "listxattr", "o0"); v != "attr1\n" {
				t.Fatalf("listxattr: %q", v)
			}
			cli(t, conf, nil, "rados", "-p", "p", "setomapval", "o0", "key1", "val1")
			if v := cli(t, conf, nil, "rados", "-p", "p", "listomapvals", "o0"); !strings.HasPrefix(v, "key1\nvalue (4 bytes) :\n") {
				t.Fatalf("listomapvals: %q", v)
			}
			if v := cli(t, conf, nil, "rados", "-p", "p", "ls"); sortedLines(v) != "o0\no1048583\no16777216" {
				t.Fatalf("ls: %q", v)
			}
			if df := cli(t, conf, nil, "rados", "df"); !regexp.MustCompile(`(?m)^p\s+17 MiB\s+3\s`).MatchString(df) {
				t.Fatalf("rados df:\n%s", df)
			}
			if out := cli(t, conf, nil, "rados", "lspools"); out != "p\n" {
				t.Fatalf("lspools: %q", out)
			}
			cli(t, conf, nil, "rados", "-p", "p", "rm", "o1048583")
			if _, errb, err := runCLI(conf, nil, "rados", "-p", "p", "stat", "o1048583"); err == nil || !strings.Contains(errb, "No such file or directory") {
				t.Fatalf("stat after rm: %v %q", err, errb)
			}

			// rados bench, bounded: a couple of seconds of 4 KiB writes
			// from 16 threads, then reading them back.
			w := cli(t, conf, nil, "rados", "-p", "p", "bench", "2", "write", "-b", "4096", "-t", "16", "--no-cleanup")
			s := cli(t, conf, nil, "rados", "-p", "p", "bench", "2", "seq", "-t", "16")
			for _, out := range []string{w, s} {
				if strings.Contains(strings.ToLower(out), "error") || !regexp.MustCompile(`Total (writes|reads) made:\s+[1-9]`).MatchString(out) {
					t.Fatalf("bench:\n%s", out)
				}
			}
			t.Logf("bench write: %s; seq: %s", benchIOPS(w), benchIOPS(s))
		})
	}
}

func sortedLines(s string) string {
	l := strings.Fields(s)
	slices.Sort(l)
	return strings.Join(l, "\n")
}

func benchIOPS(out string) string {
	if m := regexp.MustCompile(`Average IOPS:\s+(\d+)`).FindStringSubmatch(out); m != nil {
		return m[1] + " IOPS"
	}
	return "?"
}

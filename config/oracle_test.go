package config

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cephConfLookup asks Ceph's own ceph-conf what a file holds: the value
// of key for entity name, whether it is set, and whether the file parsed.
func cephConfLookup(t *testing.T, path, name, key string) (val string, found, parsed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ceph-conf", "-c", path, "--name", name, "--lookup", key)
	cmd.Env = append(os.Environ(), "CEPH_ARGS=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if strings.Contains(errb.String(), "error reading config file") || strings.Contains(errb.String(), "parse error") {
		return "", false, false
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return "", false, true
		}
		t.Fatalf("ceph-conf: %v: %s", err, errb.String())
	}
	return strings.TrimSuffix(out.String(), "\n"), true, true
}

// TestAgainstCephConf checks the parser, section precedence and $meta
// expansion against ceph-conf, Ceph's own configuration query tool, on
// files written to be awkward.
func TestAgainstCephConf(t *testing.T) {
	if _, err := exec.LookPath("ceph-conf"); err != nil {
		if os.Getenv("CI") == "true" && os.Getenv("MSGR_TEST_CEPH_NONE") != "" {
			t.Fatal("ceph-conf is missing although Ceph is installed")
		}
		t.Skip("ceph-conf (ceph-common) not installed")
	}
	files := []string{
		"[global]\nfoo = bar # comment\nmon host = 1.2.3.4\n[client]\nfoo = client\n[client.admin]\nfoo = admin\n",
		"[global]\n\tkeyring = /k/$cluster.$name\nlog file = $run_dir/$type-$id.log\nrun dir = /run/x\nadmin socket = ${run_dir}/${name}.asok\n",
		"[global]\n  spaced   key  = \"quoted \\# x\" ; c\nesc = a\\;b\\#c\nsingle = ' s '\nempty =\neq = a=b=c\n",
		"[global]\nlong = one \\\n two \\\nthree\n",
		"[a]\nx = 1\n[b]\nx = 2\n[a]\nx = 3\ny = 4\n",
		"[global]\r\nfoo = crlf\r\nbar = b\r\n",
		"[global]\nfoo = \"a # b\"\n",
		"[global]\nfoo = \"unterminated\n",
		"[global\nfoo = x\n",
		"[global]\njust words\n",
		"[global]\nfoo = x\n[mon]\nfoo = mon\n[mon.a]\nbar = $foo-$id\n[osd]\nfoo = osd\n",
		"; only a comment\n# another\n\n[global]\n\n\nfoo = after blank lines\n",
		"[global]\nfoo=nospace\n  bar  =  padded  \n",
		"[global]\nfoo = $nosuchvar/x\nbar = $$\n",
		"[global]\nmon data = /m/$cluster-$id\nfoo = $mon_data/store\nbar = ${mon_data}x $keyring\n",
		"[global]\nfoo = tab\tinside\n",
		"[global]\nk = v\n[client.admin]\n",
		"foo = no section\n",
		"[global]\nfoo = x\\\n",
	}
	keys := []string{"foo", "bar", "keyring", "log_file", "admin_socket", "spaced key", "esc", "single", "empty", "eq", "long", "x", "y", "mon_host", "k"}
	names := []string{"client.admin", "mon.a"}
	dir := t.TempDir()
	for i, content := range files {
		bases := []string{"ceph.conf"}
		if strings.Contains(content, "$cluster") {
			bases = append(bases, "prod.conf")
		}
		for _, base := range bases {
			path := filepath.Join(dir, base)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			f, perr := ReadFile(path)
			for _, name := range names {
				cfg := New(f, name)
				cfg.Cluster = clusterFromPath(path)
				for _, key := range keys {
					want, found, parsed := cephConfLookup(t, path, name, key)
					if !parsed {
						if perr == nil {
							t.Errorf("file %d: ceph-conf refuses it, we parsed it:\n%s", i, content)
						}
						goto nextFile
					}
					if perr != nil {
						t.Errorf("file %d: ceph-conf parses it, we fail: %v\n%s", i, perr, content)
						goto nextFile
					}
					got, ok := cfg.Raw(key)
					if ok {
						got = cfg.Expand(got)
					}
					if ok != found || got != want {
						t.Errorf("file %d (%s) %s %q: got %q (%v), ceph-conf %q (%v)\n%s", i, base, name, key, got, ok, want, found, content)
					}
				}
			}
		nextFile:
		}
	}
}

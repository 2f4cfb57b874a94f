package config

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

// TestMonHostAgainstMonmaptool parses mon_host values as a monitor
// building its first monmap does and compares with what the real
// monmaptool --generate makes of the same value: the address syntax
// (types, ports, IPv6, nonces, vectors, separators) is shared with the
// client's reading.
func TestMonHostAgainstMonmaptool(t *testing.T) {
	if _, err := exec.LookPath("monmaptool"); err != nil {
		if os.Getenv("CI") == "true" && os.Getenv("MSGR_TEST_CEPH_NONE") != "" {
			t.Fatal("monmaptool is missing although Ceph is installed")
		}
		t.Skip("monmaptool (ceph-base) not installed")
	}
	dir := t.TempDir()
	for _, mh := range []string{
		"127.0.0.1", "127.0.0.1:6789", "127.0.0.1:3300", "127.0.0.1:5000",
		"[v2:127.0.0.1:3300,v1:127.0.0.1:6789]", "10.0.0.1,10.0.0.2 10.0.0.3",
		"10.0.0.1:3300,10.0.0.2:3300", "[::1]:3300", "::1", "[::1]", "v1:1.2.3.4", "v2:1.2.3.4:3301/7",
		"[v2:[fe80::1]:3300,v1:[fe80::1]:6789] [v2:10.1.1.1:3300,v1:10.1.1.1:6789]",
		"v2:1.2.3.4:3300,v1:1.2.3.4:6789", "1.2.3.4:6789/3",
	} {
		conf := filepath.Join(dir, "ceph.conf")
		if err := os.WriteFile(conf, []byte("[global]\nfsid = 11111111-2222-3333-4444-555555555555\nmon host = "+mh+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		mmPath := filepath.Join(dir, "monmap")
		os.Remove(mmPath)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		gen := exec.CommandContext(ctx, "monmaptool", "--create", "--generate", "-c", conf, mmPath)
		gen.Env = append(os.Environ(), "CEPH_ARGS=")
		genOut, err := gen.CombinedOutput()
		if err != nil {
			cancel()
			t.Fatalf("monmaptool --generate %q: %v: %s", mh, err, genOut)
		}
		out, err := exec.CommandContext(ctx, "monmaptool", "--print", mmPath).Output()
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if line == "" || line[0] < '0' || line[0] > '9' {
				continue
			}
			_, rest, _ := strings.Cut(line, ": ")
			addrs, name, _ := strings.Cut(rest, " mon.")
			want[name] = addrs
		}
		mons, err := parseMonHost(mh, true)
		if err != nil {
			t.Errorf("%q: %v", mh, err)
			continue
		}
		got := map[string]string{}
		for _, m := range mons {
			got[m.Name] = m.Addrs.String()
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("mon host %q:\n ours       %v\n monmaptool %v", mh, got, want)
		}
	}
}

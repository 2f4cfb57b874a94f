package rados_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/gomsgr/msgr/config"
	. "github.com/gomsgr/msgr/rados"
)

// librados itself (python3-rados, which ceph-common installs) answers
// conf_get for every option and conf_set for a table of values; a fresh
// Conn must answer the same. The config file is an empty one of the
// test's own: /dev/null is a regular file some processes write to on
// some CI machines, and librados refuses what it then reads (EINVAL).
const libradosOracle = `
import json, sys, rados
out = []
for q in json.load(sys.stdin):
    c = rados.Rados(conffile=sys.argv[1])
    try:
        if q['op'] == 'set':
            c.conf_set(q['k'], q['v'])
        v = c.conf_get(q['k'])
        out.append({'v': v} if v is not None else {'err': 'ENOENT'})
    except rados.ObjectNotFound:
        out.append({'err': 'ENOENT'})
    except rados.InvalidArgumentError:
        out.append({'err': 'EINVAL'})
    except Exception as e:
        out.append({'err': type(e).__name__})
    c.shutdown()
json.dump(out, sys.stdout)
`

type oracleQuery struct {
	Op string `json:"op"`
	K  string `json:"k"`
	V  string `json:"v,omitempty"`
}

type oracleAnswer struct {
	V   *string `json:"v"`
	Err string  `json:"err"`
}

func librados(t *testing.T, qs []oracleQuery) []oracleAnswer {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import rados").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3-rados is needed as the librados oracle: %v", err)
		}
		t.Skipf("no python3-rados (librados oracle): %v", err)
	}
	in, _ := json.Marshal(qs)
	empty := filepath.Join(t.TempDir(), "ceph.conf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", libradosOracle, empty)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Env = append(os.Environ(), "CEPH_ARGS=")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("librados oracle: %v: %s", err, stderr)
	}
	var as []oracleAnswer
	if err := json.Unmarshal(out, &as); err != nil || len(as) != len(qs) {
		t.Fatalf("librados oracle answered %d for %d: %v", len(as), len(qs), err)
	}
	return as
}

func errName(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ENOENT):
		return "ENOENT"
	case errors.Is(err, syscall.EINVAL):
		return "EINVAL"
	}
	return err.Error()
}

func TestConfigOptionsAsLibrados(t *testing.T) {
	names := make([]string, 0, len(config.Options))
	for k := range config.Options {
		names = append(names, k)
	}
	sort.Strings(names)
	var qs []oracleQuery
	for _, k := range names {
		qs = append(qs, oracleQuery{Op: "get", K: k})
	}
	qs = append(qs, oracleQuery{Op: "get", K: "no_such_option"})
	for _, kv := range [][2]string{
		{"log_max_new", "0x10"}, {"log_max_new", "12abc"}, {"log_max_new", "77"}, {"log_max_new", "-3"},
		{"rados_osd_op_timeout", "abc"}, {"rados_osd_op_timeout", "2.5"}, {"rados_osd_op_timeout", "30"}, {"rados_osd_op_timeout", "5m"},
		{"rados_osd_op_timeout", "-1"},
		{"ms_crc_data", "1"}, {"ms_crc_data", "0"}, {"ms_crc_data", "yes"}, {"ms_crc_data", "TRUE"},
		{"objecter_inflight_op_bytes", "1K"}, {"objecter_inflight_op_bytes", "3M"}, {"objecter_inflight_op_bytes", "x"},
		{"objecter_inflight_ops", "2K"}, {"objecter_tick_interval", "0.5"}, {"objecter_tick_interval", "fast"},
		{"osd_pool_default_size", "-1"}, {"osd_pool_default_size", "11"}, {"osd_pool_default_size", "4"},
		{"ms_mon_client_mode", "nonsense"}, {"fsid", "nope"}, {"fsid", "0d7f6b2a-0000-4000-8000-000000000001"},
		{"mon_host", "1.2.3.4"}, {"public_addr", "bad"}, {"public_addr", "10.0.0.1"}, {"no_such_option", "1"},
		{"osd_objectstore", "bluestore"}, {"ms_type", "async+posix"},
	} {
		qs = append(qs, oracleQuery{Op: "set", K: kv[0], V: kv[1]})
	}
	as := librados(t, qs)
	var diffs []string
	for i, q := range qs {
		c, err := NewConn()
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if q.Op == "set" {
			err = c.SetConfigOption(q.K, q.V)
		}
		if err == nil {
			v, err = c.GetConfigOption(q.K)
		}
		a := as[i]
		switch {
		case a.Err != "" && errName(err) != a.Err:
			diffs = append(diffs, q.Op+" "+q.K+"="+q.V+": librados "+a.Err+", msgr "+errName(err)+" "+v)
		case a.Err == "" && (err != nil || a.V == nil || v != *a.V):
			want := ""
			if a.V != nil {
				want = *a.V
			}
			diffs = append(diffs, q.Op+" "+q.K+"="+q.V+": librados "+want+", msgr "+v+" "+errName(err))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%d of %d answers differ from librados:\n%s", len(diffs), len(qs), strings.Join(diffs, "\n"))
	}
}

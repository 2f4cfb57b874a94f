package rados_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"syscall"
	"testing"
	"time"

	. "github.com/gomsgr/msgr/rados"
)

// realCeph runs the ceph CLI with a bound.
func realCeph(t *testing.T, conf string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ceph", append([]string{"-c", conf}, args...)...).Output()
	if err != nil {
		t.Fatalf("ceph %v: %v", args, err)
	}
	return out
}

func jsonEqual(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: msgr's output %q: %v", what, a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: the CLI's output %q: %v", what, b, err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("%s: msgr %s, CLI %s", what, a, b)
	}
}

// MgrCommand reaches the active mgr and answers what ceph does.
func TestInteropMgrCommand(t *testing.T) {
	conf := mgrConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// (ceph mgr services is a mon command; the mgr's own are its
	// modules' and the PG map's.)
	// A fresh mgr may still be loading its modules: ask until it knows
	// the command (bounded by ctx).
	var out []byte
	var err error
	for {
		out, _, err = c.MgrCommand(ctx, [][]byte{[]byte(`{"prefix":"balancer status","format":"json"}`)})
		if err == nil || !errors.Is(err, syscall.EINVAL) || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var b1, b2 struct {
		Active bool   `json:"active"`
		Mode   string `json:"mode"`
	}
	json.Unmarshal(out, &b1)
	json.Unmarshal(realCeph(t, conf, "balancer", "status", "-f", "json"), &b2)
	if b1.Mode == "" || b1 != b2 {
		t.Fatalf("balancer status: msgr %s, CLI %+v", out, b2)
	}
	out, _, err = c.MgrCommand(ctx, [][]byte{[]byte(`{"prefix":"osd perf","format":"json"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var p1, p2 map[string]any
	if json.Unmarshal(out, &p1) != nil || json.Unmarshal(realCeph(t, conf, "osd", "perf", "-f", "json"), &p2) != nil || len(p1) != len(p2) {
		t.Fatalf("osd perf: msgr %s, CLI %v", out, p2)
	}
	// A command the mgr serves from its PG map: the PG count agrees.
	out, _, err = c.MgrCommand(ctx, [][]byte{[]byte(`{"prefix":"pg stat","format":"json"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var a, b struct {
		Summary struct {
			NumPGs int `json:"num_pgs"`
		} `json:"pg_summary"`
	}
	json.Unmarshal(out, &a)
	json.Unmarshal(realCeph(t, conf, "pg", "stat", "-f", "json"), &b)
	if a.Summary.NumPGs == 0 || a.Summary.NumPGs != b.Summary.NumPGs {
		t.Fatalf("pg stat: msgr %s, CLI %d pgs", out, b.Summary.NumPGs)
	}
	// An unknown command: EINVAL from the mgr, as the CLI gets.
	_, _, err = c.MgrCommand(ctx, [][]byte{[]byte(`{"prefix":"no such command"}`)})
	var ce *CommandError
	if !errors.As(err, &ce) || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("unknown mgr command: %v", err)
	}
}

// OsdCommand, PGCommand and MonCommandTarget answer as ceph tell osd.N,
// ceph pg PGID query and the named mon do.
func TestInteropDaemonCommands(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _, err := c.OsdCommand(ctx, 0, [][]byte{[]byte(`{"prefix":"version","format":"json"}`)})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "tell osd.0 version", out, realCeph(t, conf, "tell", "osd.0", "version", "-f", "json"))
	if _, _, err := c.OsdCommand(ctx, 99, [][]byte{[]byte(`{"prefix":"version"}`)}); !errors.Is(err, syscall.ENXIO) {
		t.Fatalf("command to a missing OSD: %v", err)
	}

	id, err := c.GetPoolByName(ctx, "msgr")
	if err != nil {
		t.Fatal(err)
	}
	pg := []byte(jsonStr(id) + ".0")
	out, _, err = c.PGCommand(ctx, pg, [][]byte{[]byte(`{"prefix":"query","pgid":"` + string(pg) + `","format":"json"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var q1, q2 struct {
		State  string `json:"state"`
		Acting []int  `json:"acting"`
		Info   struct {
			PGID string `json:"pgid"`
		} `json:"info"`
	}
	json.Unmarshal(out, &q1)
	json.Unmarshal(realCeph(t, conf, "pg", string(pg), "query", "-f", "json"), &q2)
	if q1.Info.PGID != string(pg) || !reflect.DeepEqual(q1.Acting, q2.Acting) || q1.State != q2.State {
		t.Fatalf("pg query: msgr %+v, CLI %+v", q1, q2)
	}

	// A command to one mon is a "tell" since Octopus: its own commands,
	// as ceph tell mon.a runs them.
	out, _, err = c.MonCommandTarget(ctx, "a", [][]byte{[]byte(`{"prefix":"mon_status","format":"json"}`)})
	if err != nil {
		t.Fatal(err)
	}
	type monStatus struct {
		Name   string `json:"name"`
		Rank   int    `json:"rank"`
		State  string `json:"state"`
		Quorum []int  `json:"quorum"`
	}
	var ms1, ms2 monStatus
	json.Unmarshal(out, &ms1)
	json.Unmarshal(realCeph(t, conf, "tell", "mon.a", "mon_status", "-f", "json"), &ms2)
	if ms1.Name != "a" || !reflect.DeepEqual(ms1, ms2) {
		t.Fatalf("mon_status: msgr %+v, ceph tell %+v", ms1, ms2)
	}
	pong, err := c.PingMonitor(ctx, "a")
	var ps struct {
		Health struct {
			Status string `json:"status"`
		} `json:"health"`
		MonStatus struct {
			Name string `json:"name"`
		} `json:"mon_status"`
	}
	if err != nil || json.Unmarshal([]byte(pong), &ps) != nil || ps.Health.Status == "" || ps.MonStatus.Name != "a" {
		t.Fatalf("PingMonitor: %q %v", pong, err)
	}
	if _, _, err := c.MonCommandTarget(ctx, "zz", [][]byte{[]byte(`{"prefix":"mon_status"}`)}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("command to a missing mon: %v", err)
	}
}

func jsonStr(v int64) string { b, _ := json.Marshal(v); return string(b) }

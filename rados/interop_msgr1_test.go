package rados_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/gomsgr/msgr/rados"
)

// TestInteropMsgr1: the RADOS client over msgr1 only (ms_bind_msgr2 =
// false: the mon and the OSD are reached at their v1 addresses), with auth
// none and with cephx (the OSD authorizer's CEPHX_V2 challenge, signed
// messages both ways), against the real cluster and the real CLIs:
// objects from 0 B to 16 MiB round-trip byte for byte both ways, stat,
// ls and rm agree, and mon commands answer what ceph answers.
func TestInteropMsgr1(t *testing.T) {
	// The none and cephx clusters bind both protocols (the client is made
	// to speak msgr1); the msgr1 one speaks nothing else.
	for _, tc := range []struct{ name, env string }{{"none", "MSGR_TEST_CEPH_NONE"}, {"cephx", "MSGR_TEST_CEPH_CEPHX"}, {"msgr1-only-cephx", "MSGR_TEST_CEPH_MSGR1"}} {
		t.Run(tc.name, func(t *testing.T) {
			conf := os.Getenv(tc.env)
			if conf == "" {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is not set (CI=true)", tc.env)
				}
				t.Skipf("%s is not set: no cluster", tc.env)
			}
			for _, tool := range []string{"rados", "ceph"} {
				if _, err := exec.LookPath(tool); err != nil {
					t.Fatalf("the real %s CLI is needed: %v", tool, err)
				}
			}
			testMsgr1(t, conf)
		})
	}
}

func testMsgr1(t *testing.T, conf string) {
	c, err := NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReadConfigFile(conf); err != nil {
		t.Fatal(err)
	}
	if err := c.SetConfigOption("ms_bind_msgr2", "false"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect over msgr1: %v", err)
	}
	t.Cleanup(c.Shutdown)

	// Mon commands: what the real ceph CLI gets over msgr2.
	ours, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "mon dump", "format": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := exec.CommandContext(ctx, "ceph", "-c", conf, "mon", "dump", "-f", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(ours), bytes.TrimSpace(theirs)) {
		t.Fatalf("mon dump over msgr1:\n%s\nceph:\n%s", ours, theirs)
	}
	var od1, od2 struct {
		FSID string `json:"fsid"`
		OSDs []struct {
			OSD         int `json:"osd"`
			PublicAddrs any `json:"public_addrs"`
		} `json:"osds"`
	}
	ours, _, err = c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd dump", "format": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err = exec.CommandContext(ctx, "ceph", "-c", conf, "osd", "dump", "-f", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	if json.Unmarshal(ours, &od1) != nil || json.Unmarshal(theirs, &od2) != nil || od1.FSID != od2.FSID ||
		fmt.Sprint(od1.OSDs) != fmt.Sprint(od2.OSDs) || len(od1.OSDs) == 0 {
		t.Fatalf("osd dump over msgr1 differs from ceph's:\n%+v\n%+v", od1, od2)
	}

	pool, io := testPoolIO(t, ctx, c, 1)
	oids := roundTrips(t, ctx, conf, pool, io, "v1")
	out, _, code := realRados(t, conf, nil, "-p", pool, "ls")
	if code != 0 {
		t.Fatal("rados ls failed")
	}
	listed := slices.Sorted(slices.Values(strings.Fields(out)))
	want := slices.Sorted(slices.Values(oids))
	if !slices.Equal(listed, want) {
		t.Fatalf("rados ls: %s, want %v", listed, want)
	}
	for _, oid := range oids {
		if err := io.Delete(ctx, oid); err != nil {
			t.Fatalf("rm %s over msgr1: %v", oid, err)
		}
	}
	if out, _, _ := realRados(t, conf, nil, "-p", pool, "ls"); out != "" {
		t.Fatalf("objects left after rm: %q", out)
	}

	st, ok := MessengerStats(c)
	if !ok || st.Msgr1Conns < 2 || st.Msgr1Conns != st.Conns {
		t.Fatalf("not everything went over msgr1: %+v", st)
	}
	t.Logf("msgr1: %d connections (mon and OSD), %d objects round-tripped", st.Msgr1Conns, len(oids))
}

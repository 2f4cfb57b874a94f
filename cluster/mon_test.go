package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gomsgr/msgr/osdmap"
	"github.com/gomsgr/msgr/rados"
)

// TestMonIncrementals: pool changes commit incrementals that a client
// one epoch behind gets instead of full maps, and that take its map to
// exactly the mon's.
func TestMonIncrementals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, Config{Dir: t.TempDir(), Auth: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	mon := c.Mon
	for _, cmd := range []string{
		`{"prefix":"osd pool create","pool":"a","pg_num":4}`,
		`{"prefix":"osd pool create","pool":"b"}`,
		`{"prefix":"osd pool application enable","pool":"a","app":"rbd"}`,
		`{"prefix":"osd pool rm","pool":"b","pool2":"b","yes_i_really_really_mean_it":true}`,
	} {
		if res := mon.runCommand(nil, []string{cmd}); res.rc != 0 {
			t.Fatalf("%s: %d %s", cmd, res.rc, res.rs)
		}
	}
	mon.mu.Lock()
	defer mon.mu.Unlock()
	if mon.osdmap.Epoch != 5 || len(mon.incs) != 4 {
		t.Fatalf("epoch %d, %d incrementals", mon.osdmap.Epoch, len(mon.incs))
	}
	m, err := osdmap.Decode(mon.full[1])
	if err != nil {
		t.Fatal(err)
	}
	msg := mon.osdMapsLocked(2)
	if len(msg.Maps) != 0 || len(msg.IncrementalMaps) != 4 {
		t.Fatalf("a client at e1 gets %d full maps and %d incrementals", len(msg.Maps), len(msg.IncrementalMaps))
	}
	for e := uint32(2); e <= 5; e++ {
		inc, err := osdmap.DecodeIncremental(msg.IncrementalMaps[e])
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Apply(inc); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Append(nil); string(got) != string(mon.full[5]) {
		t.Fatal("e1 plus the incrementals is not e5")
	}
	if msg := mon.osdMapsLocked(0); len(msg.Maps) != 1 || msg.Maps[5] == nil || msg.OldestMap != 5 {
		t.Fatalf("a new client gets %v", msg)
	}
}

// TestClientGoneLeavesNothing: a client that disconnects leaves no mon
// session (subscriptions) behind; goleak (TestMain) checks goroutines.
func TestClientGoneLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Start(ctx, Config{Dir: t.TempDir(), Auth: "cephx", Pools: []string{"p"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rc, err := rados.NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.ReadConfigFile(c.ConfPath); err != nil {
		t.Fatal(err)
	}
	if err := rc.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	io, err := rc.OpenIOContext(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if err := io.WriteFull(ctx, "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	sessions := func() int {
		c.Mon.mu.Lock()
		defer c.Mon.mu.Unlock()
		return len(c.Mon.sessions)
	}
	if sessions() == 0 {
		t.Fatal("no mon session while the client is connected")
	}
	rc.Shutdown()
	// The mon hears the socket close on its event loop; wait for it.
	for sessions() != 0 {
		if ctx.Err() != nil {
			t.Fatalf("%d mon sessions left after the client went", sessions())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

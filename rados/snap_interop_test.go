package rados_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/gomsgr/msgr/rados"
)

// Pool snapshots taken by msgr are seen by the rados CLI and the other way
// round; reads at a snapshot and rollbacks agree.
func TestInteropPoolSnapshots(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 1)
	dir := t.TempDir()
	if err := io.WriteFull(ctx, "obj", []byte("version-1")); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Minute)
	if err := io.CreateSnap(ctx, "s-msgr"); err != nil {
		t.Fatal(err)
	}
	if err := io.CreateSnap(ctx, "s-msgr"); !errors.Is(err, ErrObjectExists) {
		t.Fatalf("second CreateSnap: %v", err)
	}
	if err := io.WriteFull(ctx, "obj", []byte("version-2")); err != nil {
		t.Fatal(err)
	}
	// The CLI lists msgr's snapshot and reads the object at it.
	out, _, _ := realRados(t, conf, nil, "-p", pool, "lssnap")
	if !strings.Contains(out, "s-msgr") {
		t.Fatalf("rados lssnap: %q", out)
	}
	f := filepath.Join(dir, "at-snap")
	if _, e, code := realRados(t, conf, nil, "-p", pool, "-s", "s-msgr", "get", "obj", f); code != 0 {
		t.Fatalf("rados get at the snapshot: %s", e)
	}
	if b, _ := os.ReadFile(f); string(b) != "version-1" {
		t.Fatalf("rados read %q at msgr's snapshot", b)
	}
	// The CLI takes one: msgr looks it up, names it, reads at it.
	if _, e, code := realRados(t, conf, nil, "-p", pool, "mksnap", "s-cli"); code != 0 {
		t.Fatalf("rados mksnap: %s", e)
	}
	// Our next write must carry the epoch with the CLI's snapshot: an OSD
	// waits for the client's epoch, and clones by its own map's snap
	// context (librados' callers have the same race).
	if err := c.WaitForLatestOSDMap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := io.WriteFull(ctx, "obj", []byte("version-3")); err != nil {
		t.Fatal(err)
	}
	id, err := io.LookupSnap(ctx, "s-cli")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := io.ListSnaps(ctx)
	if err != nil || len(ids) != 2 || ids[1] != id {
		t.Fatalf("ListSnaps %v %v, s-cli is %d", ids, err, id)
	}
	if name, err := io.GetSnapName(ctx, ids[0]); err != nil || name != "s-msgr" {
		t.Fatalf("GetSnapName(%d): %q %v", ids[0], name, err)
	}
	if st, err := io.GetSnapStamp(ctx, id); err != nil || st.Before(before) || st.After(time.Now().Add(time.Minute)) {
		t.Fatalf("GetSnapStamp: %v %v", st, err)
	}
	if _, err := io.LookupSnap(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LookupSnap of a missing snapshot: %v", err)
	}
	if err := io.SetReadSnap(id); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.Read(ctx, "obj", buf, 0)
	if err != nil || string(buf[:n]) != "version-2" {
		t.Fatalf("read at s-cli: %q %v", buf[:n], err)
	}
	io.SetReadSnap(SnapHead)
	// msgr rolls back to the CLI's snapshot; the CLI rolls back to msgr's.
	if err := io.RollbackSnap(ctx, "obj", "s-cli"); err != nil {
		t.Fatal(err)
	}
	f = filepath.Join(dir, "head")
	realRados(t, conf, nil, "-p", pool, "get", "obj", f)
	if b, _ := os.ReadFile(f); string(b) != "version-2" {
		t.Fatalf("after msgr's rollback rados reads %q", b)
	}
	if _, e, code := realRados(t, conf, nil, "-p", pool, "rollback", "obj", "s-msgr"); code != 0 {
		t.Fatalf("rados rollback: %s", e)
	}
	n, err = io.Read(ctx, "obj", buf, 0)
	if err != nil || string(buf[:n]) != "version-1" {
		t.Fatalf("after the CLI's rollback: %q %v", buf[:n], err)
	}
	// msgr removes the CLI's snapshot.
	if err := io.RemoveSnap(ctx, "s-cli"); err != nil {
		t.Fatal(err)
	}
	out, _, _ = realRados(t, conf, nil, "-p", pool, "lssnap")
	if strings.Contains(out, "s-cli") || !strings.Contains(out, "1 snaps") {
		t.Fatalf("after RemoveSnap, rados lssnap: %q", out)
	}
}

// Self-managed snapshots: an id from the mons, writes with it in their
// snap context preserve what it saw, reads at it and rollbacks.
func TestInteropSelfManagedSnapshots(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 1)
	if err := io.WriteFull(ctx, "obj", []byte("one")); err != nil {
		t.Fatal(err)
	}
	s1, err := io.CreateSelfManagedSnap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := io.SetSelfManagedSnapWriteContext(s1, []SnapID{s1}); err != nil {
		t.Fatal(err)
	}
	if err := io.WriteFull(ctx, "obj", []byte("two")); err != nil {
		t.Fatal(err)
	}
	s2, err := io.CreateSelfManagedSnap(ctx)
	if err != nil || s2 <= s1 {
		t.Fatalf("second snap %d (first %d): %v", s2, s1, err)
	}
	io.SetSelfManagedSnapWriteContext(s2, []SnapID{s1, s2})
	if err := io.WriteFull(ctx, "obj", []byte("three")); err != nil {
		t.Fatal(err)
	}
	// A pool in self-managed mode refuses pool snapshots, as librados.
	if err := io.CreateSnap(ctx, "pool-snap"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("pool snapshot of a self-managed pool: %v", err)
	}
	// The CLI sees the clones.
	out, _, _ := realRados(t, conf, nil, "-p", pool, "listsnaps", "obj")
	if !strings.Contains(out, "head") || strings.Count(out, "\n") < 4 {
		t.Fatalf("rados listsnaps: %q", out)
	}
	buf := make([]byte, 16)
	for _, tc := range []struct {
		snap SnapID
		want string
	}{{s1, "one"}, {s2, "two"}, {SnapHead, "three"}} {
		io.SetReadSnap(tc.snap)
		n, err := io.Read(ctx, "obj", buf, 0)
		if err != nil || string(buf[:n]) != tc.want {
			t.Fatalf("read at %d: %q %v, want %q", tc.snap, buf[:n], err, tc.want)
		}
	}
	io.SetReadSnap(SnapHead)
	if err := io.RollbackSelfManagedSnap(ctx, "obj", s1); err != nil {
		t.Fatal(err)
	}
	got, _, _ := realRados(t, conf, nil, "-p", pool, "get", "obj", "/dev/stdout")
	if got != "one" {
		t.Fatalf("after rollback to %d rados reads %q", s1, got)
	}
	for _, s := range []SnapID{s1, s2} {
		if err := io.RemoveSelfManagedSnap(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := io.SetSelfManagedSnapWriteContext(1, []SnapID{2}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("a snap context with a snap newer than seq: %v", err)
	}
}

package cluster_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/cluster"
	"github.com/gomsgr/msgr/rados"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// start runs a cluster for the test and stops it at cleanup.
func start(t *testing.T, cfg cluster.Config) *cluster.Cluster {
	t.Helper()
	cfg.Dir = t.TempDir()
	c, err := cluster.Start(ctxT(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return c
}

func connect(t *testing.T, conf string) *rados.Conn {
	t.Helper()
	rc, err := rados.NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.ReadConfigFile(conf); err != nil {
		t.Fatal(err)
	}
	if err := rc.Connect(ctxT(t, 30*time.Second)); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(rc.Shutdown)
	return rc
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

var modes = []struct{ auth, mode string }{{"none", "crc"}, {"cephx", "crc"}, {"cephx", "secure"}}

// TestGoClient drives the cluster with msgr's own RADOS client: pools,
// objects from 0 B to 4 MiB, xattrs, omap, listing, deletion.
func TestGoClient(t *testing.T) {
	for _, m := range modes {
		t.Run(m.auth+"-"+m.mode, func(t *testing.T) {
			c := start(t, cluster.Config{OSDs: 2, Auth: m.auth, Mode: m.mode})
			rc := connect(t, c.ConfPath)
			ctx := ctxT(t, 60*time.Second)
			if err := rc.MakePool(ctx, "p"); err != nil {
				t.Fatal(err)
			}
			pools, err := rc.ListPools(ctx)
			if err != nil || !slices.Equal(pools, []string{"p"}) {
				t.Fatalf("pools %v, %v", pools, err)
			}
			// A client connecting now starts from the newest full map
			// (the mon has incrementals too).
			rc = connect(t, c.ConfPath)
			io, err := rc.OpenIOContext(ctx, "p")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range []int{0, 1, 4097, 4<<20 + 3} {
				oid := fmt.Sprintf("obj-%d", n)
				names = append(names, oid)
				data := randomBytes(t, n)
				if err := io.WriteFull(ctx, oid, data); err != nil {
					t.Fatalf("write %s: %v", oid, err)
				}
				st, err := io.Stat(ctx, oid)
				if err != nil || st.Size != uint64(n) {
					t.Fatalf("stat %s: %+v %v", oid, st, err)
				}
				got := make([]byte, n+10)
				k, err := io.Read(ctx, oid, got, 0)
				if err != nil || !bytes.Equal(got[:k], data) {
					t.Fatalf("read %s: %d bytes, %v", oid, k, err)
				}
			}
			oid := names[1]
			if err := io.Append(ctx, oid, []byte("xyz")); err != nil {
				t.Fatal(err)
			}
			if err := io.SetXattr(ctx, oid, "a", []byte("v")); err != nil {
				t.Fatal(err)
			}
			if v, err := io.GetXattrValue(ctx, oid, "a"); err != nil || string(v) != "v" {
				t.Fatalf("getxattr %q %v", v, err)
			}
			if _, err := io.GetXattrValue(ctx, oid, "missing"); !errors.Is(err, rados.ErrNoData) {
				t.Fatalf("missing xattr: %v", err)
			}
			kv := map[string][]byte{"k1": []byte("v1"), "k2": []byte("v2"), "x": {}}
			if err := io.SetOmap(ctx, oid, kv); err != nil {
				t.Fatal(err)
			}
			got, err := io.GetOmapValues(ctx, oid, "", "k", 10)
			if err != nil || len(got) != 2 || string(got["k2"]) != "v2" {
				t.Fatalf("omap %v %v", got, err)
			}
			var listed []string
			if err := io.ListObjects(ctx, func(o string) { listed = append(listed, o) }); err != nil {
				t.Fatal(err)
			}
			slices.Sort(listed)
			slices.Sort(names)
			if !slices.Equal(listed, names) {
				t.Fatalf("listed %v, want %v", listed, names)
			}
			if err := io.Delete(ctx, oid); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Stat(ctx, oid); !errors.Is(err, rados.ErrNotFound) {
				t.Fatalf("stat after delete: %v", err)
			}
			if err := io.Create(ctx, names[0], rados.CreateExclusive); !errors.Is(err, rados.ErrObjectExists) {
				t.Fatalf("exclusive create of an existing object: %v", err)
			}
		})
	}
}

// TestBadInputClosesOnlyThatConnection: garbage to the mon and to an OSD
// closes those sockets; clients keep working.
func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	c := start(t, cluster.Config{Auth: "cephx", Pools: []string{"p"}})
	rc := connect(t, c.ConfPath)
	ctx := ctxT(t, 30*time.Second)
	io, err := rc.OpenIOContext(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	for _, addrs := range []string{c.Mon.Addrs()[0].Addr.String(), c.OSDs[0].Addrs()[0].Addr.String()} {
		nc, err := net.Dial("tcp", addrs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(bytes.Repeat([]byte("not a ceph banner\n"), 64)); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := nc.Read(buf); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%s kept the connection open after garbage", addrs)
				}
				break // closed by the server
			}
		}
		nc.Close()
	}
	if err := io.WriteFull(ctx, "after", []byte("still here")); err != nil {
		t.Fatal(err)
	}
}

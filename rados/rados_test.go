package rados_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/osdc"
	. "github.com/gomsgr/msgr/rados"
	"github.com/gomsgr/msgr/rados/radostest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newFake(t *testing.T) (*Conn, *radostest.Cluster) { return radostest.New(t, osdc.Config{}) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestObjectCalls(t *testing.T) {
	c, _ := newFake(t)
	ctx := ctxT(t)
	io, err := c.OpenIOContext(ctx, "vec")
	if err != nil {
		t.Fatal(err)
	}
	if io.GetPoolID() != 1 || io.GetPoolName() != "vec" {
		t.Fatalf("pool %d %q", io.GetPoolID(), io.GetPoolName())
	}
	if err := io.WriteFull(ctx, "o", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := io.Write(ctx, "o", []byte("J"), 0); err != nil {
		t.Fatal(err)
	}
	if err := io.Append(ctx, "o", []byte(" world")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.Read(ctx, "o", buf, 0)
	if err != nil || string(buf[:n]) != "Jello world" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	n, err = io.Read(ctx, "o", buf[:3], 6)
	if err != nil || string(buf[:n]) != "wor" {
		t.Fatalf("read at 6: %q %v", buf[:n], err)
	}
	st, err := io.Stat(ctx, "o")
	if err != nil || st.Size != 11 || st.ModTime.IsZero() {
		t.Fatalf("stat %+v %v", st, err)
	}
	if err := io.Truncate(ctx, "o", 5); err != nil {
		t.Fatal(err)
	}
	if st, _ := io.Stat(ctx, "o"); st.Size != 5 {
		t.Fatalf("size after truncate %d", st.Size)
	}
	if err := io.Create(ctx, "o", CreateExclusive); !errors.Is(err, ErrObjectExists) {
		t.Fatalf("exclusive create of an existing object: %v", err)
	}
	if err := io.Create(ctx, "o", CreateIdempotent); err != nil {
		t.Fatal(err)
	}
	if err := io.SetXattr(ctx, "o", "user.color", []byte("blue")); err != nil {
		t.Fatal(err)
	}
	n, err = io.GetXattr(ctx, "o", "user.color", buf)
	if err != nil || string(buf[:n]) != "blue" {
		t.Fatalf("getxattr %q %v", buf[:n], err)
	}
	if _, err := io.GetXattr(ctx, "o", "user.none", buf); !errors.Is(err, ErrNoData) {
		t.Fatalf("missing xattr: %v", err)
	}
	xs, err := io.ListXattrs(ctx, "o")
	if err != nil || len(xs) != 1 || string(xs["user.color"]) != "blue" {
		t.Fatalf("xattrs %v %v", xs, err)
	}
	if err := io.Delete(ctx, "o"); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() error{
		"stat":   func() error { _, err := io.Stat(ctx, "o"); return err },
		"read":   func() error { _, err := io.Read(ctx, "o", buf, 0); return err },
		"delete": func() error { return io.Delete(ctx, "o") },
	} {
		if err := f(); !errors.Is(err, ErrNotFound) || Errno(err) != syscall.ENOENT {
			t.Errorf("%s of a deleted object: %v", name, err)
		}
	}
	if err := io.WriteFull(ctx, "", nil); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty name: %v", err)
	}
}

func TestListAndNamespaces(t *testing.T) {
	c, _ := newFake(t)
	ctx := ctxT(t)
	io, err := c.OpenIOContext(ctx, "vec")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 20 {
		name := fmt.Sprintf("obj%d", i)
		want = append(want, name)
		if err := io.WriteFull(ctx, name, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	io.SetNamespace("other")
	if err := io.WriteFull(ctx, "hidden", []byte{1}); err != nil {
		t.Fatal(err)
	}
	io.SetNamespace("")
	var got []string
	if err := io.ListObjects(ctx, func(oid string) { got = append(got, oid) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v", got)
	}
}

func TestAsync(t *testing.T) {
	c, _ := newFake(t)
	ctx := ctxT(t)
	io, err := c.OpenIOContext(ctx, "vec")
	if err != nil {
		t.Fatal(err)
	}
	var cs []*Completion
	for i := range 16 {
		cs = append(cs, io.WriteFullAsync(ctx, fmt.Sprintf("a%d", i), bytes.Repeat([]byte{byte(i)}, 100)))
	}
	for _, comp := range cs {
		if err := comp.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 200)
	r := io.ReadAsync(ctx, "a7", buf, 0)
	<-r.Done()
	if err := r.Wait(ctx); err != nil || r.BytesRead() != 100 || buf[99] != 7 {
		t.Fatalf("async read %d %v", r.BytesRead(), err)
	}
	if err := io.DeleteAsync(ctx, "a7").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := io.AppendAsync(ctx, "a7", []byte("x")).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := io.WriteAsync(ctx, "", nil, 0).Wait(ctx); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty name: %v", err)
	}
}

// TestAsyncOnDone drives ops from their completions, as `msgr rados
// bench` does: 4 slots, each starting its next write from the previous
// one's OnDone, then reading every object back the same way; a failed
// start calls OnDone at once with the error.
func TestAsyncOnDone(t *testing.T) {
	c, _ := newFake(t)
	ctx := ctxT(t)
	io, err := c.OpenIOContext(ctx, "vec")
	if err != nil {
		t.Fatal(err)
	}
	const slots, perSlot = 4, 25
	run := func(op func(slot, i int) *Completion, check func(slot, i int, c *Completion) error) {
		t.Helper()
		errs := make(chan error, slots)
		for s := range slots {
			var next func(i int)
			next = func(i int) {
				if i == perSlot {
					errs <- nil
					return
				}
				comp := op(s, i)
				comp.OnDone(func() {
					if err := comp.Wait(ctx); err != nil {
						errs <- err
						return
					}
					if err := check(s, i, comp); err != nil {
						errs <- err
						return
					}
					next(i + 1)
				})
			}
			next(0)
		}
		for range slots {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	name := func(s, i int) string { return fmt.Sprintf("s%d-%d", s, i) }
	run(func(s, i int) *Completion { return io.WriteFullAsync(ctx, name(s, i), []byte{byte(s), byte(i)}) },
		func(int, int, *Completion) error { return nil })
	bufs := make([][]byte, slots)
	for s := range bufs {
		bufs[s] = make([]byte, 8)
	}
	run(func(s, i int) *Completion { return io.ReadAsync(ctx, name(s, i), bufs[s], 0) },
		func(s, i int, c *Completion) error {
			if got := bufs[s][:c.BytesRead()]; !bytes.Equal(got, []byte{byte(s), byte(i)}) {
				return fmt.Errorf("%s read %x", name(s, i), got)
			}
			return nil
		})
	failed := io.WriteAsync(ctx, "", nil, 0)
	var got error
	failed.OnDone(func() { got = failed.Wait(ctx) })
	if !errors.Is(got, ErrInvalidInput) {
		t.Fatalf("OnDone of an op that could not start: %v", got)
	}
}

func TestPools(t *testing.T) {
	c, f := newFake(t)
	ctx := ctxT(t)
	pools, err := c.ListPools(ctx)
	if err != nil || !slices.Equal(pools, []string{"vec"}) {
		t.Fatalf("pools %v %v", pools, err)
	}
	if _, err := c.OpenIOContext(ctx, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing pool: %v", err)
	}
	if err := c.MakePool(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	id, err := c.GetPoolByName(ctx, "p2")
	if err != nil || id != 2 {
		t.Fatalf("p2 id %d %v", id, err)
	}
	if name, err := c.GetPoolByID(ctx, 2); err != nil || name != "p2" {
		t.Fatalf("pool 2 name %q %v", name, err)
	}
	io, err := c.OpenIOContext(ctx, "p2")
	if err != nil {
		t.Fatal(err)
	}
	if err := io.WriteFull(ctx, "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if pools, _ := c.ListPools(ctx); !slices.Equal(pools, []string{"vec", "p2"}) {
		t.Fatalf("pools %v", pools)
	}
	if err := c.DeletePool(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if err := io.WriteFull(ctx, "x", []byte("y")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("write to a deleted pool: %v", err)
	}
	if err := c.DeletePool(ctx, "p2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete a deleted pool: %v", err)
	}
	if cmds := f.Commands(); cmds[0]["prefix"] != "osd pool create" || cmds[1]["prefix"] != "osd pool delete" {
		t.Fatalf("commands %v", cmds)
	}
	if _, _, err := c.MonCommand(ctx, []byte(`{"prefix":"bogus"}`)); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("bad command: %v", err)
	}
	var mce *MonCommandError
	if _, _, err := c.MonCommand(ctx, []byte(`{"prefix":"bogus"}`)); !errors.As(err, &mce) || mce.Status != "unknown command" {
		t.Fatalf("status lost: %v", err)
	}
}

func TestNotConnected(t *testing.T) {
	c, err := NewConnWithUser("admin")
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if _, err := c.OpenIOContext(ctx, "vec"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("open before connect: %v", err)
	}
	if _, err := c.ListPools(ctx); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("list before connect: %v", err)
	}
	if _, err := NewConnWithUser(""); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty user: %v", err)
	}
	if _, err := NewConnWithClusterAndUser("ceph", "bogus"); err == nil {
		t.Fatal("bad entity name accepted")
	}
	if err := c.SetConfigOption("mon_host", "127.0.0.1:3300"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.GetConfigOption("mon_host"); err != nil || v != "127.0.0.1:3300" {
		t.Fatalf("option %q %v", v, err)
	}
	if err := c.ReadConfigFile("/nonexistent/ceph.conf"); err == nil {
		t.Fatal("missing config file accepted")
	}
}

// A Conn not made by NewConn (zero, or nil) fails every call with an
// error; none panics.
func TestZeroConn(t *testing.T) {
	ctx := ctxT(t)
	for _, c := range []*Conn{{}, nil} {
		for name, err := range map[string]error{
			"ReadConfigFile":   c.ReadConfigFile("/dev/null"),
			"SetConfigOption":  c.SetConfigOption("log_file", "x"),
			"ParseCmdLineArgs": c.ParseCmdLineArgs([]string{"--log_file", "x"}),
			"Connect":          c.Connect(ctx),
		} {
			if !errors.Is(err, ErrInvalidInput) {
				t.Errorf("%s on %p: %v", name, c, err)
			}
		}
		if _, err := c.GetConfigOption("log_file"); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("GetConfigOption: %v", err)
		}
		if _, err := c.ListPools(ctx); !errors.Is(err, ErrNotConnected) {
			t.Errorf("ListPools: %v", err)
		}
		c.Shutdown()
	}
}

func TestShutdownFailsOps(t *testing.T) {
	c, _ := newFake(t)
	ctx := ctxT(t)
	io, err := c.OpenIOContext(ctx, "vec")
	if err != nil {
		t.Fatal(err)
	}
	c.Shutdown()
	if err := io.WriteFull(ctx, "x", nil); !errors.Is(err, ErrShutdown) {
		t.Fatalf("after shutdown: %v", err)
	}
	// Unconnected again: the fsid comes from the configuration (none set).
	if id, err := c.GetFSID(); err != nil || id != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("fsid after shutdown: %q %v", id, err)
	}
}

// The configuration calls behave as librados': a second file adds to the
// first, the fsid is known before connecting, unknown options are ENOENT.
func TestConfigAsLibrados(t *testing.T) {
	dir := t.TempDir()
	first := dir + "/a.conf"
	second := dir + "/b.conf"
	os.WriteFile(first, []byte("[global]\nmon host = 127.0.0.1:3300\nfsid = 0d7f6b2a-0000-4000-8000-000000000001\nlog max new = 7\n"), 0o644)
	os.WriteFile(second, []byte("[global]\nlog max new = 9\n[client]\nrados osd op timeout = 30\n"), 0o644)
	c, err := NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReadConfigFile(first); err != nil {
		t.Fatal(err)
	}
	if err := c.ReadConfigFile(second); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"mon_host": "127.0.0.1:3300", "log_max_new": "9", "rados_osd_op_timeout": "30",
		"fsid": "0d7f6b2a-0000-4000-8000-000000000001", "log_max_recent": "500",
	} {
		if v, err := c.GetConfigOption(k); err != nil || v != want {
			t.Errorf("%s = %q %v, want %q", k, v, err, want)
		}
	}
	if id, err := c.GetFSID(); err != nil || id != "0d7f6b2a-0000-4000-8000-000000000001" {
		t.Fatalf("GetFSID before Connect: %q %v", id, err)
	}
	if err := c.SetConfigOption("no_such_option", "1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown option: %v", err)
	}
	if _, err := c.GetConfigOption("no_such_option"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown option: %v", err)
	}
	if err := c.SetConfigOption("rados_osd_op_timeout", "2.5"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("fractional secs: %v", err)
	}
	if err := c.SetConfigOption("ms_crc_data", "1"); err != nil {
		t.Fatal(err)
	}
	if err := c.ParseCmdLineArgs([]string{"-m", "10.0.0.9:3300", "--log-max-new", "11", "--no-such-thing", "x"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.GetConfigOption("log_max_new"); v != "11" {
		t.Fatalf("log_max_new after ParseCmdLineArgs: %q", v)
	}
	if v, _ := c.GetConfigOption("mon_host"); v != "10.0.0.9:3300" {
		t.Fatalf("mon_host after ParseCmdLineArgs: %q", v)
	}
	if v, _ := c.GetConfigOption("ms_crc_data"); v != "true" {
		t.Fatalf("ms_crc_data %q", v)
	}
}

package rados_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/mon"
	"github.com/gomsgr/msgr/osdc"
	. "github.com/gomsgr/msgr/rados"
)

// Interop tests against the real cluster MSGR_TEST_CEPH_RADOS names (a
// ceph.conf; cephx, 3 OSDs, pool "msgr"), checked against the real rados
// CLI. They skip when it is unset, and fail under CI=true.

func clusterConf(t *testing.T) string {
	t.Helper()
	conf := os.Getenv("MSGR_TEST_CEPH_RADOS")
	if conf == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MSGR_TEST_CEPH_RADOS is not set (CI=true): the RADOS interop tests need the 3-OSD cephx cluster")
		}
		t.Skip("MSGR_TEST_CEPH_RADOS is not set: no cluster for the RADOS interop tests (scripts/ci-ceph.sh starts one)")
	}
	if _, err := exec.LookPath("rados"); err != nil {
		t.Fatalf("the real rados CLI is needed: %v", err)
	}
	return conf
}

func connect(t *testing.T, conf string) *Conn { return connectWith(t, conf, nil) }

// connectWith connects with the options in set (SetConfigOption) on top
// of conf.
func connectWith(t *testing.T, conf string, set map[string]string) *Conn {
	t.Helper()
	c, err := NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReadConfigFile(conf); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		c.SetConfigOption(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// realRados runs the rados CLI; it returns stdout, stderr and the exit code.
func realRados(t *testing.T, conf string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "rados", append([]string{"-c", conf}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("rados %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// testPool makes a fresh pool for one test and removes it afterwards.
func testPool(t *testing.T, c *Conn, size int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := fmt.Sprintf("msgr-%s-%d", strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(t.Name(), "")), time.Now().UnixNano()%100000)
	if _, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd pool create", "pool": name, "pg_num": 8, "pgp_num": 8})); err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"size", strconv.Itoa(size)}, {"min_size", "1"}, {"pg_autoscale_mode", "off"}} {
		if _, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd pool set", "pool": name, "var": kv[0], "val": kv[1], "yes_i_really_mean_it": true})); err != nil {
			t.Fatalf("pool set %s: %v", kv[0], err)
		}
	}
	if err := c.WaitForLatestOSDMap(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := c.DeletePool(ctx, name); err != nil {
			t.Errorf("delete pool %s: %v", name, err)
		}
	})
	return name
}

// testPoolIO makes a fresh pool of the given size for the test (testPool)
// and opens it.
func testPoolIO(t *testing.T, ctx context.Context, c *Conn, size int) (string, *IOContext) {
	t.Helper()
	pool := testPool(t, c, size)
	io, err := c.OpenIOContext(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	return pool, io
}

// roundTrips writes objects of every interop size with io and reads them
// back with the rados CLI, and the other way round (objects named
// prefix+"w-"+size and prefix+"r-"+size). It returns the objects' names.
func roundTrips(t *testing.T, ctx context.Context, conf, pool string, io *IOContext, prefix string) []string {
	t.Helper()
	dir := t.TempDir()
	var oids []string
	for _, size := range interopSizes {
		data := randomBytes(size)
		// msgr writes, rados reads.
		oid := fmt.Sprintf("%sw-%d", prefix, size)
		if err := io.WriteFull(ctx, oid, data); err != nil {
			t.Fatalf("write %d bytes: %v", size, err)
		}
		out := filepath.Join(dir, oid)
		if _, e, code := realRados(t, conf, nil, "-p", pool, "get", oid, out); code != 0 {
			t.Fatalf("rados get %s: %s", oid, e)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes written by msgr, rados read %d different bytes", size, len(got))
		}
		// rados writes, msgr reads.
		oid2 := fmt.Sprintf("%sr-%d", prefix, size)
		in := filepath.Join(dir, oid2)
		if err := os.WriteFile(in, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, e, code := realRados(t, conf, nil, "-p", pool, "put", oid2, in); code != 0 {
			t.Fatalf("rados put %s: %s", oid2, e)
		}
		st, err := io.Stat(ctx, oid2)
		if err != nil || st.Size != uint64(size) {
			t.Fatalf("stat of a %d-byte object: %+v %v", size, st, err)
		}
		buf := make([]byte, size+10)
		n, err := io.Read(ctx, oid2, buf, 0)
		if err != nil || !bytes.Equal(buf[:n], data) {
			t.Fatalf("%d bytes written by rados, msgr read %d (%v)", size, n, err)
		}
		oids = append(oids, oid, oid2)
	}
	return oids
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var interopSizes = []int{0, 1, 4095, 4096, 4097, 65536, 1 << 20, 4<<20 - 1, 4 << 20, 4<<20 + 1, 16 << 20}

func TestInteropReadWrite(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 1)
	roundTrips(t, ctx, conf, pool, io, "m2")
}

// statLine parses rados stat: "POOL/OBJ mtime TIME, size N".
var statLine = regexp.MustCompile(`^(\S+) mtime (\S+), size (\d+)\n$`)

func TestInteropMetadata(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 1)
	var names []string
	for i := range 30 {
		oid := fmt.Sprintf("obj-%02d", i)
		names = append(names, oid)
		if err := io.WriteFull(ctx, oid, randomBytes(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	// stat agrees.
	out, _, code := realRados(t, conf, nil, "-p", pool, "stat", "obj-07")
	m := statLine.FindStringSubmatch(out)
	st, err := io.Stat(ctx, "obj-07")
	if code != 0 || m == nil || err != nil {
		t.Fatalf("rados stat %q (%d), msgr %v", out, code, err)
	}
	rt, perr := time.Parse("2006-01-02T15:04:05.000000-0700", m[2])
	if m[1] != pool+"/obj-07" || m[3] != "107" || st.Size != 107 || perr != nil || !rt.Equal(time.Unix(st.ModTime.Unix(), 0)) {
		t.Fatalf("rados stat %q, msgr %+v", out, st)
	}
	// ls agrees.
	out, _, _ = realRados(t, conf, nil, "-p", pool, "ls")
	listed := strings.Fields(out)
	var mine []string
	if err := io.ListObjects(ctx, func(oid string) { mine = append(mine, oid) }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(listed)
	slices.Sort(mine)
	if !slices.Equal(listed, names) || !slices.Equal(mine, names) {
		t.Fatalf("rados ls %v\nmsgr ls %v", listed, mine)
	}
	// xattrs both ways.
	if err := io.SetXattr(ctx, "obj-01", "user.color", []byte("blue")); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := realRados(t, conf, nil, "-p", pool, "getxattr", "obj-01", "user.color"); out != "blue" {
		t.Fatalf("rados getxattr %q", out)
	}
	if _, e, code := realRados(t, conf, nil, "-p", pool, "setxattr", "obj-02", "user.shape", "round"); code != 0 {
		t.Fatal(e)
	}
	if v, err := io.GetXattrValue(ctx, "obj-02", "user.shape"); err != nil || string(v) != "round" {
		t.Fatalf("msgr getxattr %q %v", v, err)
	}
	xs, err := io.ListXattrs(ctx, "obj-02")
	out, _, _ = realRados(t, conf, nil, "-p", pool, "listxattr", "obj-02")
	if err != nil || len(xs) != 1 || strings.TrimSpace(out) != "user.shape" {
		t.Fatalf("listxattr: msgr %v %v, rados %q", xs, err, out)
	}
	// omap round trip, seen by rados.
	if err := io.SetOmap(ctx, "obj-03", map[string][]byte{"k1": []byte("v1"), "k2": []byte("v2")}); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := realRados(t, conf, nil, "-p", pool, "listomapkeys", "obj-03"); out != "k1\nk2\n" {
		t.Fatalf("rados listomapkeys %q", out)
	}
	if kv, err := io.GetOmapValues(ctx, "obj-03", "", "", 10); err != nil || string(kv["k2"]) != "v2" || len(kv) != 2 {
		t.Fatalf("omap %v %v", kv, err)
	}
	// rm by rados, ENOENT in msgr; rm by msgr, ENOENT in rados.
	if _, e, code := realRados(t, conf, nil, "-p", pool, "rm", "obj-04"); code != 0 {
		t.Fatal(e)
	}
	if _, err := io.Stat(ctx, "obj-04"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat after rados rm: %v", err)
	}
	if err := io.Delete(ctx, "obj-05"); err != nil {
		t.Fatal(err)
	}
	_, e, code := realRados(t, conf, nil, "-p", pool, "stat", "obj-05")
	if code == 0 || !strings.Contains(e, "(2) No such file or directory") {
		t.Fatalf("rados stat after msgr rm: %d %q", code, e)
	}
	if err := io.Delete(ctx, "obj-05"); !errors.Is(err, ErrNotFound) || Errno(err) != syscall.ENOENT {
		t.Fatalf("second delete: %v", err)
	}
	// A missing pool, as both report it.
	if _, err := c.OpenIOContext(ctx, "no-such-pool"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing pool: %v", err)
	}
	if _, e, code := realRados(t, conf, nil, "-p", "no-such-pool", "ls"); code == 0 || !strings.Contains(e, "error opening pool no-such-pool: (2) No such file or directory") {
		t.Fatalf("rados on a missing pool: %d %q", code, e)
	}
}

func TestInteropPools(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("msgr-mkpool-%d", time.Now().UnixNano()%100000)
	if err := c.MakePool(ctx, name); err != nil {
		t.Fatal(err)
	}
	out, _, _ := realRados(t, conf, nil, "lspools")
	mine, err := c.ListPools(ctx)
	if err != nil || !slices.Contains(strings.Fields(out), name) || !slices.Equal(strings.Fields(out), mine) {
		t.Fatalf("rados lspools %q, msgr %v %v", out, mine, err)
	}
	if err := c.DeletePool(ctx, name); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := realRados(t, conf, nil, "lspools"); slices.Contains(strings.Fields(out), name) {
		t.Fatalf("pool still listed by rados: %q", out)
	}
	if err := c.DeletePool(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete a deleted pool: %v", err)
	}
}

// osdPID returns the pid of osd.N of the cluster whose ceph.conf is conf
// (scripts/ceph-cluster.sh keeps pid files in DIR/run).
func osdPID(t *testing.T, conf string, osd int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(conf), "run", fmt.Sprintf("osd.%d.pid", osd)))
	if err != nil {
		t.Skipf("no pid file for osd.%d: %v", osd, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// stopOSD stops osd.N's process (SIGSTOP) and marks it down, as its
// peers would after their heartbeat grace. resume continues it; it runs
// at the end of the test at the latest, and only once.
func stopOSD(t *testing.T, ctx context.Context, c *Conn, conf string, osd int) (resume func()) {
	t.Helper()
	pid := osdPID(t, conf, osd)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resume = sync.OnceFunc(func() { syscall.Kill(pid, syscall.SIGCONT) })
	t.Cleanup(resume)
	if _, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd down", "ids": []string{strconv.Itoa(osd)}})); err != nil {
		t.Fatal(err)
	}
	return resume
}

// An OSD stops in the middle of a write/read workload on a pool of size
// 2: the map marks it down, the Objecter resends to the new primaries, and
// every op completes with every byte intact.
func TestInteropOSDStopUnderLoad(t *testing.T) {
	conf := clusterConf(t)
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, io := testPoolIO(t, ctx, c, 2)
	const workers, perWorker = 8, 60
	written := make([]map[string][]byte, workers)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	progress := make(chan struct{}, workers*perWorker)
	for w := range workers {
		written[w] = map[string][]byte{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				oid := fmt.Sprintf("load-%d-%d", w, i)
				data := randomBytes(4096 + 17*i)
				if err := io.WriteFull(ctx, oid, data); err != nil {
					errs <- fmt.Errorf("write %s: %w", oid, err)
					return
				}
				written[w][oid] = data
				buf := make([]byte, len(data)+1)
				n, err := io.Read(ctx, oid, buf, 0)
				if err != nil || !bytes.Equal(buf[:n], data) {
					errs <- fmt.Errorf("read back %s: %d bytes, %v", oid, n, err)
					return
				}
				progress <- struct{}{}
			}
		}()
	}
	// After a tenth of the workload, stop osd.0's process and mark it down,
	// as its peers would after their heartbeat grace; resume it later.
	for range workers * perWorker / 10 {
		<-progress
	}
	before := mustMapEpoch(t, c)
	resume := stopOSD(t, ctx, c, conf, 0)
	defer resume() // before the test's own deferred clean-ups, which need the OSD
	for range workers * perWorker / 5 {
		select {
		case <-progress:
		case err := <-errs:
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatal("workload stalled with osd.0 stopped")
		}
	}
	resume()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if after := mustMapEpoch(t, c); after <= before {
		t.Fatalf("map epoch %d → %d: the stop did not change the map", before, after)
	}
	// Ops in flight to the stopped OSD were resent to the new primaries.
	st := c.Objecter().Stats()
	t.Logf("objecter: %+v", st)
	if st.Maps < 2 || st.Resends == 0 {
		t.Fatalf("no resend after osd.0 stopped: %+v", st)
	}
	for _, objs := range written {
		for oid, data := range objs {
			buf := make([]byte, len(data)+1)
			n, err := io.Read(ctx, oid, buf, 0)
			if err != nil || !bytes.Equal(buf[:n], data) {
				t.Fatalf("verify %s: %d bytes, %v", oid, n, err)
			}
		}
	}
}

func mustMapEpoch(t *testing.T, c *Conn) uint32 {
	t.Helper()
	out, _, err := c.MonCommand(context.Background(), mustJSON(map[string]any{"prefix": "osd dump", "format": "json"}))
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ Epoch uint32 }
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	return d.Epoch
}

// Two clients' first ops on one object both take effect: each client is
// client.<its global id>, so the OSD does not take the second op (same
// tid 1) for a resend of the first.
func TestInteropTwoClients(t *testing.T) {
	conf := clusterConf(t)
	admin := connect(t, conf)
	pool := testPool(t, admin, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, e, code := realRados(t, conf, nil, "-p", pool, "put", "shared", empty); code != 0 {
		t.Fatal(e)
	}
	var ids []uint64
	for i, name := range []string{"user.a", "user.b"} {
		c := connect(t, conf)
		ids = append(ids, c.GetInstanceID())
		io, err := c.OpenIOContext(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		if err := io.SetXattr(ctx, "shared", name, []byte{byte('0' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	out, _, _ := realRados(t, conf, nil, "-p", pool, "listxattr", "shared")
	if out != "user.a\nuser.b\n" || ids[0] == ids[1] || ids[0] == 0 {
		t.Fatalf("listxattr %q after one setxattr by each of clients %v", out, ids)
	}
}

// Connection resets injected under load (ms_inject_socket_failures: about
// one socket operation in N fails, faulting its connection) lose no op:
// the Objecter resends what each lossy OSD connection had in flight.
func TestInteropResetsUnderLoad(t *testing.T) {
	conf := clusterConf(t)
	admin := connect(t, conf)
	pool := testPool(t, admin, 1)
	c := connectFaulty(t, conf, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	io, err := c.OpenIOContext(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 50
	// A failure comes about once in 200 socket operations, and the
	// writes coalesce, so a round can draw none: go on (a few rounds at
	// most) until one has reset a session with ops in flight.
	rounds := 0
	var st osdc.Stats
	for rounds == 0 || (st.Resets == 0 || st.Resends == 0) && rounds < 6 {
		round := rounds
		rounds++
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					oid := fmt.Sprintf("reset-%d-%d-%d", round, w, i)
					data := randomBytes(1000 + 37*i)
					if err := io.WriteFull(ctx, oid, data); err != nil {
						errs <- fmt.Errorf("write %s: %w", oid, err)
						return
					}
					buf := make([]byte, len(data)+1)
					n, err := io.Read(ctx, oid, buf, 0)
					if err != nil || !bytes.Equal(buf[:n], data) {
						errs <- fmt.Errorf("read %s: %d bytes, %v", oid, n, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		st = c.Objecter().Stats()
		t.Logf("objecter after round %d: %+v", rounds, st)
	}
	if st.Resets == 0 || st.Resends == 0 {
		t.Fatalf("no reset was injected in %d rounds: %+v", rounds, st)
	}
	// Every object is there, as the real rados lists them.
	out, _, _ := realRados(t, conf, nil, "-p", pool, "ls")
	if n := len(strings.Fields(out)); n != rounds*workers*perWorker {
		t.Fatalf("rados lists %d objects, want %d", n, rounds*workers*perWorker)
	}
}

// The same data path in secure mode (AES-GCM on the mon and OSD
// connections), on the cluster MSGR_TEST_CEPH_SECURE names.
func TestInteropSecureMode(t *testing.T) {
	conf := os.Getenv("MSGR_TEST_CEPH_SECURE")
	if conf == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MSGR_TEST_CEPH_SECURE is not set (CI=true)")
		}
		t.Skip("MSGR_TEST_CEPH_SECURE is not set: no secure-mode cluster")
	}
	c := connect(t, conf)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, io := testPoolIO(t, ctx, c, 1)
	dir := t.TempDir()
	for _, size := range []int{0, 4096, 4<<20 + 1} {
		data := randomBytes(size)
		oid := fmt.Sprintf("secure-%d", size)
		if err := io.WriteFull(ctx, oid, data); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, oid)
		if _, e, code := realRados(t, conf, nil, "-p", pool, "get", oid, out); code != 0 {
			t.Fatalf("rados get: %s", e)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes written in secure mode, rados read %d different bytes", size, len(got))
		}
		buf := make([]byte, size+1)
		if n, err := io.Read(ctx, oid, buf, 0); (err != nil && size > 0) || !bytes.Equal(buf[:n], data) {
			t.Fatalf("read back %d of %d bytes: %v", n, size, err)
		}
	}
	// Big writes in flight together on the OSD's connection (the data
	// made first, so that they are sent back to back): the frames queued
	// behind the first are sealed chunk by chunk as they are written
	// (wire.SendSums); the OSD must take them, and the real rados read
	// them.
	var datas [][]byte
	for i := range 4 {
		datas = append(datas, randomBytes(2<<20+100*i))
	}
	var writes []*Completion
	for i, data := range datas {
		writes = append(writes, io.WriteFullAsync(ctx, fmt.Sprintf("secure-queued-%d", i), data))
	}
	for i, w := range writes {
		if err := w.Wait(ctx); err != nil {
			t.Fatalf("queued write %d: %v", i, err)
		}
	}
	for i, data := range datas {
		oid := fmt.Sprintf("secure-queued-%d", i)
		out := filepath.Join(dir, oid)
		if _, e, code := realRados(t, conf, nil, "-p", pool, "get", oid, out); code != 0 {
			t.Fatalf("rados get: %s", e)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
			t.Fatalf("queued write %d: rados read %d different bytes", i, len(got))
		}
	}
}

// A wrong key is refused: Connect fails within its context. (Ceph's
// client fails at once with EACCES; package mon keeps hunting until the
// deadline, so only the failure is asserted here.)
func TestInteropWrongKey(t *testing.T) {
	conf := clusterConf(t)
	kr := filepath.Join(t.TempDir(), "keyring")
	// A valid AES key that is not client.admin's.
	os.WriteFile(kr, []byte("[client.admin]\n\tkey = AQBBhCVpAAAAABAAV0Ii1sfhd1lgbFNl2cH6bQ==\n"), 0o600)
	c, err := NewConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReadConfigFile(conf); err != nil {
		t.Fatal(err)
	}
	c.SetConfigOption("keyring", kr)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	start := time.Now()
	if err = c.Connect(ctx); err == nil {
		c.Shutdown()
		t.Fatal("connected with a wrong key")
	}
	if _, err := c.OpenIOContext(context.Background(), "msgr"); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("after a failed Connect: %v", err)
	}
	t.Logf("refused after %v: %v", time.Since(start).Round(time.Millisecond), err)
}

// wrongKey is a well-formed cephx key that no cluster of the tests holds.
const wrongKey = "AQBxMyRpAAAAABAAQ0+1fYs8z8Yb0PH5Jc6ZaQ=="

// TestInteropConnectDenied: the monitors refuse a wrong key and an entity
// they do not know, and Connect says so at once (EACCES, as
// rados_connect's -EACCES) instead of hunting until its context ends.
func TestInteropConnectDenied(t *testing.T) {
	conf := clusterConf(t)
	for _, tc := range []struct{ name, user string }{
		{"wrong key", "admin"},
		{"unknown entity", "msgr-no-such-user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keyring := filepath.Join(t.TempDir(), "keyring")
			if err := os.WriteFile(keyring, []byte(fmt.Sprintf("[client.%s]\n\tkey = %s\n", tc.user, wrongKey)), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := NewConnWithUser(tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.ReadConfigFile(conf); err != nil {
				t.Fatal(err)
			}
			if err := c.SetConfigOption("keyring", keyring); err != nil {
				t.Fatal(err)
			}
			// The connect timeout; Connect must fail before it ends, on the
			// monitor's refusal rather than on the context.
			errDeadline := errors.New("connect timeout reached")
			ctx, cancel := context.WithTimeoutCause(context.Background(), 30*time.Second, errDeadline)
			defer cancel()
			err = c.Connect(ctx)
			if ctx.Err() != nil {
				t.Fatalf("Connect returned only when its context ended: %v", err)
			}
			var ae *AuthError
			if !errors.Is(err, mon.ErrAuthFailed) || !errors.Is(err, auth.ErrDenied) || !errors.Is(err, ErrAccessDenied) ||
				!errors.Is(err, syscall.EACCES) || Errno(err) != syscall.EACCES || !errors.As(err, &ae) {
				t.Fatalf("Connect: %v (errno %d)", err, Errno(err))
			}
			if errors.Is(err, mon.ErrNoMonitor) || errors.Is(err, errDeadline) {
				t.Fatalf("Connect blamed the monitors' reachability: %v", err)
			}
			if _, err := c.ListPools(ctx); !errors.Is(err, ErrNotConnected) {
				t.Fatalf("ListPools after a refused Connect: %v", err)
			}
			// The real rados is refused the same way.
			_, e, code := realRados(t, conf, nil, "--no-mon-config", "--id", tc.user, "--keyring", keyring, "lspools")
			if code == 0 || !strings.Contains(e, "couldn't connect to cluster: (13) Permission denied") {
				t.Fatalf("rados with the same keyring: %d %q", code, e)
			}
		})
	}
}

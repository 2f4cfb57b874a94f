package osdc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	. "github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdc/osdctest"
	"github.com/gomsgr/msgr/osdmap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup returns an Objecter on a fake cluster of n OSDs at epoch 10.
func setup(t *testing.T, n int, cfg Config) (*Objecter, *osdctest.Cluster, *osdmap.OSDMap) {
	t.Helper()
	f := osdctest.NewCluster(t)
	o := New(f, cfg)
	f.Objecter = o
	m := osdctest.DeriveMap(osdctest.BaseMap(t), 10, n, nil, nil)
	o.HandleOSDMap(m)
	t.Cleanup(func() {
		o.Close()
		f.Stop()
	})
	return o, f, m
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func do(t *testing.T, o *Objecter, oid string, ops ...messages.OSDOp) (*Result, error) {
	t.Helper()
	return o.Do(ctxT(t), &Request{Pool: 1, Oid: oid, Ops: ops})
}

func TestBasicOps(t *testing.T) {
	o, f, m := setup(t, 1, Config{Now: func() time.Time { return time.Unix(1700000001, 5) }})
	data := bytes.Repeat([]byte("x"), 4096)
	if _, err := do(t, o, "obj1", messages.NewWriteFullOp(data)); err != nil {
		t.Fatal(err)
	}
	sent := f.Sent(0)[0]
	// What the real rados put sent (see messages' capture test), with our
	// map's epoch and the object's placement.
	pg := m.Pools[1].RawPGToPG(osdmap.PG{Pool: 1, Seed: m.Pools[1].HashKey("obj1", "")})
	if sent.Oid != "obj1" || sent.Flags != messages.FlagKnownRedir|messages.FlagWrite|messages.FlagOnDisk ||
		sent.Epoch != 10 || sent.PGID.Seed != pg.Seed || sent.PGID.Shard != messages.ShardNone ||
		sent.Hash != m.Pools[1].HashKey("obj1", "") || sent.Locator.Hash != -1 || sent.RetryAttempt != 0 ||
		sent.Mtime != (encoding.UTime{Sec: 1700000001, Nsec: 5}) || sent.Snap != messages.SnapHead ||
		sent.Features != encoding.FeaturesAll || sent.Tid != 1 {
		t.Fatalf("sent %+v", sent)
	}
	// The captured rados put hashed obj1 to 0x6cf8deff.
	if sent.Hash != 0x6cf8deff || sent.PGID.Seed != 7 {
		t.Fatalf("obj1 hash %#x pg %d, rados computed 0x6cf8deff pg 7", sent.Hash, sent.PGID.Seed)
	}
	res, err := do(t, o, "obj1", messages.NewReadOp(0, 1<<20))
	if err != nil || !bytes.Equal(res.Ops[0].Data, data) {
		t.Fatalf("read: %v, %d bytes", err, len(res.Ops[0].Data))
	}
	if got := f.Sent(0)[1]; got.Flags != messages.FlagKnownRedir|messages.FlagRead|messages.FlagOnDisk || !got.Mtime.IsZero() {
		t.Fatalf("read sent flags %#x mtime %v", got.Flags, got.Mtime)
	}
	res, err = do(t, o, "obj1", messages.NewStatOp())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := messages.DecodeStat(res.Ops[0].Data); err != nil || st.Size != 4096 {
		t.Fatalf("stat %+v %v", st, err)
	}
	if _, err := do(t, o, "obj1", messages.NewDeleteOp()); err != nil {
		t.Fatal(err)
	}
	_, err = do(t, o, "obj1", messages.NewStatOp())
	var oe *OSDError
	if !errors.Is(err, syscall.ENOENT) || !errors.As(err, &oe) || oe.Oid != "obj1" || oe.Pool != 1 {
		t.Fatalf("stat after delete: %v", err)
	}
	if ops, b := o.InFlight(); ops != 0 || b != 0 {
		t.Fatalf("budget leaked: %d ops %d bytes", ops, b)
	}
}

func TestMissingPool(t *testing.T) {
	var asked int
	var o *Objecter
	o, _, _ = setup(t, 1, Config{RequestMap: func(ctx context.Context) error { asked++; return nil }})
	_, err := o.Do(ctxT(t), &Request{Pool: 99, Oid: "x", Ops: []messages.OSDOp{messages.NewStatOp()}})
	if !errors.Is(err, syscall.ENOENT) || asked != 1 {
		t.Fatalf("err %v, map requested %d times", err, asked)
	}
	if err := o.ListObjects(ctxT(t), 99, "", func(messages.ListEntry) error { return nil }); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("list: %v", err)
	}
}

// pgOf returns the PG obj maps to in pool 1.
func pgOf(m *osdmap.OSDMap, obj string) osdmap.PG {
	p := m.Pools[1]
	return p.RawPGToPG(osdmap.PG{Pool: 1, Seed: p.HashKey(obj, "")})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// An OSD that stops answering, then a map that moves the PG to another
// OSD: the op is resent there, marked as a retry, and completes.
func TestResendOnMapChange(t *testing.T) {
	o, f, m := setup(t, 2, Config{})
	pg := pgOf(m, "obj1")
	// Start with the PG on osd.0 explicitly.
	o.HandleOSDMap(osdctest.DeriveMap(m, 11, 2, nil, map[osdmap.PG][]int32{pg: {0}}))
	f.SetIntercept(func(osd int32, _ *messages.MOSDOp) (*messages.MOSDOpReply, bool) { return nil, osd == 0 })
	done := make(chan error, 1)
	go func() {
		_, err := do(t, o, "obj1", messages.NewWriteFullOp([]byte("abc")))
		done <- err
	}()
	waitFor(t, "the op to reach osd.0", func() bool { return len(f.Sent(0)) == 1 })
	// osd.0 goes down; the PG moves to osd.1.
	o.HandleOSDMap(osdctest.DeriveMap(m, 12, 2, []int32{0}, map[osdmap.PG][]int32{pg: {1}}))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := f.Sent(1)
	if len(got) != 1 || got[0].RetryAttempt != 1 || got[0].Flags&messages.FlagRetry == 0 || got[0].Epoch != 12 || got[0].Tid != f.Sent(0)[0].Tid {
		t.Fatalf("resent %+v", got)
	}
	// An older map changes nothing.
	o.HandleOSDMap(osdctest.DeriveMap(m, 5, 2, nil, map[osdmap.PG][]int32{pg: {0}}))
	if o.Map().Epoch != 12 {
		t.Fatalf("epoch went back to %d", o.Map().Epoch)
	}
}

// A map where the acting set changes but the primary stays: a new interval,
// so the op is resent to the same OSD (Ceph resends on interval change).
func TestResendOnIntervalChange(t *testing.T) {
	o, f, m := setup(t, 2, Config{})
	pg := pgOf(m, "obj1")
	o.HandleOSDMap(osdctest.DeriveMap(m, 11, 2, nil, map[osdmap.PG][]int32{pg: {0}}))
	var drop sync.Once
	f.SetIntercept(func(osd int32, _ *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		dropped := false
		drop.Do(func() { dropped = true })
		return nil, dropped
	})
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "obj1", messages.NewStatOp()); done <- err }()
	waitFor(t, "the first send", func() bool { return len(f.Sent(0)) == 1 })
	o.HandleOSDMap(osdctest.DeriveMap(m, 12, 2, nil, map[osdmap.PG][]int32{pg: {0, 1}}))
	if err := <-done; !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("stat of a missing object: %v", err)
	}
	if got := f.Sent(0); len(got) != 2 || got[1].RetryAttempt != 1 {
		t.Fatalf("sends %d", len(got))
	}
}

// A connection reset under load loses no op: every op in flight on the
// faulted connection is resent on a new one.
func TestResendOnReset(t *testing.T) {
	o, f, _ := setup(t, 1, Config{ResetBackoff: time.Millisecond})
	var mu sync.Mutex
	dropFirst := map[uint64]bool{}
	f.SetIntercept(func(osd int32, m *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		mu.Lock()
		defer mu.Unlock()
		if m.RetryAttempt == 0 && !dropFirst[m.Tid] {
			dropFirst[m.Tid] = true
			return nil, true // lost with the connection
		}
		return nil, false
	})
	const n = 32
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := do(t, o, fmt.Sprintf("o%d", i), messages.NewWriteFullOp([]byte{byte(i)}))
			errs <- err
		}()
	}
	waitFor(t, "all first sends", func() bool { return len(f.Sent(0)) == n })
	f.LastConn(0).Reset()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := o.Stats(); st.Resets != 1 || st.Resends < n || st.Ops != n || st.Sends != st.Ops+st.Resends {
		t.Fatalf("stats %+v", st)
	}
	if f.NumObjects() != n || f.Dials(0) != 2 {
		t.Fatalf("%d objects written, %d dials", f.NumObjects(), f.Dials(0))
	}
	for i := range n {
		if d, ok := f.Data(1, "", fmt.Sprintf("o%d", i)); !ok || !bytes.Equal(d, []byte{byte(i)}) {
			t.Fatalf("object o%d: %v %v", i, d, ok)
		}
	}
}

func TestEAGAINAndRedirect(t *testing.T) {
	o, f, _ := setup(t, 1, Config{})
	var calls int
	f.SetIntercept(func(osd int32, m *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		calls++
		switch calls {
		case 1:
			return osdctest.Reply(m, -11), false // EAGAIN: resend
		case 2:
			r := osdctest.Reply(m, 0)
			r.Redirect = &messages.RequestRedirect{Locator: messages.ObjectLocator{Pool: -1, Hash: -1}, Object: "elsewhere"}
			return r, false
		}
		return nil, false
	})
	if _, err := do(t, o, "here", messages.NewWriteFullOp([]byte("v"))); err != nil {
		t.Fatal(err)
	}
	got := f.Sent(0)
	if len(got) != 3 || got[1].RetryAttempt != 1 || got[2].Oid != "elsewhere" || got[2].Flags&messages.FlagRedirected == 0 {
		t.Fatalf("sends: %v", got)
	}
	_, there := f.Data(1, "", "elsewhere")
	_, here := f.Data(1, "", "here")
	if !there || here {
		t.Fatal("redirected write landed in the wrong object")
	}
}

func TestStaleReplyIgnored(t *testing.T) {
	o, f, m := setup(t, 2, Config{})
	var first *messages.MOSDOp
	var mu sync.Mutex
	f.SetIntercept(func(osd int32, op *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = op
			return nil, true
		}
		return nil, false
	})
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "obj", messages.NewStatOp()); done <- err }()
	waitFor(t, "first send", func() bool { return len(f.Sent(0)) == 1 })
	o.HandleOSDMap(osdctest.DeriveMap(m, 11, 2, nil, map[osdmap.PG][]int32{pgOf(m, "obj"): {0, 1}})) // interval change: resend
	err := <-done
	if !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("err %v", err)
	}
	// A late answer to the first attempt, after completion, changes nothing.
	mu.Lock()
	f.Objecter.HandleMessage(f.LastConn(0), osdctest.Reply(first, 0))
	mu.Unlock()
}

// TestBackoff runs in a synctest bubble: "nothing else was sent" is
// checked once every goroutine is idle, not after a sleep.
func TestBackoff(t *testing.T) { synctest.Test(t, testBackoff) }

func testBackoff(t *testing.T) {
	o, f, m := setup(t, 1, Config{})
	// Open the session with a first op.
	if _, err := do(t, o, "warm", messages.NewWriteFullOp([]byte("w"))); err != nil {
		t.Fatal(err)
	}
	c := f.LastConn(0)
	pool := m.Pools[1]
	hash := pool.HashKey("blocked", "")
	pg := pool.RawPGToPG(osdmap.PG{Pool: 1, Seed: hash})
	h := messages.HObject{Oid: "blocked", Snap: messages.SnapHead, Hash: hash, Pool: 1}
	spg := messages.SPG{PG: messages.PG{Pool: 1, Seed: pg.Seed}, Shard: messages.ShardNone}
	f.Push(c, &messages.MOSDBackoff{PGID: spg, Epoch: 10, Op: messages.BackoffBlock, ID: 5, Begin: h, End: h})
	waitFor(t, "the ack", func() bool { return len(f.Acks()) == 1 })
	if a := f.Acks()[0]; a.Op != messages.BackoffAckBlock || a.ID != 5 || a.Begin != h || a.PGID != spg {
		t.Fatalf("ack %+v", a)
	}
	before := len(f.Sent(0))
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "blocked", messages.NewWriteFullOp([]byte("b"))); done <- err }()
	// Another object is not blocked.
	if _, err := do(t, o, "free", messages.NewWriteFullOp([]byte("f"))); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	if got := f.Sent(0); len(got) != before+1 || got[before].Oid != "free" {
		t.Fatalf("sent during the block: %v", got[before:])
	}
	f.Push(c, &messages.MOSDBackoff{PGID: spg, Epoch: 10, Op: messages.BackoffUnblock, ID: 5, Begin: h, End: h})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	o, f, _ := setup(t, 1, Config{OpTimeout: 30 * time.Millisecond})
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) { return nil, true })
	_, err := do(t, o, "slow", messages.NewStatOp())
	if !errors.Is(err, ErrTimedOut) || !errors.Is(err, syscall.ETIMEDOUT) {
		t.Fatalf("timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err = o.Do(ctx, &Request{Pool: 1, Oid: "slow", Ops: []messages.OSDOp{messages.NewStatOp()}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	// A completed (cancelled) op is unlinked when it gives back its budget.
	if ops, _ := o.InFlight(); ops != 0 {
		t.Fatalf("%d ops holding budget", ops)
	}
}

// TestThrottle runs in a synctest bubble, so that "the third op waits" is
// checked with every goroutine idle.
func TestThrottle(t *testing.T) { synctest.Test(t, testThrottle) }

func testThrottle(t *testing.T) {
	o, f, _ := setup(t, 1, Config{InflightOps: 2})
	release := make(chan struct{})
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		<-release
		return nil, false
	})
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := do(t, o, fmt.Sprintf("t%d", i), messages.NewWriteFullOp([]byte("x")))
			errs <- err
		}()
	}
	waitFor(t, "two ops in flight", func() bool { ops, _ := o.InFlight(); return ops == 2 })
	synctest.Wait()
	if ops, b := o.InFlight(); ops != 2 || b != 2 || len(f.Sent(0)) > 1 {
		t.Fatalf("in flight %d ops %d bytes, %d sent", ops, b, len(f.Sent(0)))
	}
	close(release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Bytes: an op larger than the whole budget still gets through alone.
	o2, f2, _ := setup(t, 1, Config{InflightBytes: 10})
	_ = f2
	if _, err := do(t, o2, "big", messages.NewWriteFullOp(make([]byte, 100))); err != nil {
		t.Fatal(err)
	}
}

func TestPausedAndFull(t *testing.T) {
	o, _, m := setup(t, 1, Config{})
	full := osdctest.DeriveMap(m, 11, 1, nil, nil)
	full.Flags |= 1 << 1 // CEPH_OSDMAP_FULL
	o.HandleOSDMap(full)
	// Reads go on; writes wait for the flag to clear.
	if _, err := do(t, o, "r", messages.NewStatOp()); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("read during full: %v", err)
	}
	// Forced ops (deletes, as librados sends them) go through.
	if _, err := o.Do(ctxT(t), &Request{Pool: 1, Oid: "r", Flags: messages.FlagFullForce, Ops: []messages.OSDOp{messages.NewDeleteOp()}}); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("forced delete during full: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "w", messages.NewWriteFullOp([]byte("x"))); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("write went through a full cluster: %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	o.HandleOSDMap(osdctest.DeriveMap(m, 12, 1, nil, nil))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPoolDeletedFailsOps(t *testing.T) {
	o, f, m := setup(t, 1, Config{})
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) { return nil, true })
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "x", messages.NewStatOp()); done <- err }()
	waitFor(t, "send", func() bool { return len(f.Sent(0)) == 1 })
	gone := osdctest.DeriveMap(m, 11, 1, nil, nil)
	delete(gone.Pools, 1)
	o.HandleOSDMap(gone)
	if err := <-done; !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("op on a deleted pool: %v", err)
	}
}

func TestCloseFailsInflight(t *testing.T) {
	f := osdctest.NewCluster(t)
	o := New(f, Config{})
	f.Objecter = o
	defer f.Stop()
	o.HandleOSDMap(osdctest.DeriveMap(osdctest.BaseMap(t), 10, 1, nil, nil))
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) { return nil, true })
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "x", messages.NewStatOp()); done <- err }()
	waitFor(t, "send", func() bool { return len(f.Sent(0)) == 1 })
	o.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("in flight at close: %v", err)
	}
	if _, err := do(t, o, "y", messages.NewStatOp()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestListObjects(t *testing.T) {
	o, f, _ := setup(t, 1, Config{})
	var want []string
	for i := range 40 {
		name := fmt.Sprintf("obj-%02d", i)
		want = append(want, name)
		if _, err := do(t, o, name, messages.NewWriteFullOp(nil)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := o.ListObjects(ctxT(t), 1, "", func(e messages.ListEntry) error { got = append(got, e.Oid); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v", got)
	}
	// One pgnls per PG, in bitwise order, each naming its PG.
	var pgs []uint32
	for _, m := range f.Sent(0) {
		if len(m.Ops) == 1 && m.Ops[0].Op == messages.OpPGNLS {
			pgs = append(pgs, m.PGID.Seed)
			if m.Hash != m.PGID.Seed || m.Locator.Hash != int64(m.PGID.Seed) ||
				m.Flags != messages.FlagKnownRedir|messages.FlagIgnoreOverlay|messages.FlagRead|messages.FlagOnDisk {
				t.Fatalf("pgnls %+v", m)
			}
		}
	}
	if !slices.Equal(pgs, osdctest.BitwiseOrder(8)) {
		t.Fatalf("PGs asked %v", pgs)
	}
	stop := errors.New("stop")
	if err := o.ListObjects(ctxT(t), 1, "", func(messages.ListEntry) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error: %v", err)
	}
}

func TestStartAsync(t *testing.T) {
	o, _, _ := setup(t, 1, Config{})
	var ps []*Pending
	for i := range 10 {
		p, err := o.Start(ctxT(t), &Request{Pool: 1, Oid: fmt.Sprintf("a%d", i), Ops: []messages.OSDOp{messages.NewWriteFullOp([]byte{byte(i)})}})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if _, err := p.Wait(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if res, err := p.Result(); err != nil || res == nil {
			t.Fatalf("Result after Wait: %v %v", res, err)
		}
	}
	if ops, _ := o.InFlight(); ops != 0 {
		t.Fatalf("%d ops hold budget", ops)
	}
	// A Start whose context ends fails with that context's error.
	ctx, cancel := context.WithCancel(context.Background())
	_, f, _ := setup(t, 1, Config{})
	_ = f
	o2 := f.Objecter
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) { return nil, true })
	p, err := o2.Start(ctx, &Request{Pool: 1, Oid: "x", Ops: []messages.OSDOp{messages.NewStatOp()}})
	if err != nil {
		t.Fatal(err)
	}
	short, stop := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer stop()
	if _, err := p.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a short context: %v", err)
	}
	cancel()
	<-p.Done()
	if _, err := p.Result(); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
}

// A write/read workload while OSDs go down and come back and connections
// reset: every op completes and every byte reads back as written.
func TestWorkloadUnderFaults(t *testing.T) {
	o, f, m := setup(t, 3, Config{ResetBackoff: time.Millisecond})
	// The dead OSD of the moment swallows what it gets, as a stopped
	// daemon whose socket is still open would.
	var mu sync.Mutex
	dead := int32(-1)
	f.SetIntercept(func(osd int32, _ *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		mu.Lock()
		defer mu.Unlock()
		return nil, osd == dead
	})
	pgs := make([]osdmap.PG, 8)
	for i := range pgs {
		pgs[i] = osdmap.PG{Pool: 1, Seed: uint32(i)}
	}
	// place puts every PG on osd primary (size 1, like the test pools).
	place := func(epoch uint32, primary int32, down []int32) *osdmap.OSDMap {
		temp := map[osdmap.PG][]int32{}
		for _, pg := range pgs {
			temp[pg] = []int32{primary}
		}
		return osdctest.DeriveMap(m, epoch, 3, down, temp)
	}
	o.HandleOSDMap(place(11, 0, nil))

	// The workers write and read back until the faults are over, so
	// that the two overlap however fast the machine is.
	const workers = 8
	stop := make(chan struct{})
	var written [workers]int
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				oid := fmt.Sprintf("w%d-%d", w, i)
				data := bytes.Repeat([]byte{byte(w), byte(i)}, 100+i%50)
				if _, err := do(t, o, oid, messages.NewWriteFullOp(data)); err != nil {
					errs <- fmt.Errorf("write %s: %w", oid, err)
					return
				}
				res, err := do(t, o, oid, messages.NewReadOp(0, 1<<20))
				if err != nil {
					errs <- fmt.Errorf("read %s: %w", oid, err)
					return
				}
				if !bytes.Equal(res.Ops[0].Data, data) {
					errs <- fmt.Errorf("read %s: %d bytes differ", oid, len(res.Ops[0].Data))
					return
				}
				written[w] = i + 1
			}
		}()
	}
	// Faults while the workload runs: osd.0 stops (ops to it vanish) and
	// the map moves its PGs to osd.1; connections reset; osd.1 stops and
	// osd.2 takes over; osd.0 comes back.
	epoch := uint32(11)
	step := func(primary, stopped int32) {
		time.Sleep(15 * time.Millisecond)
		mu.Lock()
		dead = stopped
		mu.Unlock()
		time.Sleep(15 * time.Millisecond)
		if c := f.LastConn(primary); c != nil {
			c.Reset()
		}
		epoch++
		o.HandleOSDMap(place(epoch, primary, []int32{stopped}))
	}
	step(1, 0)
	step(2, 1)
	step(0, 2)
	mu.Lock()
	dead = -1
	mu.Unlock()
	epoch++
	o.HandleOSDMap(place(epoch, 0, nil))
	time.Sleep(15 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for w := range workers {
		total += written[w]
		for i := range written[w] {
			want := bytes.Repeat([]byte{byte(w), byte(i)}, 100+i%50)
			if d, ok := f.Data(1, "", fmt.Sprintf("w%d-%d", w, i)); !ok || !bytes.Equal(d, want) {
				t.Fatalf("object w%d-%d: %d bytes stored", w, i, len(d))
			}
		}
	}
	if n := f.NumObjects(); n < total || total == 0 {
		t.Fatalf("%d objects stored, %d written", n, total)
	}
	if ops, b := o.InFlight(); ops != 0 || b != 0 {
		t.Fatalf("budget leaked: %d ops %d bytes", ops, b)
	}
	// The faults hit the workload: every OSD served ops, and some were
	// resent.
	retried := 0
	for osd := range int32(3) {
		sent := f.Sent(osd)
		if len(sent) == 0 {
			t.Errorf("osd.%d got no op", osd)
		}
		for _, m := range sent {
			if m.RetryAttempt > 0 {
				retried++
			}
		}
	}
	if retried == 0 {
		t.Error("no op was resent")
	}
	t.Logf("%d sends were retries", retried)
}

// A connection that died without its reset reaching the Objecter is found
// by the tick (the keepalive to a session with laggy ops fails) and its
// ops are resent.
func TestTickFindsDeadConnection(t *testing.T) {
	o, f, _ := setup(t, 1, Config{Tick: 5 * time.Millisecond, LaggyAfter: 20 * time.Millisecond, ResetBackoff: time.Millisecond})
	f.SetIntercept(func(_ int32, m *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		return nil, m.RetryAttempt == 0
	})
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "x", messages.NewWriteFullOp([]byte("v"))); done <- err }()
	waitFor(t, "the first send", func() bool { return len(f.Sent(0)) == 1 })
	f.LastConn(0).Die()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Resets != 1 || st.Resends != 1 || f.Dials(0) != 2 {
		t.Fatalf("stats %+v, %d dials", st, f.Dials(0))
	}
}

// A laggy op on a live connection only gets keepalives: nothing is resent.
func TestTickKeepsLiveConnection(t *testing.T) {
	o, f, _ := setup(t, 1, Config{Tick: 5 * time.Millisecond, LaggyAfter: 10 * time.Millisecond})
	release := make(chan struct{})
	f.SetIntercept(func(int32, *messages.MOSDOp) (*messages.MOSDOpReply, bool) {
		<-release
		return nil, false
	})
	done := make(chan error, 1)
	go func() { _, err := do(t, o, "y", messages.NewWriteFullOp([]byte("v"))); done <- err }()
	waitFor(t, "the first send", func() bool { return len(f.Sent(0)) == 1 })
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.Resets != 0 || st.Resends != 0 {
		t.Fatalf("stats %+v", st)
	}
}

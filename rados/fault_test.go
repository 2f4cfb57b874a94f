package rados_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/cephtest"
	. "github.com/gomsgr/msgr/rados"
)

// faultCluster is the cluster MSGR_TEST_CEPH_FAULT names: a 3-OSD cephx
// cluster of scripts/ceph-cluster.sh that this test alone uses, since it
// kills, stops and restarts its daemons (pid files in DIR/run).
type faultCluster struct {
	t    *testing.T
	conf string
	dir  string
}

func (fc *faultCluster) pid(daemon string) int {
	b, err := os.ReadFile(filepath.Join(fc.dir, "run", daemon+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive reports whether daemon's pid runs a process started with our conf.
func (fc *faultCluster) alive(daemon string) bool {
	pid := fc.pid(daemon)
	if pid == 0 {
		return false
	}
	cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmd, []byte(fc.conf)) {
		return false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !bytes.Contains(st, []byte(") Z "))
}

func (fc *faultCluster) signal(daemon string, sig syscall.Signal) {
	fc.t.Helper()
	if !fc.alive(daemon) {
		fc.t.Fatalf("%s is not running", daemon)
	}
	if err := syscall.Kill(fc.pid(daemon), sig); err != nil {
		fc.t.Fatal(err)
	}
}

// start starts daemon ("osd.N" or "mon.a") as scripts/ceph-cluster.sh
// does; it returns once its new pid file names a live process.
func (fc *faultCluster) start(daemon string) {
	fc.t.Helper()
	kind, id, _ := strings.Cut(daemon, ".")
	old := fc.pid(daemon)
	out, err := exec.Command("ceph-"+kind, "-c", fc.conf, "-i", id).CombinedOutput()
	if err != nil {
		fc.t.Fatalf("ceph-%s -i %s: %v\n%s", kind, id, err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !(fc.alive(daemon) && fc.pid(daemon) != old) {
		if time.Now().After(deadline) {
			fc.t.Fatalf("%s did not start", daemon)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitGone waits until daemon's process has exited.
func (fc *faultCluster) waitGone(daemon string) {
	fc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for fc.alive(daemon) {
		if time.Now().After(deadline) {
			fc.t.Fatalf("%s did not exit", daemon)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heal leaves every daemon running, whatever the test did to it.
func (fc *faultCluster) heal() {
	for _, d := range []string{"mon.a", "osd.0", "osd.1", "osd.2"} {
		if fc.alive(d) {
			syscall.Kill(fc.pid(d), syscall.SIGCONT)
			continue
		}
		kind, id, _ := strings.Cut(d, ".")
		exec.Command("ceph-"+kind, "-c", fc.conf, "-i", id).Run()
	}
}

// osdUpIn reports whether the cluster's current map has osd id up.
func osdUpIn(ctx context.Context, c *Conn, id int) (bool, error) {
	out, _, err := c.MonCommand(ctx, mustJSON(map[string]any{"prefix": "osd dump", "format": "json"}))
	if err != nil {
		return false, err
	}
	var d struct {
		OSDs []struct {
			OSD int `json:"osd"`
			Up  int `json:"up"`
		} `json:"osds"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		return false, err
	}
	for _, o := range d.OSDs {
		if o.OSD == id {
			return o.Up == 1, nil
		}
	}
	return false, fmt.Errorf("no osd.%d in the map", id)
}

// faultLoad writes and reads objects from several goroutines, each op
// under a deadline, recording what was acknowledged and how late the
// ops that failed on their deadline returned.
type faultLoad struct {
	io       *IOContext
	deadline time.Duration

	mu       sync.Mutex
	acked    map[string][]byte
	oids     []string
	timeouts int
	maxLate  time.Duration
	otherErr error
	progress chan struct{}
}

func (l *faultLoad) worker(w int, stop <-chan struct{}) {
	r := mrand.New(mrand.NewPCG(uint64(w), 19))
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), l.deadline)
		dl, _ := ctx.Deadline()
		if i%3 == 2 {
			// Read back something acknowledged.
			l.mu.Lock()
			oid := l.oids[r.IntN(len(l.oids))]
			want := l.acked[oid]
			l.mu.Unlock()
			buf := make([]byte, len(want)+1)
			var n int
			if n, err = l.io.Read(ctx, oid, buf, 0); err == nil && !bytes.Equal(buf[:n], want) {
				err = fmt.Errorf("read %s: %d bytes differ from the %d acknowledged", oid, n, len(want))
			}
		} else {
			oid := fmt.Sprintf("fault-%d-%d", w, i)
			data := make([]byte, 1+r.IntN(64<<10))
			for j := range data {
				data[j] = byte(r.Uint32())
			}
			if err = l.io.WriteFull(ctx, oid, data); err == nil {
				l.mu.Lock()
				l.acked[oid] = data
				l.oids = append(l.oids, oid)
				l.mu.Unlock()
			}
		}
		cancel()
		l.mu.Lock()
		switch {
		case err == nil:
			select {
			case l.progress <- struct{}{}:
			default:
			}
		case errors.Is(err, context.DeadlineExceeded):
			l.timeouts++
			l.maxLate = max(l.maxLate, time.Since(dl))
		default:
			if l.otherErr == nil {
				l.otherErr = err
			}
		}
		l.mu.Unlock()
	}
}

// waitAcks waits until n more ops succeed.
func (l *faultLoad) waitAcks(t *testing.T, what string, n int) {
	t.Helper()
	timeout := time.After(3 * time.Minute)
	for range n {
		select {
		case <-l.progress:
		case <-timeout:
			t.Fatalf("no progress %s", what)
		}
	}
}

// TestFaultsRADOS writes and reads under deadlines from 6 goroutines on a
// size-3 pool of a real 3-OSD cluster while its daemons fail: osd.1 is
// SIGKILLed and restarted (memstore: it comes back empty and recovers
// from its peers), osd.2 is SIGSTOPped until the cluster marks it down,
// then continued, and the mon is restarted. Every acknowledged write
// reads back byte-identical afterwards, every op that failed did so on
// its deadline and returned within a second of it, and ops go on between
// the faults. It needs its own cluster (MSGR_TEST_CEPH_FAULT; ci-ceph.sh
// starts one): it must never touch the shared ones.
func TestFaultsRADOS(t *testing.T) {
	conf := cephtest.ConfPath(t, cephtest.Fault)
	fc := &faultCluster{t: t, conf: conf, dir: filepath.Dir(conf)}
	t.Cleanup(fc.heal)
	c := connect(t, conf)
	// All the OSDs share one host, and by default the mon wants failure
	// reports from two hosts (mon_osd_reporter_subtree_level): with one
	// reporter enough, a stopped OSD is marked down by its peers'
	// heartbeats, as in a real cluster.
	if _, _, err := c.MonCommand(context.Background(), mustJSON(map[string]any{"prefix": "config set", "who": "mon", "name": "mon_osd_min_down_reporters", "value": "1"})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, io := testPoolIO(t, ctx, c, 3)
	seed := []byte("seed object")
	if err := io.WriteFull(ctx, "fault-seed", seed); err != nil {
		t.Fatal(err)
	}
	load := &faultLoad{io: io, deadline: 5 * time.Second, acked: map[string][]byte{"fault-seed": seed},
		oids: []string{"fault-seed"}, progress: make(chan struct{}, 1)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); load.worker(w, stop) }()
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()
	waitUp := func(id int, want bool) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
			up, err := osdUpIn(qctx, c, id)
			qcancel()
			if err == nil && up == want {
				return time.Since(start)
			}
			if time.Since(start) > 3*time.Minute {
				t.Fatalf("osd.%d up=%v not seen in 3 min (last: %v, %v)", id, want, up, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	load.waitAcks(t, "before the faults", 50)
	var phases []string // logged as they end
	phase := func(format string, args ...any) {
		load.mu.Lock()
		n, to := len(load.acked), load.timeouts
		load.mu.Unlock()
		phases = append(phases, fmt.Sprintf(format, args...)+fmt.Sprintf(" [%d acked, %d timeouts so far]", n, to))
		t.Log(phases[len(phases)-1])
	}

	// 1. SIGKILL osd.1, then restart it.
	fc.signal("osd.1", syscall.SIGKILL)
	fc.waitGone("osd.1")
	downIn := waitUp(1, false)
	load.waitAcks(t, "with osd.1 killed", 20)
	fc.start("osd.1")
	upIn := waitUp(1, true)
	load.waitAcks(t, "after osd.1 restarted", 20)
	phase("osd.1 SIGKILLed: down in the map after %v; restarted, up after %v", downIn.Round(time.Millisecond), upIn.Round(time.Millisecond))

	// 2. SIGSTOP osd.2 until the cluster marks it down, then SIGCONT.
	fc.signal("osd.2", syscall.SIGSTOP)
	downIn = waitUp(2, false)
	load.waitAcks(t, "with osd.2 stopped", 20)
	fc.signal("osd.2", syscall.SIGCONT)
	upIn = waitUp(2, true)
	load.waitAcks(t, "after osd.2 continued", 20)
	phase("osd.2 SIGSTOPped: down in the map after %v; continued, up after %v", downIn.Round(time.Millisecond), upIn.Round(time.Millisecond))

	// 3. Restart the mon.
	fc.signal("mon.a", syscall.SIGTERM)
	fc.waitGone("mon.a")
	load.waitAcks(t, "with the mon down", 10)
	fc.start("mon.a")
	back := time.Now()
	for {
		qctx, qcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := osdUpIn(qctx, c, 0)
		qcancel()
		if err == nil {
			break
		}
		if time.Since(back) > 3*time.Minute {
			t.Fatalf("no mon command answered within 3 min of the mon's restart: %v", err)
		}
	}
	load.waitAcks(t, "after the mon restarted", 20)
	phase("mon.a restarted: a mon command answered %v after the restart", time.Since(back).Round(time.Millisecond))
	stopLoad()

	load.mu.Lock()
	defer load.mu.Unlock()
	if load.otherErr != nil {
		t.Fatalf("an op failed other than on its deadline: %v", load.otherErr)
	}
	// Deadlines honoured: an op that failed on its deadline returned
	// within a second of it.
	if load.maxLate > time.Second {
		t.Fatalf("an op returned %v after its deadline", load.maxLate)
	}
	// Every acknowledged write reads back byte-identical.
	for oid, want := range load.acked {
		rctx, rcancel := context.WithTimeout(ctx, time.Minute)
		buf := make([]byte, len(want)+1)
		n, err := io.Read(rctx, oid, buf, 0)
		rcancel()
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("acknowledged %s (%d bytes): read %d bytes, %v", oid, len(want), n, err)
		}
	}
	t.Logf("%d acknowledged writes read back identical; %d ops failed on their %v deadline, the latest %v after it; objecter %+v",
		len(load.acked), load.timeouts, load.deadline, load.maxLate.Round(time.Microsecond), c.Objecter().Stats())
}

//go:build linux

package msgr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/testproc"
)

// The partition's timeouts: keepalives every partitionKeepalive keep an
// open session from the idle timeout, which faults it once nothing
// arrives for partitionIdle; a dial gets partitionReady to finish its
// handshake; reconnects back off up to partitionMaxBackoff.
const (
	partitionKeepalive  = 500 * time.Millisecond
	partitionIdle       = 3 * time.Second
	partitionReady      = 2 * time.Second
	partitionMaxBackoff = time.Second
)

func partitionOptions() Options {
	return Options{ConnectionIdleTimeout: partitionIdle, ConnectionReadyTimeout: partitionReady,
		InitialBackoff: 100 * time.Millisecond, MaxBackoff: partitionMaxBackoff}
}

// partitionSeconds is how long the link stays down
// (MSGR_PARTITION_SECONDS). The default, 10 s, outlasts the idle timeout,
// several dial/ready-timeout/backoff cycles and the servers' own idle
// faults, which is every state a partition drives a session through; a
// longer one repeats the same cycles (30 s was run by hand: see
// /work/notes/issue-19.md).
func partitionSeconds(t *testing.T) time.Duration {
	s := os.Getenv("MSGR_PARTITION_SECONDS")
	if s == "" {
		return 10 * time.Second
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("MSGR_PARTITION_SECONDS=%q: want a positive number of seconds", s)
	}
	return time.Duration(n) * time.Second
}

// TestPartitionServer is the child process of TestPartition, run in the
// server's network namespace: a lossless (stateful server) and a lossy
// (stateless server) messenger that echo, with their addresses printed;
// it exits at the end of stdin.
func TestPartitionServer(t *testing.T) {
	ip := os.Getenv("MSGR_PARTITION_CHILD")
	if ip == "" {
		t.Skip("the child process of TestPartition")
	}
	for _, p := range []struct {
		name   string
		policy Policy
	}{{"lossless", StatefulServer(0)}, {"lossy", StatelessServer(0)}} {
		rec := newRecorder()
		rec.echo = true
		m := startMessenger(t, osdName(1), uint32(len(p.name)), netip.AddrPortFrom(netip.MustParseAddr(ip), 0), partitionOptions(), rec)
		m.SetDefaultPolicy(p.policy)
		a := m.Addrs()[0]
		fmt.Printf("addr %s %s %d\n", p.name, a.Addr, a.Nonce)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
	}
}

// ipCmd runs ip(8) with args.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestPartition joins this process (the clients) and a child process (the
// servers, in a network namespace of its own) with a veth pair, and takes
// the link down for MSGR_PARTITION_SECONDS while both clients send and
// keep alive: on each open session the idle timeout fires, not before
// nothing has arrived for ConnectionIdleTimeout; the lossy session is
// reset and a new connection works once the link is back; the lossless
// session resumes with every message and echo delivered exactly once and
// in order. It needs root and ip(8); it fails under CI=true without them.
func TestPartition(t *testing.T) {
	if testing.Short() {
		t.Skip("a partition of several seconds")
	}
	if _, err := exec.LookPath("ip"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("TestPartition needs root and ip(8) (CI=true): euid %d, %v", os.Geteuid(), err)
		}
		t.Skip("needs root and ip(8) for a network namespace and a veth pair")
	}
	down := partitionSeconds(t)
	id := os.Getpid() % 10000
	ns, vethA, vethB := fmt.Sprintf("msgrpart%d", id), fmt.Sprintf("mpa%d", id), fmt.Sprintf("mpb%d", id)
	subnet := fmt.Sprintf("10.77.%d", id%250)
	cliIP, srvIP := subnet+".1", subnet+".2"
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd(t, "link", "add", vethA, "type", "veth", "peer", "name", vethB)
	t.Cleanup(func() { exec.Command("ip", "link", "del", vethA).Run() })
	ipCmd(t, "link", "set", vethB, "netns", ns)
	ipCmd(t, "addr", "add", cliIP+"/24", "dev", vethA)
	ipCmd(t, "link", "set", vethA, "up")
	ipCmd(t, "netns", "exec", ns, "ip", "addr", "add", srvIP+"/24", "dev", vethB)
	ipCmd(t, "netns", "exec", ns, "ip", "link", "set", vethB, "up")
	ipCmd(t, "netns", "exec", ns, "ip", "link", "set", "lo", "up")

	child := testproc.Start(t, "TestPartitionServer", []string{"MSGR_PARTITION_CHILD=" + srvIP}, "ip", "netns", "exec", ns)
	defer func() {
		if err := child.Stop(30 * time.Second); err != nil {
			t.Errorf("child: %v", err)
		}
	}()
	addrs := map[string]encoding.EntityAddrVec{}
	for len(addrs) < 2 {
		f := strings.Fields(child.Expect(t, "addr", time.Minute))
		if len(f) != 3 {
			t.Fatalf("child printed addr %q", f)
		}
		nonce, _ := strconv.ParseUint(f[2], 10, 32)
		addrs[f[0]] = encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Addr: netip.MustParseAddrPort(f[1]), Nonce: uint32(nonce)}}
	}

	losslessRec, lossyRec := newRecorder(), newRecorder()
	losslessCli := newTestMessenger(t, clientName(21), false, partitionOptions(), losslessRec)
	losslessCli.SetDefaultPolicy(LosslessClient(0))
	lossyCli := newTestMessenger(t, clientName(22), false, partitionOptions(), lossyRec)
	lossyCli.SetDefaultPolicy(LossyClient(0))
	lc, err := losslessCli.GetConnection(addrs["lossless"], encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}

	// Senders: one message per 20 ms on each session, keepalives every
	// partitionKeepalive. The lossy sender takes a new connection when
	// its old one is closed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lossySent, lossyConns int
	var lossySendErr error
	var lcSent uint64
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		ka := time.Now()
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				mu.Lock()
				lcSent = seq
				mu.Unlock()
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			err := lc.SendContext(ctx, &testMsg{From: 21, Seq: seq, Data: []byte("lossless")})
			cancel()
			if err != nil {
				t.Errorf("lossless send %d: %v", seq, err)
				return
			}
			if time.Since(ka) >= partitionKeepalive {
				lc.SendKeepalive()
				ka = time.Now()
			}
		}
	}()
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var c *Conn
		ka := time.Now()
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if c == nil || c.isClosed() {
				var err error
				if c, err = lossyCli.GetConnection(addrs["lossy"], encoding.EntityTypeOSD); err != nil {
					mu.Lock()
					lossySendErr = err
					mu.Unlock()
					return
				}
				mu.Lock()
				lossyConns++
				mu.Unlock()
			}
			if err := c.Send(&testMsg{From: 22, Seq: seq, Data: []byte("lossy")}); err != nil && !errors.Is(err, ErrConnClosed) {
				mu.Lock()
				lossySendErr = err
				mu.Unlock()
				return
			}
			mu.Lock()
			lossySent++
			mu.Unlock()
			if time.Since(ka) >= partitionKeepalive {
				c.SendKeepalive()
				ka = time.Now()
			}
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	// Healthy first: echoes flow and keepalives hold off the idle timeout.
	losslessRec.waitFor(t, "lossless echoes", func() bool { return losslessRec.countFrom(21) >= 50 })
	lossyRec.waitFor(t, "lossy echoes", func() bool { return lossyRec.countFrom(22) >= 50 })
	time.Sleep(2 * partitionIdle)
	if !lc.IsConnected() || lossyRec.get(&lossyRec.resets) != 0 {
		t.Fatalf("a fault before the partition: lossless connected %v, lossy resets %d", lc.IsConnected(), lossyRec.get(&lossyRec.resets))
	}
	lossyBefore := lossyRec.countFrom(22)

	// Partition.
	ipCmd(t, "link", "set", vethA, "down")
	cut := time.Now()
	linkDown := true
	defer func() {
		if linkDown {
			exec.Command("ip", "link", "set", vethA, "up").Run()
		}
	}()
	waitUntil(t, "the lossless session to fault", func() bool { return !lc.IsConnected() })
	faultAfter := time.Since(cut)
	lossyRec.waitFor(t, "the lossy session's reset", func() bool { return lossyRec.get(&lossyRec.resets) > 0 })
	resetAfter := time.Since(cut)
	// The last bytes arrived at most a keepalive interval (plus a round
	// trip) before the cut: the idle timeout cannot have fired earlier.
	if early := partitionIdle - partitionKeepalive - 200*time.Millisecond; faultAfter < early || resetAfter < early {
		t.Fatalf("idle timeout fired %v / %v after the cut, before %v", faultAfter, resetAfter, early)
	}
	if rest := down - time.Since(cut); rest > 0 {
		time.Sleep(rest)
	}
	if lc.IsConnected() {
		t.Fatal("the lossless session is connected across a partition")
	}
	lcEchoes := losslessRec.countFrom(21)

	// Heal.
	ipCmd(t, "link", "set", vethA, "up")
	healed := time.Now()
	linkDown = false
	waitUntil(t, "the lossless session to resume", lc.IsConnected)
	resumeAfter := time.Since(healed)
	losslessRec.waitFor(t, "lossless echoes after the partition", func() bool { return losslessRec.countFrom(21) > lcEchoes })
	lossyRec.waitFor(t, "lossy echoes on a new connection", func() bool { return lossyRec.countFrom(22) > lossyBefore+10 })
	lossyAfter := time.Since(healed)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	// Every lossless message, sent before, during and after the
	// partition, echoed exactly once and in order.
	mu.Lock()
	sent := lcSent
	lossyN, conns, lerr := lossySent, lossyConns, lossySendErr
	mu.Unlock()
	losslessRec.waitFor(t, "every lossless echo", func() bool { return uint64(losslessRec.countFrom(21)) >= sent })
	checkInOrder(t, losslessRec, 21, 0, sent)
	if lerr != nil {
		t.Fatalf("lossy sender: %v", lerr)
	}
	if conns < 2 {
		t.Fatalf("the lossy client used %d connection(s): no new one after the reset", conns)
	}
	t.Logf("partition of %v: lossless session faulted %v after the cut (idle timeout %v), lossy reset after %v; link back: lossless resumed in %v, lossy echoes again after %v on connection #%d; %d lossless messages each echoed once in order, lossy %d sent / %d echoed",
		down, faultAfter.Round(time.Millisecond), partitionIdle, resetAfter.Round(time.Millisecond), resumeAfter.Round(time.Millisecond),
		lossyAfter.Round(time.Millisecond), conns, sent, lossyN, lossyRec.countFrom(22))
}

//go:build linux

package event

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/testproc"
)

// rssBytes reads the resident set size from /proc/self/statm.
func rssBytes(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Fields(b)
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestEcho10k: one pool of 2 workers serves 10,000 concurrent loopback
// connections with a goroutine count that does not depend on the number
// of connections. The clients (loop clients on their own 2-worker pool)
// run in a child process, so each side needs only ~10k descriptors and
// the RSS measured here is the server's alone. MSGR_ECHO_CONNS overrides
// the count.
func TestEcho10k(t *testing.T) {
	conns := echoConns(t)
	raiseNoFile(t, uint64(conns+1024))
	deadline := time.After(3 * time.Minute)

	server, err := NewPool(Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	srv, addr := startEchoServer(t, server, 4096)

	runtime.GC()
	g0, rss0 := runtime.NumGoroutine(), rssBytes(t)
	child := testproc.Start(t, "TestEchoClientProcess", []string{"MSGR_ECHO_SERVER=" + addr.String(), "MSGR_ECHO_CONNS=" + strconv.Itoa(conns)})
	defer func() {
		if err := child.Stop(time.Minute); err != nil {
			t.Errorf("client process: %v", err)
		}
	}()
	ready := child.Expect(t, "READY", 3*time.Minute)
	if err := srv.err(); err != nil {
		t.Fatal(err)
	}
	g1, rss1 := runtime.NumGoroutine(), rssBytes(t)
	live := srv.live.Load()
	t.Logf("server: %d concurrent connections on 2 workers, goroutines %d before (+1 output reader) and %d with all connected; "+
		"RSS %.1f MiB -> %.1f MiB = %.0f B per connection; client process: %s",
		live, g0, g1, float64(rss0)/(1<<20), float64(rss1)/(1<<20), float64(rss1-rss0)/float64(conns), ready)
	if live != int64(conns) {
		t.Fatalf("server holds %d live connections, want %d", live, conns)
	}
	// One goroutine more: the reader of the client process's output.
	if g1 != g0+1 {
		t.Fatalf("goroutines grew from %d (+1 reader) to %d with %d connections", g0, g1, conns)
	}
	var load int64
	for _, w := range server.Workers() {
		load += w.Load()
		if w.Load() < int64(conns)/4 {
			t.Errorf("worker %d holds %d of %d connections: not spread", w.ID(), w.Load(), conns)
		}
	}
	if load != int64(conns) {
		t.Fatalf("worker loads sum to %d, want %d", load, conns)
	}

	child.CloseInput() // the client closes every connection and exits
	waitUntil(t, srv.changed, deadline, "server closing", func() bool { return srv.live.Load() == 0 }, srv.err)
	for _, w := range server.Workers() {
		if w.Load() != 0 {
			t.Fatalf("worker %d load %d after all left", w.ID(), w.Load())
		}
	}
}

func echoConns(t testing.TB) int {
	conns := 10000
	if v := os.Getenv("MSGR_ECHO_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("MSGR_ECHO_CONNS=%q", v)
		}
		conns = n
	}
	return conns
}

// TestEchoClientProcess is TestEcho10k's client side, run only as its
// child: it connects every client, prints READY once all have echoed
// twice, and closes them when stdin closes.
func TestEchoClientProcess(t *testing.T) {
	server := os.Getenv("MSGR_ECHO_SERVER")
	if server == "" {
		t.Skip("run by TestEcho10k")
	}
	addr := netip.MustParseAddrPort(server)
	conns := echoConns(t)
	raiseNoFile(t, uint64(conns+1024))
	deadline := time.After(3 * time.Minute)
	clients, err := NewPool(Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer clients.Stop()
	g0 := runtime.NumGoroutine()
	cs := &echoClients{pool: clients, msg: []byte("ping from a loop client, 32 B.."), rounds: 2,
		changed: make(chan struct{}, 1)}
	// Several source addresses so ephemeral ports never run short; dial in
	// batches so the listen backlog never overflows into SYN retries.
	const batch = 1000
	for start := 0; start < conns; start += batch {
		end := min(start+batch, conns)
		for i := start; i < end; i++ {
			src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%4)}), 0)
			if err := cs.dial(addr, src); err != nil {
				t.Fatal(err)
			}
		}
		waitUntil(t, cs.changed, deadline, fmt.Sprintf("clients %d..%d", start, end),
			func() bool { return cs.done.Load() >= int64(end) }, cs.err)
	}
	g1 := runtime.NumGoroutine()
	fmt.Printf("READY %d clients, goroutines %d before and %d with all connected\n", conns, g0, g1)
	if g1 != g0 {
		t.Errorf("client goroutines grew from %d to %d", g0, g1)
	}
	io.Copy(io.Discard, os.Stdin)
	cs.closeAll(t)
}

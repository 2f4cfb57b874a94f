//go:build linux || darwin || freebsd

package event

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/internal/testproc"
	"golang.org/x/sys/unix"
)

// Loopback ping-pong: the same client (a child process, one goroutine
// per net.Conn, each writing a message and reading its echo, as in
// /work/shared/research/event-loop.md) against an echo server on a
// 2-worker loop pool in each wait mode, and against Go's net package with
// one goroutine per connection. The client runs in its own process so
// that 10k connections fit the descriptor limit on each side and the
// reported allocations are the server's alone. ns/op is per message
// round trip over all connections.
//
//	go test -run XXX -bench PingPong ./internal/event
//	MSGR_BENCH_10K=1 go test -run XXX -bench 'PingPong/.*/conns=10000' -benchtime 5x ./internal/event

const ppMsgSize = 4096

// ppServer is an echo server under test.
type ppServer interface {
	addr() netip.AddrPort
	close()
}

type loopPP struct {
	pool *Pool
	a    netip.AddrPort
	srv  *echoServer
	tb   testing.TB
}

func (l *loopPP) addr() netip.AddrPort { return l.a }
func (l *loopPP) close()               { l.pool.Stop() }

type netPP struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn // guarded by mu
}

func startNetPP(tb testing.TB) *netPP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &netPP{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				buf := make([]byte, 16<<10)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *netPP) addr() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

func (s *netPP) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// ppFixture is a server and a connected client process.
type ppFixture struct {
	srv ppServer
	cli *testproc.Child // prints READY, runs "RUN n" and prints DONE
}

func startPP(b *testing.B, kind string, conns int) *ppFixture {
	var srv ppServer
	switch kind {
	case "netconn":
		srv = startNetPP(b)
	default:
		dc := map[string]driverCase{
			"loop-parked":   {kind: DriverAuto, mode: WaitParked},
			"loop-blocking": {kind: DriverAuto, mode: WaitBlocking},
			"loop-poll":     {kind: DriverPoll, mode: WaitBlocking},
		}[kind]
		pool, err := NewPool(Options{Workers: 2, Driver: dc.kind, Wait: dc.mode})
		if err != nil {
			b.Skipf("%s: %v", kind, err)
		}
		es, a := startEchoServer(b, pool, 64<<10)
		srv = &loopPP{pool: pool, a: a, srv: es, tb: b}
	}
	raiseNoFile(b, uint64(conns+1024))
	cli := testproc.Start(b, "TestPingPongClientProcess",
		[]string{"MSGR_PP_ADDR=" + srv.addr().String(), "MSGR_PP_CONNS=" + strconv.Itoa(conns)})
	cli.Expect(b, "READY", 3*time.Minute)
	return &ppFixture{srv: srv, cli: cli}
}

func (f *ppFixture) close(tb testing.TB) {
	if err := f.cli.Stop(time.Minute); err != nil {
		tb.Errorf("client process: %v", err)
	}
	f.srv.close()
}

func BenchmarkPingPong(b *testing.B) {
	counts := []int{1, 16, 256}
	if os.Getenv("MSGR_BENCH_10K") != "" {
		counts = append(counts, 10000)
	}
	kinds := []string{"netconn", "loop-parked", "loop-blocking"}
	if os.Getenv("MSGR_BENCH_POLL") != "" {
		kinds = append(kinds, "loop-poll")
	}
	for _, conns := range counts {
		for _, kind := range kinds {
			var fx *ppFixture
			b.Run(fmt.Sprintf("conns=%d/%s", conns, kind), func(b *testing.B) {
				if fx == nil {
					fx = startPP(b, kind, conns)
				}
				b.SetBytes(2 * ppMsgSize)
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime(b)
				fx.cli.Printf("RUN %d\n", b.N)
				fx.cli.Expect(b, "DONE", 10*time.Minute)
				b.StopTimer()
				// Server CPU (this process, all threads) per message: less
				// sensitive than ns/op to other load on a shared machine.
				b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
			})
			if fx != nil {
				fx.close(b)
			}
		}
	}
}

// cpuTime is this process's user+system CPU time in nanoseconds.
func cpuTime(tb testing.TB) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// TestPingPongClientProcess is BenchmarkPingPong's client, run only as
// its child process.
func TestPingPongClientProcess(t *testing.T) {
	addr := os.Getenv("MSGR_PP_ADDR")
	if addr == "" {
		t.Skip("run by BenchmarkPingPong")
	}
	conns, err := strconv.Atoi(os.Getenv("MSGR_PP_CONNS"))
	if err != nil {
		t.Fatal(err)
	}
	raiseNoFile(t, uint64(conns+1024))
	type round struct {
		left atomic.Int64
		wg   sync.WaitGroup
	}
	var wg sync.WaitGroup
	starts := make([]chan *round, conns)
	var cs []net.Conn
	defer func() {
		for _, c := range cs {
			c.Close()
		}
		for _, s := range starts {
			if s != nil {
				close(s)
			}
		}
		wg.Wait()
	}()
	msg := make([]byte, ppMsgSize)
	for i := range msg {
		msg[i] = byte(i)
	}
	for i := range conns {
		// Rotate source addresses: TIME_WAIT from earlier runs never
		// exhausts one address's ephemeral ports.
		// Only Linux routes all of 127/8 to loopback by default.
		var d net.Dialer
		if runtime.GOOS == "linux" {
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%200))}
		}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		cs = append(cs, c)
		starts[i] = make(chan *round, 1)
		wg.Add(1)
		go func(start chan *round) {
			defer wg.Done()
			buf := make([]byte, ppMsgSize)
			for r := range start {
				for r.left.Add(-1) >= 0 {
					if _, err := c.Write(msg); err != nil {
						t.Error(err)
						break
					}
					if _, err := io.ReadFull(c, buf); err != nil {
						t.Error(err)
						break
					}
				}
				r.wg.Done()
			}
		}(starts[i])
	}
	fmt.Println("READY")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var n int64
		if _, err := fmt.Sscanf(sc.Text(), "RUN %d", &n); err != nil {
			t.Fatalf("bad command %q", sc.Text())
		}
		r := &round{}
		r.left.Store(n)
		r.wg.Add(conns)
		for _, s := range starts {
			s <- r
		}
		r.wg.Wait()
		fmt.Println("DONE")
	}
}

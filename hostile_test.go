package msgr

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// preambleClaiming is a frame preamble (valid crc) announcing one segment
// of segLen bytes with the given tag, and nothing after it.
func preambleClaiming(tag byte, segLen uint32) []byte {
	p := make([]byte, 32)
	p[0], p[1] = tag, 1
	binary.LittleEndian.PutUint32(p[2:], segLen)
	binary.LittleEndian.PutUint16(p[6:], 8)
	binary.LittleEndian.PutUint32(p[28:], encoding.CRC32C(0, p[:28]))
	return p
}

// hostileAttack is one way of abusing a server's accept path: send, then
// (slowly, for slow) keep the socket open until the server closes it.
type hostileAttack struct {
	name string
	send []byte
	slow bool // one byte per 50 ms
}

func hostileAttacks() []hostileAttack {
	rnd := make([]byte, 4096)
	for i := range rnd {
		rnd[i] = byte(rand.Uint32())
	}
	absurdBanner := append([]byte(wire.BannerPrefix), 0xff, 0xff)
	return []hostileAttack{
		{name: "random bytes", send: rnd},
		{name: "http", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "absurd banner length", send: absurdBanner},
		{name: "msgr1 banner", send: append([]byte("ceph v027"), make([]byte, 136)...)},
		{name: "4 GiB segment", send: append(banner(), preambleClaiming(1, 0xffffffff)...)},
		{name: "bad crc", send: append(banner(), func() []byte { p := preambleClaiming(1, 10); p[30] ^= 1; return p }()...)},
		{name: "half a handshake, then silence", send: append(banner(), preambleClaiming(1, 64)...)},
		{name: "nothing at all"},
		{name: "slowloris banner", send: banner(), slow: true},
	}
}

// attack runs a against addr and returns once the server closed the
// socket (nil), or an error if it did not within 30 s.
func (a hostileAttack) run(addr string) error {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if a.slow {
		for _, b := range a.send {
			if _, err := nc.Write([]byte{b}); err != nil {
				return nil // closed on us mid-way: fine
			}
			time.Sleep(50 * time.Millisecond)
		}
	} else if len(a.send) > 0 {
		if _, err := nc.Write(a.send); err != nil {
			return nil
		}
	}
	_, err = io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("the server kept the connection open for 30 s")
	}
	return nil
}

// heapBytes is the live heap as runtime/metrics reports it.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// goodClient echoes through srv until stop closes, each round trip
// bounded; it counts round trips and failures.
type goodClient struct {
	rounds, failures atomic.Int64
	lastErr          atomic.Value
}

func (g *goodClient) run(t *testing.T, srv *Messenger, stop <-chan struct{}, done *sync.WaitGroup) {
	rec := newRecorder()
	cli := newTestMessenger(t, clientName(9), false, Options{}, rec)
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Error(err)
		return
	}
	done.Add(1)
	go func() {
		defer done.Done()
		for seq := uint64(0); ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Send(&testMsg{From: 9, Seq: seq, Data: []byte("good")}); err != nil {
				g.failures.Add(1)
				g.lastErr.Store(err.Error())
				return
			}
			deadline := time.NewTimer(20 * time.Second)
			for rec.countFrom(9) <= int(seq) {
				select {
				case <-rec.changed:
				case <-deadline.C:
					g.failures.Add(1)
					g.lastErr.Store("no echo within 20 s")
					return
				}
			}
			deadline.Stop()
			g.rounds.Add(1)
		}
	}()
}

// TestHostilePeers throws the attacks of a black-box test at a messenger
// server, first one by one, then 50 of each at once (450 connections):
// each hostile connection is closed by the server (garbage at once, the
// silent and slow ones at the ready timeout), a well-behaved client is
// served throughout, every failure is counted, and afterwards the
// server holds no connection and no goroutine more than before.
func TestHostilePeers(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(1), true, Options{ConnectionReadyTimeout: time.Second}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	addr := srv.Addrs()[0].Addr.String()
	goroutines := runtime.NumGoroutine()

	var good goodClient
	stop := make(chan struct{})
	var wg sync.WaitGroup
	good.run(t, srv, stop, &wg)
	waitUntil(t, "the good client's first echo", func() bool { return good.rounds.Load() > 0 || good.failures.Load() > 0 })

	attacks := hostileAttacks()
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			if err := a.run(addr); err != nil {
				t.Fatal(err)
			}
		})
	}
	// All at once.
	const each = 50
	heap0 := heapBytes()
	var peak atomic.Uint64
	errs := make(chan error, each*len(attacks))
	var storm sync.WaitGroup
	for _, a := range attacks {
		for range each {
			storm.Add(1)
			go func() {
				defer storm.Done()
				errs <- a.run(addr)
			}()
		}
	}
	stormDone, sampling := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stormDone:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	storm.Wait()
	close(stormDone)
	<-sampling
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := good.failures.Load(); n != 0 {
		t.Fatalf("the good client failed during the attacks: %v", good.lastErr.Load())
	}
	total := len(attacks) * (each + 1)
	st := srv.Stats()
	t.Logf("%d hostile connections closed; good client: %d round trips meanwhile; server: %d handshake failures counted; heap %d KiB before the storm, peak %+d KiB (%d B per hostile connection)",
		total, good.rounds.Load(), st.HandshakeFailures, heap0>>10, int64(peak.Load()-heap0)>>10, int64(peak.Load()-heap0)/int64(each*len(attacks)))
	// Bounded memory: a hostile connection costs tens of KiB (the
	// attacker's side in this process included), not what it claims.
	if grow := peak.Load() - heap0; grow > uint64(each*len(attacks))*128<<10 {
		t.Fatalf("heap grew %d KiB with %d hostile connections open", grow>>10, each*len(attacks))
	}
	if st.HandshakeFailures < uint64(total) {
		t.Fatalf("%d handshake failures counted for %d hostile connections", st.HandshakeFailures, total)
	}
	// Only the good client's connection is left, and no goroutine more
	// than before it and the storm.
	waitUntil(t, "the server to hold only the good connection", func() bool { s := srv.Stats(); return s.Conns <= 1 && s.Accepting == 0 })
	waitUntil(t, "goroutines back to the baseline", func() bool { return runtime.NumGoroutine() <= goroutines+8 })
}

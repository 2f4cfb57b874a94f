package msgr

import (
	"encoding/binary"
	"net"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// claimFrame is a crc-mode preamble of tag claiming one segment of n
// bytes, with a valid crc.
func claimFrame(tag wire.Tag, n uint32) []byte {
	p := make([]byte, wire.PreambleSize)
	p[0], p[1] = byte(tag), 1
	binary.LittleEndian.PutUint32(p[2:], n)
	binary.LittleEndian.PutUint16(p[6:], wire.AlignDefault)
	binary.LittleEndian.PutUint32(p[28:], encoding.CRC32C(0, p[:28]))
	return p
}

// mappedBytes is the memory the Go runtime has mapped (address space it
// reserved and uses), and the heap in use.
func mappedBytes() (total, heap uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// TestPreSessionMemory (issue 19, item 1): peers that have not
// authenticated cannot make the server allocate from the lengths they
// claim. Ten connections claiming 512 MiB segments in HELLO, then a
// hundred holding AUTH_REQUEST frames claiming 60 KiB of which they send
// 1 KiB, add well under 1 GiB of address space and 200 MiB of heap, and a
// good client keeps completing handshakes throughout. Before the fix the
// first ten alone mapped over 5 GiB.
func TestPreSessionMemory(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(1), true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	addr := srv.Addrs()[0].Addr.String()

	runtime.GC()
	total0, heap0 := mappedBytes()
	dial := func(send []byte) net.Conn {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write(send); err != nil {
			t.Fatal(err)
		}
		return nc
	}
	var conns []net.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	hello := append(banner(), claimFrame(wire.TagHello, 512<<20)...)
	for i := 0; i < 10; i++ {
		conns = append(conns, dial(hello))
	}
	held := append(append(banner(), claimFrame(wire.TagAuthRequest, 60<<10)...), make([]byte, 1024)...)
	for i := 0; i < 100; i++ {
		conns = append(conns, dial(held))
	}
	// The 512 MiB claims are refused at once: the server closes them.
	for _, nc := range conns[:10] {
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		var b [256]byte
		for {
			if _, err := nc.Read(b[:]); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatal("a 512 MiB claim was not refused")
				}
				break
			}
		}
	}
	// Let the server read what the others sent.
	deadline := time.Now().Add(20 * time.Second)
	for srv.Stats().Conns < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.Stats().Conns; n < 100 {
		t.Fatalf("%d server connections, want the 100 held ones", n)
	}
	total1, heap1 := mappedBytes()
	perConn := float64(int64(heap1)-int64(heap0)) / 100
	t.Logf("after 10 × 512 MiB claims and 100 held 60 KiB claims: mapped %+d MiB, heap %+d KiB (%.1f KiB per held connection), pre-session budget in use %d KiB",
		(int64(total1)-int64(total0))>>20, (int64(heap1)-int64(heap0))>>10, perConn/1024, srv.preSession.Used()>>10)
	if d := int64(total1) - int64(total0); d > 1<<30 {
		t.Errorf("address space grew by %d MiB (limit 1 GiB)", d>>20)
	}
	if d := int64(heap1) - int64(heap0); d > 200<<20 {
		t.Errorf("heap grew by %d MiB (limit 200 MiB)", d>>20)
	}
	if u := srv.preSession.Used(); u > 100*(64<<10) {
		t.Errorf("pre-session budget holds %d bytes for 100 connections", u)
	}

	// Good clients complete handshakes (fresh messengers) and get their
	// echo while the hostile connections are open.
	for i := 0; i < 3; i++ {
		rec := newRecorder()
		cli := newTestMessenger(t, clientName(int64(100+i)), false, Options{}, rec)
		cli.SetDefaultPolicy(LossyClient(0))
		c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
		if err != nil {
			t.Fatal(err)
		}
		sendRange(t, c, 1, 0, 1)
		rec.waitFor(t, "a good client's echo", func() bool { return rec.countFrom(1) == 1 })
	}
	for _, nc := range conns {
		nc.Close()
	}
	for srv.preSession.Used() != 0 && time.Now().Before(deadline.Add(20*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	if u := srv.preSession.Used(); u != 0 {
		t.Fatalf("pre-session budget holds %d bytes after the connections closed", u)
	}
}

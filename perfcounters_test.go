package msgr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/perf"
)

func TestPerfCounters(t *testing.T) {
	coll := perf.NewCollection()
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(0), true, Options{Perf: coll}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(1), false, Options{Perf: coll}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))
	// Worker loggers are process-wide: earlier tests' messengers with
	// counters on may have counted; compare with what they hold now.
	start := totalsAll()

	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	data := make([]byte, 1000)
	for i := range n {
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.count() == n })
	// A loop counts a write after writev returns, which may be after the
	// peer has read and dispatched it: let the last counts land.
	var got [lMsgrActiveConnections + 1]uint64
	waitUntil(t, "the counters to settle", func() bool {
		got = sub(totalsAll(), start)
		return got[lMsgrSendMessages] == 2*n && got[lMsgrSendBytes] == got[lMsgrRecvBytes]
	})
	if got[lMsgrRecvMessages] != 2*n || got[lMsgrSendMessages] != 2*n {
		t.Errorf("messages: recv %d send %d, want %d each", got[lMsgrRecvMessages], got[lMsgrSendMessages], 2*n)
	}
	// Everything sent was received (the same process), banners and
	// handshakes included.
	if got[lMsgrSendBytes] != got[lMsgrRecvBytes] || got[lMsgrRecvBytes] < 2*n*uint64(len(data)) {
		t.Errorf("bytes: send %d recv %d, want equal and >= %d", got[lMsgrSendBytes], got[lMsgrRecvBytes], 2*n*len(data))
	}
	if got[lMsgrCreatedConnections] != 2 || got[lMsgrActiveConnections] != 2 {
		t.Errorf("connections: created %d active %d, want 2 and 2", got[lMsgrCreatedConnections], got[lMsgrActiveConnections])
	}

	// The messengers' own sections, read from their Stats.
	sections := map[string]perf.Reading{}
	for _, r := range coll.Read() {
		sections[r.Name] = r
	}
	for _, name := range []string{"msgr-osd.0", "msgr-client.1", "throttle-msgr_dispatch_throttle_bytes-osd.0", "throttle-msgr_dispatch_queue_len-client.1"} {
		if _, ok := sections[name]; !ok {
			t.Errorf("no section %q in %v", name, coll)
		}
	}
	if v := sections["msgr-osd.0"].Values[0].Sum; v != 1 {
		t.Errorf("msgr-osd.0 connections = %d, want 1", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cli.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// The server's connection is forgotten after the reset it dispatches
	// (the recorder's last event), so poll rather than wait for an event.
	waitUntil(t, "server side closed", func() bool { return srv.Stats().Conns == 0 })
	if got := sub(totalsAll(), start); got[lMsgrActiveConnections] != 0 {
		t.Errorf("active connections after shutdown: %d", got[lMsgrActiveConnections])
	}
	for _, r := range coll.Read() {
		if strings.HasSuffix(r.Name, "client.1") {
			t.Errorf("section %s left after shutdown", r.Name)
		}
	}
}

// totalsAll sums every worker logger made so far, registered or not.
func totalsAll() [lMsgrActiveConnections + 1]uint64 {
	workerPerf.mu.Lock()
	ls := append([]*perf.Logger(nil), workerPerf.ls...)
	workerPerf.mu.Unlock()
	var t [lMsgrActiveConnections + 1]uint64
	for _, l := range ls {
		for i := range t {
			t[i] += l.Get(i).Sum
		}
	}
	return t
}

func sub(a, b [lMsgrActiveConnections + 1]uint64) [lMsgrActiveConnections + 1]uint64 {
	for i := range a {
		a[i] -= b[i]
	}
	return a
}

// A messenger without a collection counts nothing.
func TestPerfOff(t *testing.T) {
	m := newTestMessenger(t, clientName(2), false, Options{}, newRecorder())
	w, release := m.stack.Pick()
	release()
	if l := m.perfFor(w); l != nil {
		t.Fatalf("counters on without Options.Perf: %s", l.Name())
	}
}

func TestDumpConnections(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(0), true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(1), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.count() == 5 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs := cli.DumpConnections(ctx)
	if len(cs) != 1 {
		t.Fatalf("client connections: %+v", cs)
	}
	d := cs[0]
	if d.Peer != "osd.0" || !d.Connected || d.Accepted || d.Lossy || d.OutSeq != 5 || d.InSeq != 5 || d.State != "READY" || d.PeerAddrs == "" {
		t.Errorf("client side: %+v", d)
	}
	ss := srv.DumpConnections(ctx)
	if len(ss) != 1 || ss[0].Peer != "client.1" || !ss[0].Accepted || !ss[0].Lossy || ss[0].InSeq != 5 {
		t.Errorf("server side: %+v", ss)
	}
}

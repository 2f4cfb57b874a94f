package msgr

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// At config.LevelTrace (debug_ms 20) a connection logs every message it
// queues and receives, with its id; at debug level it logs none.
func TestTraceLines(t *testing.T) {
	var trace, debug lockedBuffer
	srvRec := newRecorder()
	srvRec.echo = true
	srvLog := slog.New(slog.NewTextHandler(&trace, &slog.HandlerOptions{Level: config.LevelTrace}))
	srv := newTestMessenger(t, osdName(0), true, Options{Logger: srvLog}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cliLog := slog.New(slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cli := newTestMessenger(t, clientName(1), false, Options{Logger: cliLog}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: make([]byte, 10)}); err != nil {
			t.Fatal(err)
		}
	}
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.count() == 3 })
	waitUntil(t, "trace lines", func() bool { return strings.Count(trace.String(), "msg=send") == 3 })
	out := trace.String()
	if n := strings.Count(out, "msg=recv"); n != 3 {
		t.Errorf("%d recv lines:\n%s", n, out)
	}
	if !strings.Contains(out, "conn=") || !strings.Contains(out, "seq=3") || !strings.Contains(out, "data=10") {
		t.Errorf("trace lines lack conn id, seq or sizes:\n%s", out)
	}
	if strings.Contains(debug.String(), "msg=send") || strings.Contains(debug.String(), "msg=recv") {
		t.Errorf("trace lines at debug level:\n%s", debug.String())
	}
}

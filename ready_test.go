package msgr

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/perf"
)

// waitUntil polls cond (a state with no event to wait on) until it holds
// or 20 s pass.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIsConnectedMeansReady: a lossless connection whose peer is gone is
// not connected while it tries to reconnect, and is again once a session
// is ready.
func TestIsConnectedMeansReady(t *testing.T) {
	addr := netip0(t)
	srvRec := newRecorder()
	srvRec.echo = true
	srv := startMessenger(t, osdName(1), 77, addr, Options{}, srvRec)
	srv.SetDefaultPolicy(StatefulServer(0))
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(2), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	sendRange(t, c, 1, 0, 5)
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.countFrom(1) == 5 })
	if !c.IsConnected() {
		t.Fatal("not connected with a ready session")
	}
	shutdown(t, srv)
	waitUntil(t, "IsConnected false after the peer went away", func() bool { return !c.IsConnected() })
	// Still not connected while reconnects are refused.
	sendRange(t, c, 1, 5, 10)
	if c.IsConnected() {
		t.Fatal("connected with the peer gone")
	}
	// The peer is back (a new incarnation at the same address): a
	// session opens again.
	srv2 := startMessenger(t, osdName(1), 77, srv.Addrs()[0].Addr, Options{}, srvRec)
	srv2.SetDefaultPolicy(StatefulServer(0))
	waitUntil(t, "IsConnected after the peer came back", c.IsConnected)
}

// netip0 is a loopback address with a port the kernel picked and let go,
// for a server that must come back at the same address.
func netip0(t testing.TB) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// TestHandshakeFailureLogged: a socket that fails its handshake is
// logged at debug level with the peer, the phase and the reason, and
// counted.
func TestHandshakeFailureLogged(t *testing.T) {
	logs := &logCounter{}
	coll := perf.NewCollection()
	srv := newTestMessenger(t, osdName(1), true, Options{Logger: slog.New(logs), Perf: coll}, newRecorder())
	srv.SetDefaultPolicy(StatelessServer(0))
	cases := []struct {
		name, send, phase string
	}{
		{"not msgr2", "GET / HTTP/1.1\r\n\r\n", "BANNER_ACCEPTING"},
		{"banner then a bad preamble", string(banner()) + strings.Repeat("\xff", 32), "HELLO_ACCEPTING"},
		{"banner then silence, then close", string(banner()), "HELLO_ACCEPTING"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", srv.Addrs()[0].Addr.String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nc.Write([]byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			if tc.name == "banner then silence, then close" {
				// Our banner arrives; then we hang up mid-handshake.
				buf := make([]byte, len(banner()))
				if _, err := io.ReadFull(nc, buf); err != nil {
					t.Fatal(err)
				}
				nc.Close()
			} else {
				nc.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, _ = io.Copy(io.Discard, nc)
				nc.Close()
			}
			waitUntil(t, "the failure logged", func() bool { return logs.count("handshake failed") == i+1 })
			a := logs.lastAttrs("handshake failed")
			local := nc.LocalAddr().String()
			if a["phase"] != tc.phase || !strings.Contains(a["peer"], local) || a["err"] == "" {
				t.Fatalf("logged %v; want phase %s, peer %s and a reason", a, tc.phase, local)
			}
			if got := srv.Stats().HandshakeFailures; got != uint64(i+1) {
				t.Fatalf("HandshakeFailures = %d, want %d", got, i+1)
			}
			if got := perfValue(t, coll, "msgr-osd.1", "handshake_failures"); got != uint64(i+1) {
				t.Fatalf("perf handshake_failures = %d, want %d", got, i+1)
			}
		})
	}
}

// perfValue reads one counter of a section of coll.
func perfValue(t testing.TB, coll *perf.Collection, section, name string) uint64 {
	t.Helper()
	for _, r := range coll.Read() {
		if r.Name != section {
			continue
		}
		for i, d := range r.Descs {
			if d.Name == name {
				return r.Values[i].Sum
			}
		}
	}
	t.Fatalf("no counter %s in section %s", name, section)
	return 0
}

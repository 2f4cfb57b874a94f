package msgr

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/wire"
)

// TestSecureTamperClosesConnection: in secure mode, a frame with one bit
// flipped and a frame replayed each fail their GCM tag, and the receiving
// connection closes with a typed error (wire.ErrAuthTag under ErrProtocol).
func TestSecureTamperClosesConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		// act changes or replays an armed chunk; it returns bytes to feed
		// after it.
		act func(p []byte) []byte
	}{
		{"bit flipped", func(p []byte) []byte { p[len(p)/2] ^= 0x04; return nil }},
		{"frame replayed", func(p []byte) []byte { return append([]byte(nil), p...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srvAuth, cliAuth := cephxPair(t, auth.ModeSecure)
			var (
				mu     sync.Mutex
				armed  bool
				victim *Conn
				hit    = make(chan struct{})
			)
			srvRec := newRecorder()
			srvRec.echo = true
			srv := startMessengerCfg(t, Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}, Nonce: 1, AuthServer: srvAuth}, true, Options{}, srvRec)
			hook := func(c *Conn, p []byte) []byte {
				mu.Lock()
				defer mu.Unlock()
				// 96 bytes: one secure v2.1 frame with a small single
				// segment (a keepalive), whole in this chunk.
				if !armed || victim != nil || len(p) != 96 {
					return nil
				}
				victim = c
				close(hit)
				return tc.act(p)
			}
			srv.testRecvHook.Store(&hook)
			srv.SetDefaultPolicy(StatelessServer(0))
			cliRec := newRecorder()
			cli := startMessengerCfg(t, Config{Name: clientName(-1), Nonce: 2, AuthClient: cliAuth}, false, Options{}, cliRec)
			cli.SetDefaultPolicy(LossyClient(0))
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeMon)
			if err != nil {
				t.Fatal(err)
			}
			sendRange(t, c, 1, 0, 3)
			cliRec.waitFor(t, "echoes before tampering", func() bool { return cliRec.countFrom(1) == 3 })
			if got := c.ConMode(); got != auth.ModeSecure {
				t.Fatalf("mode %d, want secure", got)
			}
			mu.Lock()
			armed = true
			mu.Unlock()
			if err := c.SendKeepalive(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-hit:
			case <-time.After(10 * time.Second):
				t.Fatal("no secure keepalive frame reached the server")
			}
			select {
			case <-victim.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the tampered connection did not close")
			}
			if err := victim.Err(); !errors.Is(err, ErrProtocol) || !errors.Is(err, wire.ErrAuthTag) {
				t.Fatalf("closed with %v, want ErrProtocol wrapping wire.ErrAuthTag", err)
			}
			// The client saw its lossy session reset; nothing more was
			// delivered to the server from the tampered session.
			if n := srvRec.countFrom(1); n != 3 {
				t.Fatalf("server got %d messages, want 3", n)
			}
		})
	}
}

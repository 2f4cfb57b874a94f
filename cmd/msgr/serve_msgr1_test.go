package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/messages"
)

// The real ceph CLI forced to msgr1 (-m v1:IP:PORT) against msgr serve
// bound on a v1 address: the "ceph v027" handshake (no authorizer to a
// mon), then authentication in MAuth messages (none, or cephx: challenge,
// key proof, tickets), and the CLI's first message after it reaches the
// dispatcher as client.admin. A wrong key is refused with -EACCES.
func TestServeCephCLIMsgr1(t *testing.T) {
	ceph := needCeph(t)
	admin := cephtest.Admin
	_, adminKey := cephtest.AdminKey(t, serveKeyring)
	wrong := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: bytes.Repeat([]byte{7}, 16)}
	for _, tc := range []struct {
		name   string
		auth   string
		key    auth.CryptoKey
		method uint32
		refuse bool
	}{
		{"none", "none", adminKey, auth.MethodNone, false},
		{"cephx", "cephx", adminKey, auth.MethodCephX, false},
		{"cephx-wrong-key", "cephx", wrong, auth.MethodCephX, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, serveFlags{addr: "v1:127.0.0.1:0", auth: tc.auth, mode: "crc", keyring: serveKeyring})
			a := h.s.Addr()
			if len(a) != 1 || a[0].Type != encoding.AddrTypeLegacy {
				t.Fatalf("serve --addr v1: listens on %v", a)
			}
			cli := startCLI(t, ceph, "v1:"+a[0].Addr.String(), tc.auth, "crc", admin, tc.key, 10)
			if tc.refuse {
				select {
				case <-cli.done:
				case <-time.After(30 * time.Second):
					t.Fatalf("the CLI did not give up in 30 s:\n%s", cli.out.String())
				}
				var ee *exec.ExitError
				out := cli.out.String()
				if !errors.As(cli.err, &ee) || ee.ExitCode() == 0 {
					t.Fatalf("the CLI exit: %v, want non-zero:\n%s", cli.err, out)
				}
				if !strings.Contains(out, "ermission denied") && !strings.Contains(out, "errno 13") {
					t.Errorf("the CLI does not name a permission error:\n%s", out)
				}
				for _, ev := range h.authEvents() {
					if ev.Done {
						t.Errorf("authenticated with a wrong key: %+v", ev)
					}
				}
				for {
					select {
					case m := <-h.msgs:
						if m.header.Type != messages.TypeAuth {
							t.Fatalf("a non-auth message reached the dispatcher: %+v", m)
						}
						continue
					default:
					}
					break
				}
				t.Logf("CLI exit %d: %s", ee.ExitCode(), lastLine(out))
				return
			}
			// MAuth first, then the session's first real message.
			var first seenMsg
			deadline := time.After(30 * time.Second)
			for first.header.Type == 0 || first.header.Type == messages.TypeAuth {
				select {
				case first = <-h.msgs:
				case <-cli.done:
					t.Fatalf("the CLI exited (%v) before a message after auth reached the dispatcher:\n%s", cli.err, cli.out.String())
				case <-deadline:
					t.Fatalf("no message after auth in 30 s; CLI:\n%s", cli.out.String())
				}
			}
			cli.kill()
			var done []authEvent
			for _, ev := range h.authEvents() {
				if ev.Done {
					done = append(done, ev)
				} else if ev.Err != nil {
					t.Errorf("refusal: %+v", ev)
				}
			}
			if len(done) == 0 || done[0].Entity != "client.admin" || done[0].Method != tc.method || done[0].GlobalID == 0 {
				t.Fatalf("auth outcomes %+v, want client.admin by %s", done, tc.auth)
			}
			if first.peer.Type != encoding.EntityTypeClient || !first.connected || first.features == 0 {
				t.Errorf("dispatched on conn of peer %v (connected %v, features %#x)", first.peer, first.connected, first.features)
			}
			switch first.header.Type {
			case messages.TypeMonGetMap, messages.TypeMonSubscribe:
			default:
				t.Errorf("first message after auth is type %d (%s)", first.header.Type, msgName(first.header.Type))
			}
			if !strings.Contains(h.out.String(), " entity=client.admin ") {
				t.Errorf("serve printed no message as client.admin:\n%s", h.out.String())
			}
			t.Logf("first message after auth: %s (seq %d) as %s, global id %d", msgName(first.header.Type), first.header.Seq, done[0].Entity, done[0].GlobalID)
		})
	}
}

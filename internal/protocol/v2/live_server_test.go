package v2

import (
	"context"
	"fmt"
	gonet "net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
)

// TestLiveCephClient points the real `ceph` CLI (librados, C++
// ProtocolV2) at a server Machine posing as a mon, in none/crc,
// cephx/crc and cephx/secure: the Machine must accept the real client's
// handshake (its AUTH_SIGNATURE included) and receive its first messages.
// The CLI then waits for a monmap that never comes; it is killed.
func TestLiveCephClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ceph CLI")
	}
	if _, err := exec.LookPath("ceph"); err != nil {
		t.Skip("no ceph CLI")
	}
	kr, err := auth.LoadKeyring("testdata/cephx-crc.keyring")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		auth, mode string
	}{{"none", "crc"}, {"cephx", "crc"}, {"cephx", "secure"}} {
		t.Run(tc.auth+"-"+tc.mode, func(t *testing.T) {
			ln, err := gonet.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := ln.Addr().(*gonet.TCPAddr).Port
			dir := t.TempDir()
			keyring := filepath.Join(dir, "keyring")
			if err := os.WriteFile(keyring, mustRead(t, "testdata/cephx-crc.keyring"), 0o600); err != nil {
				t.Fatal(err)
			}
			conf := fmt.Sprintf("[global]\nmon host = [v2:127.0.0.1:%d]\nauth client required = %s\nauth cluster required = %[2]s\nauth service required = %[2]s\n"+
				"ms mon client mode = %s\nms client mode = %[3]s\nkeyring = %s\nlog file = %s\nadmin socket =\n", port, tc.auth, tc.mode, keyring, filepath.Join(dir, "client.log"))
			if err := os.WriteFile(filepath.Join(dir, "ceph.conf"), []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ceph", "-c", filepath.Join(dir, "ceph.conf"), "--connect-timeout", "15", "status")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

			me := encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: netipPort(uint16(port))}
			env := &replayEnv{addrs: encoding.EntityAddrVec{me}, gseq: 1, policy: statelessServer}
			mode := uint32(auth.ModeCRC)
			if tc.mode == "secure" {
				mode = auth.ModeSecure
			}
			if tc.auth == "cephx" {
				srv, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr, Modes: []uint32{mode}})
				if err != nil {
					t.Fatal(err)
				}
				env.authS = srv.Handler()
			} else {
				env.authS = &auth.NoneServer{Mon: true, GlobalIDs: auth.NewGlobalIDs(4200)}
			}
			m, err := NewServer(Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeMon}})
			if err != nil {
				t.Fatal(err)
			}
			ln.(*gonet.TCPListener).SetDeadline(time.Now().Add(15 * time.Second))
			// The CLI may open several connections (mon hunting): serve
			// the first one.
			sock, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer sock.Close()
			r := &replay{t: t, m: m}
			apply := func(rd *Ready) {
				r.apply(rd)
				if len(r.out) > 0 {
					if _, err := sock.Write(r.out); err != nil {
						t.Fatal(err)
					}
					r.out = r.out[:0]
				}
				if len(r.closed) > 0 {
					t.Fatalf("closed: %v", r.closed)
				}
			}
			apply(m.Accepted(time.Now(), sock.RemoteAddr().(*gonet.TCPAddr).AddrPort()))
			buf := make([]byte, 64<<10)
			deadline := time.Now().Add(15 * time.Second)
			for len(r.delivered) == 0 {
				sock.SetReadDeadline(deadline)
				n, err := sock.Read(buf)
				if err != nil {
					t.Fatalf("state %v, established %v: %v", m.State(), r.est, err)
				}
				apply(m.Received(time.Now(), buf[:n]))
			}
			if len(r.est) != 1 || r.est[0].ConMode != mode || r.est[0].Peer.Type != encoding.EntityTypeClient {
				t.Fatalf("established %+v", r.est)
			}
			if m.st.dec.Secure() != (mode == auth.ModeSecure) {
				t.Fatal("secure mode not on")
			}
			t.Logf("real client: %v, global id %d, first message type %d", r.est[0].Peer, r.est[0].AuthGlobalID, r.delivered[0].Header.Type)
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

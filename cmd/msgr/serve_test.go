package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

const serveKeyring = "testdata/serve/keyring"

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// seenMsg is a message as serve's dispatcher saw it.
type seenMsg struct {
	peer      encoding.EntityName
	header    message.Header
	features  uint64
	connected bool
	auth      msgr.AuthInfo // the connection's, at dispatch
	peerGID   uint64
}

// harness is a msgr serve server started in the test process.
type harness struct {
	s     *server
	out   *syncBuffer // serve's stdout
	logs  *syncBuffer // serve's slog output
	msgs  chan seenMsg
	authC chan authEvent // every outcome, as long as there is room
	mu    sync.Mutex
	auths []authEvent
}

func (h *harness) authEvents() []authEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.auths)
}

// startHarness resolves f as msgr serve does and starts the server on a
// port of the kernel's choosing. The server is shut down at cleanup, and
// no goroutine may outlive it.
func startHarness(t *testing.T, f serveFlags) *harness {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	if f.addr == "" {
		f.addr = "127.0.0.1:0"
	}
	if f.name == "" {
		f.name = "mon.a"
	}
	sc, err := resolveServe(f)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{out: &syncBuffer{}, logs: &syncBuffer{}, msgs: make(chan seenMsg, 16), authC: make(chan authEvent, 16)}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.s, err = startServer(ctx, sc, log, quiet, h.out, serveHooks{
		onAuth: func(ev authEvent) {
			h.mu.Lock()
			h.auths = append(h.auths, ev)
			h.mu.Unlock()
			select {
			case h.authC <- ev:
			default:
			}
		},
		onMessage: func(c *msgr.Conn, hd message.Header) {
			select {
			case h.msgs <- seenMsg{peer: c.PeerName(), header: hd, features: c.Features(), connected: c.IsConnected(), auth: c.AuthInfo(), peerGID: c.PeerGlobalID()}:
			default: // the tests read the first few only
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.s.Close(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", h.logs.String())
		}
		goleak.VerifyNone(t, ignore)
	})
	return h
}

func (h *harness) monAddr() string {
	a := h.s.Addr().Msgr2()
	return "v2:" + a.Addr.String()
}

// needCeph returns the ceph CLI's path, or skips (fails under CI=true)
// when it is not installed.
func needCeph(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ceph")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the ceph CLI is required under CI=true: %v", err)
		}
		t.Skipf("the ceph CLI is not installed (%v): install ceph-common to run the real-client tests", err)
	}
	return p
}

// cliRun is the real ceph CLI pointed at a msgr serve server.
type cliRun struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the CLI has exited
	err  error         // Wait's result, once done
}

// startCLI runs `ceph status` as who, with a ceph.conf of its own (fsid,
// mon host, auth and modes, a keyring with who's key) and -m pointing at
// the server.
func startCLI(t *testing.T, ceph, mon, authMethod, mode string, who auth.EntityName, key auth.CryptoKey, connectTimeout int) *cliRun {
	t.Helper()
	dir := t.TempDir()
	kr := auth.NewKeyring()
	if authMethod == "cephx" {
		kr.Add(who, key)
	}
	keyring := filepath.Join(dir, "keyring")
	if err := os.WriteFile(keyring, kr.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[global]
fsid = 9b0f3a5e-54b5-4c6f-9d43-1d2f3c4b5a69
mon host = %s
auth cluster required = %s
auth service required = %[2]s
auth client required = %[2]s
ms mon client mode = %s
ms client mode = %[3]s
keyring = %s
log file = %s
admin socket = %s
client mount timeout = %d
rados mon op timeout = %[7]d
`, mon, authMethod, mode, keyring, filepath.Join(dir, "client.log"), filepath.Join(dir, "asok"), connectTimeout)
	confPath := filepath.Join(dir, "ceph.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &cliRun{out: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(ceph, "-c", confPath, "-m", mon, "-n", who.String(),
		"--connect-timeout", fmt.Sprint(connectTimeout), "status")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.Env = append(os.Environ(), "CEPH_ARGS=")
	r.cmd.WaitDelay = 5 * time.Second
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(r.kill)
	return r
}

// kill stops the CLI and waits for it.
func (r *cliRun) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

// The real ceph CLI (librados' MonClient and C++ ProtocolV2) against msgr
// serve, through the messenger: banner, HELLO, the auth exchange (none,
// or cephx with both AUTH_SIGNATUREs, and in secure mode the encrypted
// phase), CLIENT_IDENT / SERVER_IDENT, then the CLI's first message
// reaches the messenger's dispatchers. The CLI then waits for a monmap
// that never comes, and is killed.
func TestServeCephCLI(t *testing.T) {
	ceph := needCeph(t)
	admin := cephtest.Admin
	_, adminKey := cephtest.AdminKey(t, serveKeyring)
	for _, tc := range []struct {
		name             string
		auth             string
		srvMode, cliMode string // ms_mon_service_mode, ms_mon_client_mode
		method           uint32
		conMode          uint32
	}{
		{"none-crc", "none", "crc", "crc", auth.MethodNone, auth.ModeCRC},
		{"cephx-crc", "cephx", "crc", "crc", auth.MethodCephX, auth.ModeCRC},
		{"cephx-secure", "cephx", "secure", "secure", auth.MethodCephX, auth.ModeSecure},
		// Both allowed: the client's preference wins, as in Ceph's
		// AuthRegistry::pick_mode.
		{"cephx-prefers-crc", "cephx", "secure crc", "crc secure", auth.MethodCephX, auth.ModeCRC},
		{"cephx-prefers-secure", "cephx", "crc secure", "secure crc", auth.MethodCephX, auth.ModeSecure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, serveFlags{auth: tc.auth, mode: tc.srvMode, keyring: serveKeyring})
			cli := startCLI(t, ceph, h.monAddr(), tc.auth, tc.cliMode, admin, adminKey, 20)
			var first seenMsg
			select {
			case first = <-h.msgs:
			case <-cli.done:
				t.Fatalf("the CLI exited (%v) before any message reached the dispatcher:\n%s", cli.err, cli.out.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("no message reached the dispatcher in 30 s; CLI:\n%s", cli.out.String())
			}
			cli.kill()

			// The exchange that let it in.
			var done []authEvent
			for _, ev := range h.authEvents() {
				if ev.Err != nil {
					t.Errorf("refusal: %+v", ev)
				}
				if ev.Done {
					done = append(done, ev)
				}
			}
			if len(done) == 0 {
				t.Fatal("a message was dispatched but no exchange completed")
			}
			ev := done[0]
			if ev.Entity != "client.admin" || ev.Method != tc.method || ev.Mode != tc.conMode ||
				ev.PeerType != encoding.EntityTypeClient || ev.GlobalID == 0 {
				t.Errorf("auth outcome %+v, want client.admin by %s in %s mode", ev, tc.auth, modeName(tc.conMode))
			}

			// The first message: from the client, the first of its
			// session, one a MonClient starts with.
			if first.peer.Type != encoding.EntityTypeClient || !first.connected || first.features == 0 {
				t.Errorf("dispatched on conn of peer %v (connected %v, features %#x)", first.peer, first.connected, first.features)
			}
			hd := first.header
			if hd.Seq != 1 {
				t.Errorf("first message has seq %d", hd.Seq)
			}
			switch hd.Type {
			case messages.TypeMonGetMap, messages.TypeMonSubscribe, messages.TypeAuth:
			default:
				t.Errorf("first message is type %d (%s)", hd.Type, msgName(hd.Type))
			}
			// The connection knows who authenticated on it.
			if first.auth.Entity.String() != "client.admin" || first.auth.GlobalID != ev.GlobalID || first.peerGID != ev.GlobalID || first.auth.ConMode != tc.conMode {
				t.Errorf("connection auth %+v (peer gid %d), want client.admin, global id %d, mode %d", first.auth, first.peerGID, ev.GlobalID, tc.conMode)
			}
			// serve printed its line before the hook heard the message.
			want := fmt.Sprintf(" entity=client.admin global_id=%d seq=1 type=%d name=%s len=%d ", ev.GlobalID, hd.Type, msgName(hd.Type), hd.FrontLen+hd.MiddleLen+hd.DataLen)
			if line := firstLine(h.out.String()); !strings.HasPrefix(line, "msg peer=client.") || !strings.Contains(line, want) ||
				!strings.HasSuffix(line, fmt.Sprintf(" tid=%d prio=%d", hd.Tid, hd.Priority)) {
				t.Errorf("stdout line %q, want one with %q", line, want)
			}
			t.Logf("first message %s (seq %d, %d bytes) from %v as %s, global id %d, %s mode",
				msgName(hd.Type), hd.Seq, hd.FrontLen+hd.MiddleLen+hd.DataLen, first.peer, ev.Entity, ev.GlobalID, modeName(ev.Mode))
		})
	}
}

// The real ceph CLI refused by msgr serve as by a real mon: a wrong key
// and an unknown entity get AUTH_BAD_METHOD with -EACCES, a method or a
// connection mode the server does not allow -EOPNOTSUPP; the CLI gives up
// at once and exits non-zero naming a permission error (its MonClient
// reports every auth failure as EACCES); no session opens and nothing
// reaches the dispatcher.
func TestServeCephCLIRefused(t *testing.T) {
	ceph := needCeph(t)
	admin := cephtest.Admin
	_, adminKey := cephtest.AdminKey(t, serveKeyring)
	wrong := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: bytes.Repeat([]byte{7}, 16)}
	ghost := auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "ghost"}
	for _, tc := range []struct {
		name             string
		srvAuth, srvMode string
		cliAuth, cliMode string
		who              auth.EntityName
		key              auth.CryptoKey
		errno            int32
	}{
		{"wrong-key", "cephx", "crc", "cephx", "crc", admin, wrong, auth.EACCES},
		{"wrong-key-secure", "cephx", "secure", "cephx", "secure", admin, wrong, auth.EACCES},
		{"unknown-entity", "cephx", "crc", "cephx", "crc", ghost, adminKey, auth.EACCES},
		{"method-not-allowed", "cephx", "crc", "none", "crc", admin, adminKey, auth.EOPNOTSUPP},
		{"mode-not-allowed", "cephx", "crc", "cephx", "secure", admin, adminKey, auth.EOPNOTSUPP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, serveFlags{auth: tc.srvAuth, mode: tc.srvMode, keyring: serveKeyring})
			cli := startCLI(t, ceph, h.monAddr(), tc.cliAuth, tc.cliMode, tc.who, tc.key, 10)
			select {
			case <-cli.done:
			case m := <-h.msgs:
				t.Fatalf("a message reached the dispatcher: %+v", m)
			case <-time.After(30 * time.Second):
				t.Fatalf("the CLI did not give up in 30 s:\n%s", cli.out.String())
			}
			out := cli.out.String()
			var ee *exec.ExitError
			if !errors.As(cli.err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("the CLI exit: %v, want non-zero:\n%s", cli.err, out)
			}
			if !strings.Contains(out, "ermission denied") && !strings.Contains(out, "errno 13") {
				t.Errorf("the CLI does not name a permission error:\n%s", out)
			}
			evs := h.authEvents()
			if len(evs) == 0 {
				t.Fatal("no exchange reached the server")
			}
			for _, ev := range evs {
				var bm *auth.BadMethodError
				if ev.Done || !errors.As(ev.Err, &bm) || bm.Result != -tc.errno || !errors.Is(ev.Err, auth.ErrDenied) {
					t.Errorf("auth outcome %+v, want a refusal with errno -%d", ev, tc.errno)
				}
			}
			// Nothing was dispatched, and nothing can be any more once
			// the server is down.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := h.s.Close(ctx); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-h.msgs:
				t.Errorf("a message reached the dispatcher: %+v", m)
			default:
			}
			if s := h.out.String(); s != "" {
				t.Errorf("serve printed messages:\n%s", s)
			}
			t.Logf("CLI exit %d: %s", ee.ExitCode(), lastLine(out))
		})
	}
}

// A Go client messenger (auth none and cephx, crc and secure) reaches
// msgr serve and its messages are printed: the server path without the
// ceph CLI, so that it is checked everywhere.
func TestServeGoClient(t *testing.T) {
	admin := cephtest.Admin
	_, adminKey := cephtest.AdminKey(t, serveKeyring)
	for _, tc := range []struct {
		auth string
		mode uint32
	}{{"none", auth.ModeCRC}, {"cephx", auth.ModeCRC}, {"cephx", auth.ModeSecure}} {
		t.Run(tc.auth+"-"+modeName(tc.mode), func(t *testing.T) {
			h := startHarness(t, serveFlags{auth: tc.auth, mode: "secure crc", keyring: serveKeyring})
			var authCli func(uint8) (auth.ClientHandler, error)
			if tc.auth == "cephx" {
				sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: adminKey, MonModes: []uint32{tc.mode}})
				if err != nil {
					t.Fatal(err)
				}
				authCli = func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }
			}
			c := sendGetMap(t, h.s.Addr(), authCli)
			var first seenMsg
			select {
			case first = <-h.msgs:
			case <-c.Done():
				t.Fatalf("client connection closed: %v", c.Err())
			case <-time.After(20 * time.Second):
				t.Fatal("no message reached the dispatcher")
			}
			if first.header.Type != messages.TypeMonGetMap || first.header.Seq != 1 || first.peer.Type != encoding.EntityTypeClient {
				t.Errorf("dispatched %+v", first)
			}
			evs := h.authEvents()
			// Auth none names the messenger's entity, client.0 (its
			// number is not known yet); cephx the principal.
			want := "client.0"
			if tc.auth == "cephx" {
				want = "client.admin"
			}
			if len(evs) != 1 || !evs[0].Done || evs[0].Entity != want || evs[0].Mode != tc.mode {
				t.Fatalf("auth outcomes %+v", evs)
			}
			gid := evs[0].GlobalID
			if first.auth.Entity.String() != want || first.auth.GlobalID != gid || first.peerGID != gid || first.auth.ConMode != tc.mode {
				t.Errorf("connection auth %+v (peer gid %d), want %s, global id %d", first.auth, first.peerGID, want, gid)
			}
			// The client learnt the same global id (a mon assigns it).
			if got := c.AuthInfo(); got.GlobalID != gid || got.ConMode != tc.mode || c.PeerGlobalID() != 0 {
				t.Errorf("client side auth %+v, peer gid %d", got, c.PeerGlobalID())
			}
			wantLine := fmt.Sprintf(" entity=%s global_id=%d seq=1 type=5 name=MON_GET_MAP len=0 front=0 middle=0 data=0 tid=0 prio=%d", want, gid, message.PrioDefault)
			if line := firstLine(h.out.String()); !strings.Contains(line, wantLine) {
				t.Errorf("stdout line %q, want one with %q", line, wantLine)
			}
		})
	}
}

// Peers get the lists Ceph's AuthRegistry gives a mon's peers: clients
// the service lists (here cephx or none, crc or secure), mons and mgrs the
// cluster lists (here cephx, secure only), as testdata/serve/ceph.conf
// sets them.
func TestServePeerTypes(t *testing.T) {
	kr, err := auth.LoadKeyring(serveKeyring)
	if err != nil {
		t.Fatal(err)
	}
	monName := auth.EntityName{Type: uint32(encoding.EntityTypeMon)}
	monKey, err := kr.Key(monName)
	if err != nil {
		t.Fatal(err)
	}
	cephxAs := func(mode uint32) func(uint8) (auth.ClientHandler, error) {
		sess, err := cephx.NewSession(cephx.Config{Name: monName, Key: monKey, MonModes: []uint32{mode}})
		if err != nil {
			t.Fatal(err)
		}
		return func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }
	}
	client := encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}
	peerMon := encoding.EntityName{Type: encoding.EntityTypeMon, Num: 1}
	for _, tc := range []struct {
		name    string
		me      encoding.EntityName
		authCli func(uint8) (auth.ClientHandler, error)
		method  uint32
		mode    uint32 // the mode agreed, 0 if refused
		errno   int32  // the refusal's
	}{
		{"client-none", client, nil, auth.MethodNone, auth.ModeCRC, 0},
		{"mon-none", peerMon, nil, auth.MethodNone, 0, auth.EOPNOTSUPP},
		{"mon-cephx-crc", peerMon, cephxAs(auth.ModeCRC), auth.MethodCephX, 0, auth.EOPNOTSUPP},
		{"mon-cephx-secure", peerMon, cephxAs(auth.ModeSecure), auth.MethodCephX, auth.ModeSecure, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, serveFlags{conf: "testdata/serve/ceph.conf"})
			sendGetMapAs(t, tc.me, h.s.Addr(), tc.authCli)
			var ev authEvent
			select {
			case ev = <-h.authC:
			case <-time.After(20 * time.Second):
				t.Fatal("no exchange reached the server")
			}
			if ev.PeerType != tc.me.Type || ev.Method != tc.method {
				t.Errorf("outcome %+v", ev)
			}
			if tc.mode == 0 {
				var bm *auth.BadMethodError
				if ev.Done || !errors.As(ev.Err, &bm) || bm.Result != -tc.errno {
					t.Fatalf("outcome %+v, want a refusal with errno -%d", ev, tc.errno)
				}
				return
			}
			if !ev.Done || ev.Mode != tc.mode {
				t.Fatalf("outcome %+v, want done in mode %d", ev, tc.mode)
			}
			select {
			case m := <-h.msgs:
				if m.peer.Type != tc.me.Type || m.header.Type != messages.TypeMonGetMap {
					t.Errorf("dispatched %+v", m)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no message reached the dispatcher")
			}
		})
	}
}

// sendGetMap starts a Go client messenger (shut down at cleanup), opens a
// lossy connection to the mon at addrs and sends it MON_GET_MAP.
func sendGetMap(t *testing.T, addrs encoding.EntityAddrVec, authCli func(uint8) (auth.ClientHandler, error)) *msgr.Conn {
	t.Helper()
	return sendGetMapAs(t, encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}, addrs, authCli)
}

// sendGetMapAs is sendGetMap from entity me.
func sendGetMapAs(t *testing.T, me encoding.EntityName, addrs encoding.EntityAddrVec, authCli func(uint8) (auth.ClientHandler, error)) *msgr.Conn {
	t.Helper()
	cm, err := msgr.New(msgr.Config{Name: me, Nonce: 77, AuthClient: authCli},
		msgr.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cm.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	cm.SetDefaultPolicy(msgr.LossyClient(0))
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	cm.AddDispatcherTail(msgr.DispatcherFunc(func(*msgr.Conn, message.Message) bool { return true }))
	c, err := cm.GetConnection(addrs, encoding.EntityTypeMon)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&messages.MMonGetMap{}); err != nil {
		t.Fatal(err)
	}
	return c
}

// resolveServe reads the flags and ceph.conf as a mon reads its options.
func TestServeResolve(t *testing.T) {
	conf := "testdata/serve/ceph.conf"
	for _, tc := range []struct {
		name                       string
		f                          serveFlags
		svcMethods, clusterMethods []uint32
		svcModes, clusterModes     []uint32
		keyring                    bool
		wantErr                    string
	}{
		{name: "defaults need a keyring", f: serveFlags{name: "mon.a", keyring: "testdata/serve/none"}, wantErr: "keyring"},
		{name: "defaults", f: serveFlags{name: "mon.a", keyring: serveKeyring},
			svcMethods: []uint32{auth.MethodCephX}, clusterMethods: []uint32{auth.MethodCephX},
			svcModes: []uint32{auth.ModeSecure, auth.ModeCRC}, clusterModes: []uint32{auth.ModeSecure, auth.ModeCRC}, keyring: true},
		{name: "conf", f: serveFlags{conf: conf, name: "mon.a"},
			svcMethods: []uint32{auth.MethodCephX, auth.MethodNone}, clusterMethods: []uint32{auth.MethodCephX},
			svcModes: []uint32{auth.ModeCRC, auth.ModeSecure}, clusterModes: []uint32{auth.ModeSecure}, keyring: true},
		{name: "conf, own section", f: serveFlags{conf: conf, name: "mon.b"},
			svcMethods: []uint32{auth.MethodNone}, clusterMethods: []uint32{auth.MethodCephX},
			svcModes: []uint32{auth.ModeCRC}, clusterModes: []uint32{auth.ModeSecure}, keyring: true},
		{name: "flags beat conf", f: serveFlags{conf: conf, name: "mon.a", auth: "none", mode: "crc"},
			svcMethods: []uint32{auth.MethodNone}, clusterMethods: []uint32{auth.MethodNone},
			svcModes: []uint32{auth.ModeCRC}, clusterModes: []uint32{auth.ModeCRC}},
		{name: "none is crc only", f: serveFlags{name: "mon.a", auth: "none", mode: "secure"}, wantErr: "crc mode only"},
		{name: "bad method", f: serveFlags{name: "mon.a", auth: "kerberos"}, wantErr: "unknown auth method"},
		{name: "bad mode", f: serveFlags{name: "mon.a", auth: "none", mode: "fast"}, wantErr: "unknown mode"},
		{name: "bad addr", f: serveFlags{name: "mon.a", auth: "none", addr: "localhost"}, wantErr: "--addr"},
		{name: "v2 addr", f: serveFlags{name: "mon.a", auth: "none", addr: "v2:127.0.0.1:3300"},
			svcMethods: []uint32{auth.MethodNone}, clusterMethods: []uint32{auth.MethodNone},
			svcModes: []uint32{auth.ModeSecure, auth.ModeCRC}, clusterModes: []uint32{auth.ModeSecure, auth.ModeCRC}},
		{name: "bad name", f: serveFlags{name: "nobody", auth: "none"}, wantErr: "--name"},
		{name: "cephx needs a mon", f: serveFlags{name: "osd.1", auth: "cephx", keyring: serveKeyring}, wantErr: "only a mon"},
		{name: "missing conf", f: serveFlags{conf: "testdata/serve/missing.conf", name: "mon.a"}, wantErr: "missing.conf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := resolveServe(tc.f)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sc.serviceMethods, tc.svcMethods) || !slices.Equal(sc.clusterMethods, tc.clusterMethods) ||
				!slices.Equal(sc.serviceModes, tc.svcModes) || !slices.Equal(sc.clusterModes, tc.clusterModes) {
				t.Errorf("methods %v/%v modes %v/%v", sc.serviceMethods, sc.clusterMethods, sc.serviceModes, sc.clusterModes)
			}
			if (sc.keyring != nil) != tc.keyring {
				t.Errorf("keyring loaded: %v", sc.keyring != nil)
			}
			if sc.name.Type != encoding.EntityTypeMon || sc.addr.String() != "127.0.0.1:3300" {
				t.Errorf("name %v addr %v", sc.name, sc.addr)
			}
		})
	}
	if _, err := resolveServe(serveFlags{name: "mon.a", auth: "none", mode: "fast"}); !errors.Is(err, config.ErrBadValue) {
		t.Errorf("bad mode: %v, want ErrBadValue", err)
	}
}

// The command line: usage and exit codes.
func TestServeUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: msgr serve") {
		t.Errorf("--help: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"serve", "--bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "bogus") {
		t.Errorf("--bogus: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "extra"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "extra") {
		t.Errorf("extra: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "--auth", "none", "--mode", "secure"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "crc mode only") {
		t.Errorf("none/secure: %d %q", code, errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %q", out.String())
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Under TestServeCommand this test binary is the msgr command.
func init() {
	if os.Getenv("MSGR_SERVE_TEST_CHILD") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// notifyBuffer is a syncBuffer that signals every write.
type notifyBuffer struct {
	syncBuffer
	ch chan struct{}
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{ch: make(chan struct{}, 1)} }

func (n *notifyBuffer) Write(p []byte) (int, error) {
	k, err := n.syncBuffer.Write(p)
	select {
	case n.ch <- struct{}{}:
	default:
	}
	return k, err
}

// await returns the first submatch of re in what was written, waiting
// for writes until the deadline or until exited is closed.
func (n *notifyBuffer) await(t *testing.T, re *regexp.Regexp, deadline <-chan time.Time, exited <-chan struct{}) string {
	t.Helper()
	for {
		if m := re.FindStringSubmatch(n.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-n.ch:
		case <-exited:
			if m := re.FindStringSubmatch(n.String()); m != nil {
				return m[len(m)-1]
			}
			t.Fatalf("the command exited before writing %v:\n%s", re, n.String())
		case <-deadline:
			t.Fatalf("timed out waiting for %v:\n%s", re, n.String())
		}
	}
}

// `msgr serve -c ceph.conf --addr 127.0.0.1:0` as a process: it reads
// the conf (cephx and none allowed to clients, keyring from the conf),
// says where it listens, prints a client's message on stdout, and exits 0
// on SIGTERM.
func TestServeCommand(t *testing.T) {
	// Registered first, so that it runs after every other cleanup.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := newNotifyBuffer(), newNotifyBuffer()
	cmd := exec.Command(exe, "serve", "-c", "testdata/serve/ceph.conf", "--addr", "127.0.0.1:0", "-n", "mon.a")
	cmd.Env = append(os.Environ(), "MSGR_SERVE_TEST_CHILD=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	deadline := time.After(30 * time.Second)

	addr := stderr.await(t, regexp.MustCompile(`msg=listening .*addrs=v2:(127\.0\.0\.1:[0-9]+)/0 `), deadline, exited)
	if !strings.Contains(stderr.String(), `client_auth="cephx none" client_modes="crc secure" cluster_auth=cephx cluster_modes=secure`) {
		t.Errorf("the conf was not applied:\n%s", stderr.String())
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	sendGetMap(t, encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Addr: ap}}, nil)
	line := stdout.await(t, regexp.MustCompile(`(?m)^(msg .*)$`), deadline, exited)
	if !strings.HasPrefix(line, "msg peer=client.") || !strings.Contains(line, " seq=1 type=5 name=MON_GET_MAP len=0 front=0 middle=0 data=0") ||
		!regexp.MustCompile(` entity=client\.0 global_id=[1-9][0-9]* seq=1 `).MatchString(line) {
		t.Errorf("stdout line %q", line)
	}
	stderr.await(t, regexp.MustCompile(`(msg=authenticated entity=client.0 global_id=[0-9]+ method=none mode=crc)`), deadline, exited)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-deadline:
		t.Fatalf("no exit after SIGTERM:\n%s", stderr.String())
	}
	if waitErr != nil {
		t.Fatalf("exit: %v\n%s", waitErr, stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// renewClock is a client-side clock the test moves forward.
type renewClock struct{ ns atomic.Int64 }

func (c *renewClock) now() time.Time { return time.Unix(0, c.ns.Load()) }

// A Go client authenticated with cephx renews its service tickets over
// MAuth, as a MonClient does when they near expiry: serve answers through
// the cephx handler that authenticated the connection, and prints the
// MAuth's line with the principal. A renewal on an auth-none session is
// refused with -EOPNOTSUPP.
func TestServeTicketRenewal(t *testing.T) {
	admin := cephtest.Admin
	_, adminKey := cephtest.AdminKey(t, serveKeyring)
	for _, mode := range []uint32{auth.ModeCRC, auth.ModeSecure} {
		t.Run(modeName(mode), func(t *testing.T) {
			h := startHarness(t, serveFlags{auth: "cephx", mode: "secure crc", keyring: serveKeyring})
			clock := &renewClock{}
			clock.ns.Store(time.Now().UnixNano())
			sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: adminKey, MonModes: []uint32{mode}, Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			replies := make(chan *messages.MAuthReply, 4)
			c := renewClient(t, h, func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }, replies)
			var first seenMsg
			select {
			case first = <-h.msgs:
			case <-time.After(20 * time.Second):
				t.Fatal("no message reached the dispatcher")
			}
			gid := sess.GlobalID()
			if gid == 0 || first.peerGID != gid {
				t.Fatalf("global id: session %d, server connection %d", gid, first.peerGID)
			}
			before, err := sess.Ticket(cephx.ServiceOSD)
			if err != nil {
				t.Fatal(err)
			}
			// Past three quarters of a service ticket's hour.
			clock.ns.Add(int64(50 * time.Minute))
			p, ok, err := sess.RenewalRequest()
			if err != nil || !ok {
				t.Fatalf("renewal request: ok %v err %v", ok, err)
			}
			rounds := 0
			for ; p != nil; rounds++ {
				if rounds == 3 {
					t.Fatal("renewal does not converge")
				}
				if err := c.Send(&messages.MAuth{Protocol: auth.MethodCephX, Payload: p}); err != nil {
					t.Fatal(err)
				}
				r := awaitReply(t, replies)
				if r.Result != 0 || r.GlobalID != gid || r.Protocol != auth.MethodCephX {
					t.Fatalf("reply: result %d global id %d protocol %d", r.Result, r.GlobalID, r.Protocol)
				}
				if p, err = sess.HandleRenewalReply(r.Result, r.ResultBL); err != nil {
					t.Fatal(err)
				}
			}
			after, err := sess.Ticket(cephx.ServiceOSD)
			if err != nil {
				t.Fatal(err)
			}
			if !after.Expires.After(before.Expires) {
				t.Errorf("osd ticket not renewed: expires %v, then %v", before.Expires, after.Expires)
			}
			want := regexp.MustCompile(fmt.Sprintf(`(?m)^msg peer=client\.\S+ addr=\S+ entity=client\.admin global_id=%d seq=2 type=17 name=AUTH len=[1-9][0-9]* `, gid))
			if !want.MatchString(h.out.String()) {
				t.Errorf("no MAuth line matching %v in:\n%s", want, h.out.String())
			}
			if !strings.Contains(h.logs.String(), "msg=\"ticket request\" entity=client.admin global_id="+fmt.Sprint(gid)) {
				t.Errorf("no ticket request logged:\n%s", h.logs.String())
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		h := startHarness(t, serveFlags{auth: "none", mode: "crc"})
		replies := make(chan *messages.MAuthReply, 1)
		c := renewClient(t, h, nil, replies)
		if err := c.Send(&messages.MAuth{Protocol: auth.MethodCephX, Payload: []byte{1, 2}}); err != nil {
			t.Fatal(err)
		}
		if r := awaitReply(t, replies); r.Result != -auth.EOPNOTSUPP || len(r.ResultBL) != 0 || r.GlobalID == 0 {
			t.Errorf("reply %+v, want -EOPNOTSUPP", r)
		}
	})
}

// renewClient starts a Go client messenger that decodes MAuthReply (into
// replies), opens a lossy connection to h and sends MON_GET_MAP.
func renewClient(t *testing.T, h *harness, authCli func(uint8) (auth.ClientHandler, error), replies chan<- *messages.MAuthReply) *msgr.Conn {
	t.Helper()
	reg := message.NewRegistry()
	if err := messages.RegisterMon(reg); err != nil {
		t.Fatal(err)
	}
	cm, err := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}, Nonce: 78, AuthClient: authCli, Registry: reg},
		msgr.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cm.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	cm.SetDefaultPolicy(msgr.LossyClient(0))
	if err := cm.Start(); err != nil {
		t.Fatal(err)
	}
	cm.AddDispatcherTail(msgr.DispatcherFunc(func(_ *msgr.Conn, m message.Message) bool {
		if r, ok := m.(*messages.MAuthReply); ok {
			replies <- r
		}
		return true
	}))
	c, err := cm.GetConnection(h.s.Addr(), encoding.EntityTypeMon)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&messages.MMonGetMap{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func awaitReply(t *testing.T, replies <-chan *messages.MAuthReply) *messages.MAuthReply {
	t.Helper()
	select {
	case r := <-replies:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no MAuthReply")
		return nil
	}
}

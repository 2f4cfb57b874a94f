package v2

import (
	"errors"
	gonet "net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// cephConf is what the live tests need from a test cluster's ceph.conf.
type cephConf struct {
	mon     netip.AddrPort
	cephx   bool
	secure  bool
	keyring string
}

func readCephConf(t *testing.T, path string) cephConf {
	f, err := config.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.New(f, "client.admin")
	var c cephConf
	if mons, err := cfg.Mons(); err == nil {
		for _, m := range mons {
			if a := m.Addrs.Msgr2(); a.Addr.IsValid() {
				c.mon = a.Addr
				break
			}
		}
	}
	c.cephx = slices.Contains(cfg.AuthClientRequired(), "cephx")
	modes, err := cfg.Modes("ms_mon_client_mode")
	if err != nil {
		t.Fatal(err)
	}
	c.secure = len(modes) > 0 && modes[0] == config.ModeSecure
	if p, ok := cfg.Keyring(); ok {
		c.keyring = p
	} else if ps := cfg.KeyringPaths(); len(ps) > 0 {
		c.keyring = ps[0]
	}
	if !c.mon.IsValid() {
		t.Fatalf("%s: no v2 mon address", path)
	}
	return c
}

// liveEnv is a client messenger that learns its address from the mon.
type liveEnv struct {
	addrs encoding.EntityAddrVec
	gseq  uint64
	authC auth.ClientHandler
}

func (e *liveEnv) MyAddrs() encoding.EntityAddrVec              { return e.addrs }
func (e *liveEnv) NextGlobalSeq(min uint64) uint64              { e.gseq = max(e.gseq, min) + 1; return e.gseq }
func (e *liveEnv) Policy(uint8) Policy                          { return lossyClient }
func (e *liveEnv) AuthClient(uint8) (auth.ClientHandler, error) { return e.authC, nil }
func (e *liveEnv) AuthServer(uint8) (auth.ServerHandler, error) {
	return nil, errors.New("client only")
}
func (e *liveEnv) Cookie() uint64 { return 0x1234 }

// TestLiveMon drives a client Machine over a real socket to a real
// Pacific mon (the clusters of scripts/ci-ceph.sh): handshake in the
// cluster's auth and mode, a keepalive round trip, and MON_GET_MAP
// answered with the monmap.
func TestLiveMon(t *testing.T) {
	for _, env := range []string{"MSGR_TEST_CEPH_NONE", "MSGR_TEST_CEPH_CEPHX", "MSGR_TEST_CEPH_SECURE"} {
		t.Run(env, func(t *testing.T) {
			path := os.Getenv(env)
			if path == "" {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is not set", env)
				}
				t.Skipf("%s not set (see scripts/ci-ceph.sh)", env)
			}
			liveMon(t, readCephConf(t, path))
		})
	}
}

func liveMon(t *testing.T, conf cephConf) {
	admin := auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}
	env := &liveEnv{addrs: encoding.EntityAddrVec{{Type: encoding.AddrTypeAny, Nonce: uint32(time.Now().UnixNano())}}}
	mode := uint32(auth.ModeCRC)
	if conf.secure {
		mode = auth.ModeSecure
	}
	if conf.cephx {
		kr, err := auth.LoadKeyring(conf.keyring)
		if err != nil {
			t.Fatal(err)
		}
		key, err := kr.Key(admin)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, MonModes: []uint32{mode}})
		if err != nil {
			t.Fatal(err)
		}
		if env.authC, err = sess.ClientHandler(uint32(encoding.EntityTypeMon)); err != nil {
			t.Fatal(err)
		}
	} else {
		env.authC = &auth.NoneClient{Name: admin, Mon: true}
	}
	monAddr := encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: conf.mon}
	m, err := NewClient(Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1},
		PeerType: encoding.EntityTypeMon, PeerAddrs: encoding.EntityAddrVec{monAddr}})
	if err != nil {
		t.Fatal(err)
	}
	sock, err := gonet.DialTimeout("tcp", conf.mon.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	var established *Established
	var delivered []*InMessage
	var keepAck bool
	apply := func(acts []Action) {
		for _, a := range acts {
			switch a := a.(type) {
			case Write:
				for _, b := range a.Bufs {
					if _, err := sock.Write(b); err != nil {
						t.Fatal(err)
					}
				}
			case LearnedAddr:
				env.addrs[0].Addr = netip.AddrPortFrom(a.Addr.Addr.Addr(), 0)
			case Established:
				established = &a
			case Deliver:
				delivered = append(delivered, a.Msg)
			case KeepaliveAck:
				keepAck = true
			case CloseSocket, Closed, Reset:
				t.Fatalf("%T: %+v", a, a)
			}
		}
	}
	apply(m.Start(time.Now()))
	apply(m.Connected(time.Now()))
	buf := make([]byte, 64<<10)
	readUntil := func(what string, done func() bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !done() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 10 s (state %v)", what, m.State())
			}
			sock.SetReadDeadline(deadline)
			n, err := sock.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
			apply(m.Received(time.Now(), buf[:n]))
		}
	}
	readUntil("session", func() bool { return established != nil })
	if established.ConMode != mode || established.Peer.Type != encoding.EntityTypeMon || (conf.cephx && established.AuthGlobalID == 0) {
		t.Fatalf("established %+v", established)
	}
	if m.st.enc.Secure() != conf.secure {
		t.Fatalf("secure mode %v", m.st.enc.Secure())
	}
	apply(m.SendKeepalive(time.Now()))
	readUntil("keepalive ack", func() bool { return keepAck })
	// MMonGetMap: an empty front.
	apply(m.Send(time.Now(), &OutMessage{Header: message.Header{Type: 5, Version: 1, CompatVersion: 1,
		Priority: message.PrioDefault, Flags: message.DefaultFlags}}))
	readUntil("monmap", func() bool {
		for _, d := range delivered {
			if d.Header.Type == 4 {
				return true
			}
		}
		return false
	})
	t.Logf("mon %v: %v mode %d, global id %d, features %#x, %d messages", conf.mon, established.Peer, established.ConMode,
		established.AuthGlobalID, established.Features, len(delivered))
}

package v2

import (
	"errors"
	gonet "net"
	"net/netip"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/message"
)

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
	for _, env := range []string{cephtest.None, cephtest.CephX, cephtest.Secure} {
		t.Run(env, func(t *testing.T) {
			liveMon(t, cephtest.Open(t, env))
		})
	}
}

func liveMon(t *testing.T, conf cephtest.Cluster) {
	admin := auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}
	env := &liveEnv{addrs: encoding.EntityAddrVec{{Type: encoding.AddrTypeAny, Nonce: uint32(time.Now().UnixNano())}}}
	mode := uint32(auth.ModeCRC)
	if conf.Secure {
		mode = auth.ModeSecure
	}
	if conf.CephX {
		kr, err := auth.LoadKeyring(conf.Keyring)
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
	monAddr := encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Addr: conf.Mon}
	m, err := NewClient(Config{Env: env, Me: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1},
		PeerType: encoding.EntityTypeMon, PeerAddrs: encoding.EntityAddrVec{monAddr}})
	if err != nil {
		t.Fatal(err)
	}
	sock, err := gonet.DialTimeout("tcp", conf.Mon.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	var established *Established
	var delivered []*InMessage
	var keepAck bool
	apply := func(r *Ready) {
		for _, a := range flatten(r) {
			switch a := a.(type) {
			case write:
				for _, b := range a.Bufs {
					if _, err := sock.Write(b); err != nil {
						t.Fatal(err)
					}
				}
			case LearnedAddr:
				env.addrs[0].Addr = netip.AddrPortFrom(a.Addr.Addr.Addr(), 0)
			case Established:
				established = &a
			case deliver:
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
	if established.ConMode != mode || established.Peer.Type != encoding.EntityTypeMon || (conf.CephX && established.AuthGlobalID == 0) {
		t.Fatalf("established %+v", established)
	}
	if m.st.enc.Secure() != conf.Secure {
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
	t.Logf("mon %v: %v mode %d, global id %d, features %#x, %d messages", conf.Mon, established.Peer, established.ConMode,
		established.AuthGlobalID, established.Features, len(delivered))
}

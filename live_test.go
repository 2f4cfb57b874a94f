package msgr

import (
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
	"github.com/gomsgr/msgr/message"
)

// monMapCatcher takes the first MON_MAP, with its header as dispatched.
type monMapCatcher struct {
	got chan *message.Raw
	hdr chan message.Header
}

func (d *monMapCatcher) Dispatch(c *Conn, m message.Message) bool {
	return d.DispatchHeader(c, message.Header{}, m)
}

func (d *monMapCatcher) DispatchHeader(_ *Conn, h message.Header, m message.Message) bool {
	if r, ok := m.(*message.Raw); ok && r.Type() == 4 { // CEPH_MSG_MON_MAP
		select {
		case d.got <- r:
			d.hdr <- h
		default:
		}
		return true
	}
	return false
}

// TestLiveMon runs a client Messenger against a real Pacific mon of the
// test clusters (scripts/ci-ceph.sh): handshake in the cluster's auth and
// connection mode, MON_GET_MAP answered by the monmap, a keepalive.
func TestLiveMon(t *testing.T) {
	for _, env := range []string{cephtest.None, cephtest.CephX, cephtest.Secure} {
		t.Run(env, func(t *testing.T) {
			liveMon(t, cephtest.Open(t, env))
		})
	}
}

func liveMon(t *testing.T, conf cephtest.Cluster) {
	admin := auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}
	cfg := Config{Name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}, Nonce: uint32(time.Now().UnixNano())}
	if conf.CephX {
		kr, err := auth.LoadKeyring(conf.Keyring)
		if err != nil {
			t.Fatal(err)
		}
		key, err := kr.Key(admin)
		if err != nil {
			t.Fatal(err)
		}
		mode := []uint32{auth.ModeCRC}
		if conf.Secure {
			mode = []uint32{auth.ModeSecure}
		}
		sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, MonModes: mode, Modes: mode})
		if err != nil {
			t.Fatal(err)
		}
		cfg.AuthClient = func(peerType uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(peerType)) }
	}
	m, err := New(cfg, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, m)
	m.SetDefaultPolicy(LossyClient(0))
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	catch := &monMapCatcher{got: make(chan *message.Raw, 1), hdr: make(chan message.Header, 1)}
	m.AddDispatcherHead(catch)
	c, err := m.GetConnection(encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Addr: conf.Mon}}, encoding.EntityTypeMon)
	if err != nil {
		t.Fatal(err)
	}
	getMap := &message.Raw{Header: message.Header{Type: 5, Version: 1, CompatVersion: 1, Priority: message.PrioDefault}} // CEPH_MSG_MON_GET_MAP
	if err := c.Send(getMap); err != nil {
		t.Fatal(err)
	}
	select {
	case mm := <-catch.got:
		t.Logf("monmap: %d bytes from %v (features %#x), we are %v, global id %d", len(mm.Front), c.PeerName(), c.Features(), m.Addrs(), c.AuthInfo().GlobalID)
		// The header the dispatcher saw is the one received.
		if h := <-catch.hdr; h.Seq != mm.Header.Seq || h.Seq == 0 || h.Src != c.PeerName() || h.Priority != mm.Header.Priority || h.FrontLen != uint32(len(mm.Front)) {
			t.Errorf("dispatched header %+v, received %+v", h, mm.Header)
		}
	case <-c.Done():
		t.Fatalf("connection closed: %v", c.Err())
	case <-time.After(20 * time.Second):
		t.Fatal("no monmap")
	}
	if c.PeerName().Type != encoding.EntityTypeMon {
		t.Fatalf("peer %v", c.PeerName())
	}
	// The mon assigned us a global id in AUTH_DONE, in the cluster's mode.
	wantMode := auth.ModeCRC
	if conf.Secure {
		wantMode = auth.ModeSecure
	}
	if ai := c.AuthInfo(); ai.GlobalID == 0 || ai.ConMode != wantMode || ai.Entity != (auth.EntityName{}) || c.PeerGlobalID() != 0 || c.AuthServerHandler() != nil {
		t.Errorf("auth info %+v (peer global id %d)", ai, c.PeerGlobalID())
	}
	if len(m.Addrs()) == 0 || !m.Addrs()[0].Addr.Addr().IsValid() {
		t.Fatalf("did not learn our address: %v", m.Addrs())
	}
}

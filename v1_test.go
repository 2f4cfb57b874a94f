package msgr

import (
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
)

// TestV1Exchange: a msgr1-only server and client exchange messages both
// ways; the server advertises one v1 address.
func TestV1Exchange(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(0), true, Options{NoMsgr2: true}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	if a := srv.Addrs(); len(a) != 1 || a[0].Type != encoding.AddrTypeLegacy {
		t.Fatalf("msgr1-only server advertises %v", a)
	}
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(1), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	if c.proto != protoV1 {
		t.Fatalf("dialled %v to a v1-only peer", c.proto)
	}
	echoHellos(t, c, cliRec, 100)
	if got := srvRec.get(&srvRec.accepts); got != 1 {
		t.Errorf("accepts = %d, want 1", got)
	}
	if err := c.SendKeepalive(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.LastKeepaliveAck().IsZero() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c.LastKeepaliveAck().IsZero() {
		t.Fatal("no KEEPALIVE2_ACK")
	}
}

// TestV1AddrVec: with BindMsgr1 a server binds and advertises
// [v2:IP:P1,v1:IP:P2]; a client picks v2, one with NoMsgr2 picks v1, and
// both reach the same server.
func TestV1AddrVec(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(0), true, Options{BindMsgr1: true}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	a := srv.Addrs()
	if len(a) != 2 || a[0].Type != encoding.AddrTypeMsgr2 || a[1].Type != encoding.AddrTypeLegacy || a[0].Addr.Port() == a[1].Addr.Port() {
		t.Fatalf("advertises %v", a)
	}
	for _, tc := range []struct {
		noV2 bool
		want proto
	}{{false, protoV2}, {true, protoV1}} {
		rec := newRecorder()
		cli := newTestMessenger(t, clientName(2), false, Options{NoMsgr2: tc.noV2}, rec)
		cli.SetDefaultPolicy(LossyClient(0))
		c, err := cli.GetConnection(a, encoding.EntityTypeOSD)
		if err != nil {
			t.Fatal(err)
		}
		if c.proto != tc.want {
			t.Fatalf("NoMsgr2=%v dialled %v", tc.noV2, c.proto)
		}
		if err := c.Send(&testMsg{From: 2, Seq: 7, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		rec.waitFor(t, "echo", func() bool { return rec.count() == 1 })
	}
}

// TestSyntheticInjectV1: TestSyntheticInject's lossless cases over msgr1:
// every message once and in order despite injected socket failures,
// through reconnects that resume the session (SEQ) and connect races.
func TestSyntheticInjectV1(t *testing.T) {
	cases := []synthConfig{
		{name: "v1 lossless_client-stateful_server", cli: LosslessClient(0), srv: StatefulServer(0), servers: 2, clients: 2, perConn: 2000, failEvery: 40, v1: true},
		{name: "v1 lossless_peer", cli: LosslessPeer(0), srv: LosslessPeer(0), peers: true, servers: 2, clients: 2, perConn: 2000, failEvery: 40, v1: true},
		{name: "v1 lossy_client-stateless_server", cli: LossyClient(0), srv: StatelessServer(0), servers: 1, clients: 2, perConn: 2000, failEvery: 40, markDownEvery: 700, v1: true},
	}
	if testing.Short() {
		for i := range cases {
			cases[i].perConn /= 10
			cases[i].markDownEvery /= 10 // as many mark downs per message
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runSynthetic(t, tc) })
	}
}

// TestV1CephxGoGo: cephx over msgr1 between Go messengers: a client gets
// its tickets from a Go mon (msgr2), then presents the OSD ticket to a Go
// OSD bound on msgr1 only: authorizer, CEPHX_V2 challenge, and every
// message signed and checked both ways.
func TestV1CephxGoGo(t *testing.T) {
	admin, key, kr := adminKeyring(t, time.Now(), "mon", "osd")
	monAuth, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr, Modes: []uint32{auth.ModeCRC}})
	if err != nil {
		t.Fatal(err)
	}
	osdAuth, err := cephx.NewAuthorizerServer(cephx.AuthorizerServerConfig{Service: cephx.ServiceOSD, Secrets: monAuth.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	mon := startMessengerCfg(t, Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon}, Nonce: 1,
		AuthServer: func(uint8) (auth.ServerHandler, error) { return monAuth.Handler(), nil }}, true, Options{}, newRecorder())
	mon.SetDefaultPolicy(StatelessServer(0))
	osdRec := newRecorder()
	osdRec.echo = true
	osd := startMessengerCfg(t, Config{Name: osdName(3), Nonce: 3,
		AuthServer: func(uint8) (auth.ServerHandler, error) { return osdAuth.Handler(), nil }}, true, Options{NoMsgr2: true}, osdRec)
	osd.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cli := startMessengerCfg(t, Config{Name: clientName(-1), Nonce: 2,
		AuthClient: func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }}, false, Options{}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))

	mc, err := cli.GetConnection(mon.Addrs(), encoding.EntityTypeMon)
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.Connect(); err != nil {
		t.Fatal(err)
	}
	cliRec.waitFor(t, "mon session", func() bool { return cliRec.get(&cliRec.connects) == 1 })
	if _, err := sess.Ticket(cephx.ServiceOSD); err != nil {
		t.Fatal(err)
	}
	c, err := cli.GetConnection(osd.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsMsgr1() {
		t.Fatal("not msgr1")
	}
	echoSizes(t, c, cliRec, []int{0, 1, 4095, 65537, 1 << 20})
	osdRec.mu.Lock()
	sc := osdRec.conns[0]
	osdRec.mu.Unlock()
	if ai := sc.AuthInfo(); ai.Entity != admin {
		t.Fatalf("the OSD sees %+v", ai)
	}
}

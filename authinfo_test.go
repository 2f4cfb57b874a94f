package msgr

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

// fakeClock is a settable clock shared by a cephx server and session.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock    { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func monRegistry(t testing.TB) *message.Registry {
	t.Helper()
	r := testRegistry(t)
	if err := messages.RegisterMon(r); err != nil {
		t.Fatal(err)
	}
	return r
}

// renewingMon answers MAuth as a mon does after msgr2 authentication:
// through the cephx handler that authenticated the connection. Other
// messages go to the recorder.
type renewingMon struct {
	*recorder
	mu   sync.Mutex
	errs []string
}

func (d *renewingMon) Dispatch(c *Conn, m message.Message) bool {
	ma, ok := m.(*messages.MAuth)
	if !ok {
		return d.recorder.Dispatch(c, m)
	}
	h, ok := c.AuthServerHandler().(*cephx.ServerHandler)
	if !ok {
		d.mu.Lock()
		d.errs = append(d.errs, "no cephx handler on the connection")
		d.mu.Unlock()
		return true
	}
	bl, result := h.HandleTicketRequest(ma.Payload)
	if err := c.Send(&messages.MAuthReply{Protocol: ma.Protocol, Result: result, GlobalID: c.PeerGlobalID(), ResultBL: bl}); err != nil {
		d.mu.Lock()
		d.errs = append(d.errs, err.Error())
		d.mu.Unlock()
	}
	return true
}

// authReplies hands MAuthReply messages to the test.
type authReplies chan *messages.MAuthReply

func (r authReplies) Dispatch(_ *Conn, m message.Message) bool {
	if ar, ok := m.(*messages.MAuthReply); ok {
		r <- ar
		return true
	}
	return false
}

// TestAuthInfoCephx: both ends of a cephx session know the global id and
// the mode; the server side knows the principal and keeps the handler
// that authenticated it, through which a client renews its tickets over
// MAuth, as with a Ceph mon.
func TestAuthInfoCephx(t *testing.T) {
	for _, mode := range []uint32{auth.ModeCRC, auth.ModeSecure} {
		t.Run(map[uint32]string{auth.ModeCRC: "crc", auth.ModeSecure: "secure"}[mode], func(t *testing.T) {
			clock := newFakeClock(time.Unix(1_700_000_000, 0))
			admin, key, kr := adminKeyring(t, clock.now(), "mon")
			server, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr, Modes: []uint32{mode}, Now: clock.now,
				AuthTicketTTL: 4 * time.Minute, ServiceTicketTTL: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, MonModes: []uint32{mode}, Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			mon := &renewingMon{recorder: newRecorder()}
			srv := startMessengerCfg(t, Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}, Nonce: 1,
				Registry: monRegistry(t), AuthServer: func(uint8) (auth.ServerHandler, error) { return server.Handler(), nil }}, true, Options{}, mon)
			srv.SetDefaultPolicy(StatelessServer(0))
			replies := make(authReplies, 4)
			cli := startMessengerCfg(t, Config{Name: clientName(-1), Nonce: 2, Registry: monRegistry(t),
				AuthClient: func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }}, false, Options{}, replies)
			cli.SetDefaultPolicy(LossyClient(0))
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeMon)
			if err != nil {
				t.Fatal(err)
			}
			sendRange(t, c, 1, 0, 1)
			mon.waitFor(t, "the message", func() bool { return mon.count() == 1 })
			mon.mu.Lock()
			sc := mon.conns[0]
			mon.mu.Unlock()

			gid := sess.GlobalID()
			if gid == 0 {
				t.Fatal("no global id")
			}
			if got := sc.AuthInfo(); got != (AuthInfo{GlobalID: gid, ConMode: mode, Entity: admin}) || sc.PeerGlobalID() != gid || sc.ConMode() != mode {
				t.Errorf("server side: %+v peer gid %d mode %d", got, sc.PeerGlobalID(), sc.ConMode())
			}
			if _, ok := sc.AuthServerHandler().(*cephx.ServerHandler); !ok {
				t.Errorf("server side handler %T", sc.AuthServerHandler())
			}
			if got := c.AuthInfo(); got != (AuthInfo{GlobalID: gid, ConMode: mode}) || c.PeerGlobalID() != 0 || c.ConMode() != mode || c.AuthServerHandler() != nil {
				t.Errorf("client side: %+v peer gid %d mode %d handler %v", got, c.PeerGlobalID(), c.ConMode(), c.AuthServerHandler())
			}

			// Renew over MAuth once the service tickets are due.
			before, err := sess.Ticket(cephx.ServiceOSD)
			if err != nil {
				t.Fatal(err)
			}
			clock.advance(50 * time.Second)
			p, ok, err := sess.RenewalRequest()
			if err != nil || !ok {
				t.Fatalf("renewal request: ok %v err %v", ok, err)
			}
			for rounds := 0; p != nil; rounds++ {
				if rounds == 3 {
					t.Fatal("renewal does not converge")
				}
				if err := c.Send(&messages.MAuth{Protocol: auth.MethodCephX, Payload: p}); err != nil {
					t.Fatal(err)
				}
				var r *messages.MAuthReply
				select {
				case r = <-replies:
				case <-time.After(20 * time.Second):
					t.Fatal("no MAuthReply")
				}
				if r.GlobalID != gid || r.Result != 0 {
					t.Fatalf("reply gid %d result %d", r.GlobalID, r.Result)
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
				t.Errorf("osd ticket not renewed: %v, then %v", before.Expires, after.Expires)
			}
			mon.mu.Lock()
			defer mon.mu.Unlock()
			if len(mon.errs) > 0 {
				t.Fatal(mon.errs)
			}
		})
	}
}

// countingNone is a NoneServer factory that remembers every handler made.
type countingNone struct {
	mu   sync.Mutex
	made []*auth.NoneServer
}

func (n *countingNone) handler(uint8) (auth.ServerHandler, error) {
	h := &auth.NoneServer{}
	n.mu.Lock()
	n.made = append(n.made, h)
	n.mu.Unlock()
	return h, nil
}

func (n *countingNone) last() *auth.NoneServer {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.made[len(n.made)-1]
}

// TestAuthInfoHandOff: when a lossless client reconnects, its new socket
// (authenticated by a new handler) is handed to the existing server
// connection, which then reports that handler and the same principal.
func TestAuthInfoHandOff(t *testing.T) {
	none := &countingNone{}
	srvRec, cliRec := newRecorder(), newRecorder()
	srvRec.echo = true
	srv := startMessengerCfg(t, Config{Name: osdName(1), Nonce: 5, AuthServer: none.handler}, true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatefulServer(0))
	cli := newTestMessenger(t, clientName(4), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	sendRange(t, c, 1, 0, 5)
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.countFrom(1) == 5 })
	srvRec.mu.Lock()
	sc := srvRec.conns[0]
	srvRec.mu.Unlock()
	first := sc.AuthServerHandler()
	want := AuthInfo{ConMode: auth.ModeCRC, Entity: auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "4"}}
	if first != none.last() || sc.AuthInfo() != want {
		t.Fatalf("first session: handler %p (made %p), info %+v", first, none.last(), sc.AuthInfo())
	}

	breakSocket(c)
	srvRec.waitFor(t, "the session resumed", func() bool { return srvRec.get(&srvRec.accepts) >= 2 })
	sendRange(t, c, 1, 5, 10)
	cliRec.waitFor(t, "echoes", func() bool { return cliRec.countFrom(1) == 10 })
	checkInOrder(t, cliRec, 1, 0, 10)
	srvRec.mu.Lock()
	for _, x := range srvRec.conns {
		if x != sc {
			t.Errorf("a message arrived on %v, not on the resumed %v", x, sc)
		}
	}
	srvRec.mu.Unlock()
	if srv.Stats().HandOffs == 0 {
		t.Fatal("no hand-off")
	}
	if h := sc.AuthServerHandler(); h == first || h != none.last() || sc.AuthInfo() != want {
		t.Fatalf("resumed session: handler %p (first %p, latest %p), info %+v", h, first, none.last(), sc.AuthInfo())
	}
}

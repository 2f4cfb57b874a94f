package v2

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/internal/cephtest"
)

// TestCephx runs the full cephx exchange through the machines: a client
// authenticates to a mon (AUTH_REQUEST, AUTH_REPLY_MORE,
// AUTH_REQUEST_MORE, AUTH_DONE, keyed AUTH_SIGNATUREs), then to an OSD with
// the ticket it got (the authorizer), in crc and in secure mode, and
// resumes the OSD session after a fault.
func TestCephx(t *testing.T) {
	admin := cephtest.Admin
	kr, key := cephtest.AdminKey(t, "testdata/cephx-crc.keyring")
	for _, tc := range []struct {
		mode uint32
		rev0 bool
	}{{auth.ModeCRC, false}, {auth.ModeSecure, false}, {auth.ModeCRC, true}, {auth.ModeSecure, true}} {
		mode := tc.mode
		t.Run(fmt.Sprintf("mode %d rev0 %v", mode, tc.rev0), func(t *testing.T) {
			n := newNet(t, uint64(mode))
			n.maxChunk = 50
			mon := n.addNode(encoding.EntityName{Type: encoding.EntityTypeMon}, 3300, 0)
			osd := n.addNode(osdName, 6800, 7)
			cl := n.addNode(clientName, 5000, 11)
			mon.env.defPolicy = statefulServer
			osd.env.defPolicy = statefulServer
			cl.env.defPolicy = losslessClient
			srv, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr})
			if err != nil {
				t.Fatal(err)
			}
			osdSrv, err := cephx.NewAuthorizerServer(cephx.AuthorizerServerConfig{Service: cephx.ServiceOSD, Secrets: srv.Secrets()})
			if err != nil {
				t.Fatal(err)
			}
			sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, MonModes: []uint32{mode}, Modes: []uint32{mode}})
			if err != nil {
				t.Fatal(err)
			}
			cl.env.authClient = func(pt uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(pt)) }
			mon.env.authServer = func(uint8) (auth.ServerHandler, error) { return srv.Handler(), nil }
			osd.env.authServer = func(uint8) (auth.ServerHandler, error) { return osdSrv.Handler(), nil }

			rev := func(c *Config) { c.DisableRev1 = tc.rev0 }
			cm := cl.connect(mon, rev)
			cm.send(msg(1))
			n.settle()
			if len(cm.established) != 1 || cm.established[0].ConMode != mode || cm.established[0].AuthGlobalID == 0 {
				t.Fatalf("mon session: %+v (log %v)", cm.established, cm.log)
			}
			if cm.m.st.enc.Secure() != (mode == auth.ModeSecure) || cm.m.st.dec.Secure() != (mode == auth.ModeSecure) {
				t.Fatalf("secure mode %v/%v", cm.m.st.enc.Secure(), cm.m.st.dec.Secure())
			}
			if cm.m.st.rev1 == tc.rev0 {
				t.Fatalf("rev1 %v", cm.m.st.rev1)
			}
			if !slices.Equal(mon.ids(), []uint64{1}) {
				t.Fatalf("mon got %v", mon.ids())
			}

			co := cl.connect(osd, rev)
			co.send(msg(1), msg(2))
			n.settle()
			if len(co.established) != 1 || co.established[0].ConMode != mode {
				t.Fatalf("osd session: %+v (log %v)", co.established, co.log)
			}
			n.socks[len(n.socks)-1].abort()
			co.send(msg(3))
			n.quiesce()
			if !slices.Equal(osd.ids(), []uint64{1, 2, 3}) {
				t.Fatalf("osd got %v", osd.ids())
			}
			if len(co.established) != 2 || !co.established[1].Reconnected {
				t.Fatalf("osd reconnect: %+v", co.established)
			}
		})
	}
}

// TestSignatureMismatch: a peer whose AUTH_SIGNATURE does not cover what
// we sent (here: a server whose session key differs) is refused.
func TestSignatureMismatch(t *testing.T) {
	n, cl, srv := pair(t, 4, losslessClient, statefulServer)
	cl.env.authClient = func(uint8) (auth.ClientHandler, error) { return &keyedClient{key: []byte("0123456789abcdef")}, nil }
	srv.env.authServer = func(uint8) (auth.ServerHandler, error) { return &keyedServer{key: []byte("fedcba9876543210")}, nil }
	c := cl.connect(srv, nil)
	n.settle()
	if len(c.established) != 0 {
		t.Fatal("established with mismatched keys")
	}
	s := srv.conns[0]
	if !s.closed || !errorsIs(s.err, ErrAuth) || !errorsIs(s.err, auth.ErrBadSignature) {
		t.Fatalf("server: closed %v err %v", s.closed, s.err)
	}
}

// keyedClient/keyedServer are a one-round method with a fixed session key
// and, in secure mode, a fixed connection secret.
type keyedClient struct {
	key  []byte
	mode uint32
}

func (c *keyedClient) Start() (uint32, []uint32, []byte, error) {
	mode := c.mode
	if mode == 0 {
		mode = auth.ModeCRC
	}
	return 99, []uint32{mode}, []byte("hi"), nil
}
func (c *keyedClient) HandleReplyMore([]byte) ([]byte, error) { return nil, auth.ErrUnexpected }
func (c *keyedClient) HandleDone(gid uint64, mode uint32, _ []byte) (auth.Result, error) {
	return auth.Result{GlobalID: gid, ConMode: mode, SessionKey: c.key, ConnectionSecret: secret64()}, nil
}
func (c *keyedClient) HandleBadMethod(m uint32, r int32, ms, mo []uint32) (uint32, []uint32, []byte, error) {
	return 0, nil, nil, &auth.BadMethodError{Method: m, Result: r}
}

type keyedServer struct{ key []byte }

func (s *keyedServer) HandleRequest(method uint32, modes []uint32, _ []byte) (auth.ServerReply, error) {
	return auth.ServerReply{Done: true, Result: auth.Result{GlobalID: 77, ConMode: modes[0], SessionKey: s.key, ConnectionSecret: secret64()}}, nil
}
func (s *keyedServer) HandleRequestMore([]byte) (auth.ServerReply, error) {
	return auth.ServerReply{}, auth.ErrUnexpected
}

func secret64() []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

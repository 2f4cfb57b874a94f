package msgr

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
)

// adminKeyring returns client.admin, a fresh key for it created at now,
// and a keyring holding it with "allow *" on each service named.
func adminKeyring(t testing.TB, now time.Time, services ...string) (auth.EntityName, auth.CryptoKey, *auth.Keyring) {
	t.Helper()
	admin := auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}
	key, err := auth.NewAESKey(rand.Reader, encoding.UTimeOf(now))
	if err != nil {
		t.Fatal(err)
	}
	kr := auth.NewKeyring()
	kr.Add(admin, key)
	for _, s := range services {
		kr.SetCaps(admin, s, "allow *")
	}
	return admin, key, kr
}

// cephxPair returns auth hooks for a Go mon (server) and a client
// authenticating with cephx, offering only mode.
func cephxPair(t testing.TB, mode uint32) (srv func(uint8) (auth.ServerHandler, error), cli func(uint8) (auth.ClientHandler, error)) {
	t.Helper()
	admin, key, kr := adminKeyring(t, time.Now(), "mon")
	server, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr, Modes: []uint32{mode}})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cephx.NewSession(cephx.Config{Name: admin, Key: key, MonModes: []uint32{mode}})
	if err != nil {
		t.Fatal(err)
	}
	srv = func(uint8) (auth.ServerHandler, error) { return server.Handler(), nil }
	cli = func(peerType uint8) (auth.ClientHandler, error) { return sess.ClientHandler(uint32(peerType)) }
	return srv, cli
}

// TestCephxGoGo: a client authenticates with cephx to a Go mon, in crc
// and in secure mode (AES-GCM frames), and messages of every size cross
// both ways intact.
func TestCephxGoGo(t *testing.T) {
	for _, mode := range []uint32{auth.ModeCRC, auth.ModeSecure} {
		t.Run(map[uint32]string{auth.ModeCRC: "crc", auth.ModeSecure: "secure"}[mode], func(t *testing.T) {
			srvAuth, cliAuth := cephxPair(t, mode)
			srvRec := newRecorder()
			srvRec.echo = true
			srv := startMessengerCfg(t, Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}, Nonce: 1, AuthServer: srvAuth}, true, Options{}, srvRec)
			srv.SetDefaultPolicy(StatelessServer(0))
			cliRec := newRecorder()
			cli := startMessengerCfg(t, Config{Name: clientName(-1), Nonce: 2, AuthClient: cliAuth}, false, Options{}, cliRec)
			cli.SetDefaultPolicy(LossyClient(0))
			c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeMon)
			if err != nil {
				t.Fatal(err)
			}
			echoSizes(t, c, cliRec, []int{0, 1, 15, 16, 17, 47, 48, 49, 4095, 4096, 65537, 1 << 20})
			if c.PeerName().Type != encoding.EntityTypeMon {
				t.Fatalf("peer %v", c.PeerName())
			}
			t.Logf("%s: session with %v, our name %v", fmt.Sprint(mode), c.PeerName(), cli.Name())
		})
	}
}

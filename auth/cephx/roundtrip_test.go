package cephx

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
)

// exchange runs a client and a server handler against each other as the
// msgr2 protocol would, and returns both sides' results.
func exchange(c auth.ClientHandler, s auth.ServerHandler) (auth.Result, auth.ServerReply, error) {
	method, modes, p, err := c.Start()
	if err != nil {
		return auth.Result{}, auth.ServerReply{}, err
	}
	return exchangeStarted(c, s, method, modes, p)
}

// exchangeStarted is exchange for a client whose Start has been called.
func exchangeStarted(c auth.ClientHandler, s auth.ServerHandler, method uint32, modes []uint32, p []byte) (auth.Result, auth.ServerReply, error) {
	rep, err := s.HandleRequest(method, modes, p)
	for round := 0; ; round++ {
		if err != nil {
			var bm *auth.BadMethodError
			if errors.As(err, &bm) {
				_, _, _, cerr := c.HandleBadMethod(bm.Method, bm.Result, bm.AllowedMethods, bm.AllowedModes)
				return auth.Result{}, auth.ServerReply{}, cerr
			}
			return auth.Result{}, auth.ServerReply{}, err
		}
		if rep.Done {
			res, err := c.HandleDone(rep.Result.GlobalID, rep.Result.ConMode, rep.Payload)
			return res, rep, err
		}
		if round > 4 {
			return auth.Result{}, auth.ServerReply{}, errors.New("too many rounds")
		}
		var more []byte
		if more, err = c.HandleReplyMore(rep.Payload); err != nil {
			return auth.Result{}, auth.ServerReply{}, err
		}
		rep, err = s.HandleRequestMore(more)
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testKeyring(t *testing.T) (*auth.Keyring, auth.CryptoKey) {
	kr, err := auth.LoadKeyring("testdata/cephx-crc/keyring")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := kr.Key(adminName)
	nocaps := auth.EntityName{Type: adminName.Type, ID: "nocaps"}
	kr.Add(nocaps, key)
	return kr, key
}

func TestRoundTrip(t *testing.T) {
	kr, key := testKeyring(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	srv, err := NewServer(ServerConfig{Keyring: kr, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	osdSrv, err := NewAuthorizerServer(AuthorizerServerConfig{Service: ServiceOSD, Secrets: srv.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []uint32{auth.ModeCRC, auth.ModeSecure} {
		t.Run(map[uint32]string{1: "crc", 2: "secure"}[mode], func(t *testing.T) {
			s, err := NewSession(Config{Name: adminName, Key: key, Now: clock.now})
			if err != nil {
				t.Fatal(err)
			}
			res, rep, err := exchange(s.MonHandler([]uint32{mode}), srv.Handler())
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, res, rep.Result, mode)
			if rep.PeerName != "client.admin" || res.GlobalID < 4096 || s.GlobalID() != res.GlobalID {
				t.Fatalf("peer %q global id %d", rep.PeerName, res.GlobalID)
			}
			for _, svc := range []uint32{ServiceAuth, ServiceMon, ServiceOSD, ServiceMgr} {
				tk, err := s.Ticket(svc)
				if err != nil {
					t.Fatal(err)
				}
				if svc != ServiceAuth && tk.Expires != clock.t.Add(DefaultServiceTicketTTL) {
					t.Fatalf("service %d expires %v", svc, tk.Expires)
				}
			}
			if s.Need() != 0 {
				t.Fatalf("need %#x after auth", s.Need())
			}

			// The OSD connection, with the CEPHX_V2 challenge round.
			ores, orep, err := exchange(s.ServiceHandler(ServiceOSD, []uint32{mode}), osdSrv.Handler())
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, ores, orep.Result, mode)
			osdTicket, _ := s.Ticket(ServiceOSD)
			if !bytes.Equal(ores.SessionKey, osdTicket.SessionKey.Secret) || orep.PeerName != "client.admin" || ores.GlobalID != res.GlobalID {
				t.Fatalf("osd result %+v / %+v", ores, orep)
			}

			// A reconnect reclaims the global id with the auth ticket.
			res2, _, err := exchange(s.MonHandler([]uint32{mode}), srv.Handler())
			if err != nil {
				t.Fatal(err)
			}
			if res2.GlobalID != res.GlobalID || bytes.Equal(res2.SessionKey, res.SessionKey) {
				t.Fatalf("reclaim: %d vs %d", res2.GlobalID, res.GlobalID)
			}
		})
	}
}

func checkSame(t *testing.T, c, s auth.Result, mode uint32) {
	t.Helper()
	if c.GlobalID != s.GlobalID || c.ConMode != mode || s.ConMode != mode ||
		!bytes.Equal(c.SessionKey, s.SessionKey) || len(c.SessionKey) != 16 ||
		!bytes.Equal(c.ConnectionSecret, s.ConnectionSecret) {
		t.Fatalf("client %+v\nserver %+v", c, s)
	}
	want := 0
	if mode == auth.ModeSecure {
		want = secureSecretLen
	}
	if len(c.ConnectionSecret) != want {
		t.Fatalf("connection secret %d bytes", len(c.ConnectionSecret))
	}
}

func TestRefusals(t *testing.T) {
	kr, key := testKeyring(t)
	srv, err := NewServer(ServerConfig{Keyring: kr, Modes: []uint32{auth.ModeSecure}})
	if err != nil {
		t.Fatal(err)
	}
	wrong := auth.CryptoKey{Type: auth.KeyTypeAES, Secret: bytes.Repeat([]byte{1}, 16)}
	sec := []uint32{auth.ModeSecure}
	for _, tc := range []struct {
		name  string
		who   auth.EntityName
		key   auth.CryptoKey
		modes []uint32
		errno int32
	}{
		{"wrong key", adminName, wrong, sec, -auth.EACCES},
		{"unknown entity", auth.EntityName{Type: adminName.Type, ID: "ghost"}, key, sec, -auth.EACCES},
		{"no mon caps", auth.EntityName{Type: adminName.Type, ID: "nocaps"}, key, sec, -auth.EACCES},
		{"no common mode", adminName, key, []uint32{auth.ModeCRC}, -auth.EOPNOTSUPP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := NewSession(Config{Name: tc.who, Key: tc.key})
			_, _, err := exchange(s.MonHandler(tc.modes), srv.Handler())
			var bm *auth.BadMethodError
			if !errors.Is(err, auth.ErrDenied) || !errors.As(err, &bm) || bm.Result != tc.errno {
				t.Fatalf("err %v, want errno %d", err, tc.errno)
			}
			if s.GlobalID() != 0 {
				t.Fatal("refused session got a global id")
			}
		})
	}
	// Method none is refused as unsupported.
	_, err = srv.Handler().HandleRequest(auth.MethodNone, sec, nil)
	var bm *auth.BadMethodError
	if !errors.As(err, &bm) || bm.Result != -auth.EOPNOTSUPP || bm.AllowedMethods[0] != auth.MethodCephX {
		t.Fatalf("method none: %v", err)
	}
}

func TestReclaimNeedsTicket(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, err := exchange(s.MonHandler(nil), srv.Handler()); err != nil {
		t.Fatal(err)
	}
	// A forged auth ticket for the same global id is refused.
	s.mu.Lock()
	tk := s.tickets[ServiceAuth]
	tk.Blob.Blob = append([]byte(nil), tk.Blob.Blob...)
	tk.Blob.Blob[len(tk.Blob.Blob)-1] ^= 1
	s.tickets[ServiceAuth] = tk
	s.mu.Unlock()
	_, _, err := exchange(s.MonHandler(nil), srv.Handler())
	var bm *auth.BadMethodError
	if !errors.As(err, &bm) || bm.Result != -auth.EACCES {
		t.Fatalf("forged reclaim: %v", err)
	}
	// A ticket from another server's secrets does not open either.
	other, _ := NewServer(ServerConfig{Keyring: kr})
	s2, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, err := exchange(s2.MonHandler(nil), other.Handler()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := exchange(s2.MonHandler(nil), srv.Handler()); !errors.As(err, &bm) || bm.Result != -auth.EACCES {
		t.Fatalf("foreign ticket: %v", err)
	}
}

func TestAuthorizerRefusals(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, err := exchange(s.MonHandler(nil), srv.Handler()); err != nil {
		t.Fatal(err)
	}
	otherSecrets, _ := GenerateServiceSecrets(bytes.NewReader(bytes.Repeat([]byte{3}, 64)), time.Now(), ServiceOSD)
	for _, tc := range []struct {
		name    string
		secrets *ServiceSecrets
		service uint32 // the server's
	}{
		{"secrets rotated away", otherSecrets, ServiceOSD},
		{"ticket for another service", srv.Secrets(), ServiceMgr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as, _ := NewAuthorizerServer(AuthorizerServerConfig{Service: tc.service, Secrets: tc.secrets})
			_, _, err := exchange(s.ServiceHandler(ServiceOSD, nil), as.Handler())
			var bm *auth.BadMethodError
			if !errors.As(err, &bm) || bm.Result != -auth.EACCES {
				t.Fatalf("err %v", err)
			}
		})
	}
	// A wrong answer to the challenge is refused.
	as, _ := NewAuthorizerServer(AuthorizerServerConfig{Service: ServiceOSD, Secrets: srv.Secrets()})
	h := as.Handler()
	c := s.ServiceHandler(ServiceOSD, nil)
	m, modes, p, _ := c.Start()
	rep, err := h.HandleRequest(m, modes, p)
	if err != nil || rep.Done {
		t.Fatalf("%+v %v", rep, err)
	}
	if _, err := h.HandleRequestMore(p); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("unanswered challenge: %v", err)
	}
	// No ticket, no authorizer.
	fresh, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, _, err := fresh.ServiceHandler(ServiceOSD, nil).Start(); !errors.Is(err, ErrNoTicket) {
		t.Fatalf("no ticket: %v", err)
	}
}

// A service reply that does not return nonce+1 is rejected by the client.
func TestAuthorizerBadReply(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, err := exchange(s.MonHandler(nil), srv.Handler()); err != nil {
		t.Fatal(err)
	}
	c := s.ServiceHandler(ServiceOSD, nil)
	if _, _, _, err := c.Start(); err != nil {
		t.Fatal(err)
	}
	tk, _ := s.Ticket(ServiceOSD)
	p, _ := appendSealed(nil, tk.SessionKey, appendAuthorizeReply(nil, authorizeReply{NoncePlusOne: c.nonce + 2}))
	if _, err := c.HandleDone(1, auth.ModeCRC, p); !errors.Is(err, ErrBadReply) {
		t.Fatalf("err %v", err)
	}
	if _, err := c.HandleDone(1, auth.ModeCRC, p[:10]); !errors.Is(err, encoding.ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}

// Session as auth.Credentials: the handler kind follows the peer type.
func TestSessionCredentials(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr, Modes: []uint32{auth.ModeSecure}})
	var creds auth.Credentials
	s, _ := NewSession(Config{Name: adminName, Key: key, MonModes: []uint32{auth.ModeSecure}, Modes: []uint32{auth.ModeCRC}})
	creds = s
	h, err := creds.ClientHandler(ServiceMon)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.(*MonHandler); !ok {
		t.Fatalf("mon handler is %T", h)
	}
	res, _, err := exchange(h, srv.Handler())
	if err != nil || res.ConMode != auth.ModeSecure {
		t.Fatal(res, err)
	}
	for _, svc := range []uint32{ServiceOSD, ServiceMgr, ServiceMDS} {
		h, err := creds.ClientHandler(svc)
		if err != nil {
			t.Fatal(err)
		}
		if a, ok := h.(*AuthorizerHandler); !ok || a.service != svc || a.modes[0] != auth.ModeCRC {
			t.Fatalf("service %d handler %T", svc, h)
		}
	}
	if _, err := creds.ClientHandler(uint32(encoding.EntityTypeClient)); err == nil {
		t.Fatal("a handler for a client peer")
	}
}

// AUTH_DONE with a mode the client did not offer is refused.
func TestModeNotOffered(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	h := s.MonHandler([]uint32{auth.ModeCRC})
	m, _, p, _ := h.Start()
	sh := srv.Handler()
	rep, err := sh.HandleRequest(m, []uint32{auth.ModeSecure}, p)
	if err != nil {
		t.Fatal(err)
	}
	more, _ := h.HandleReplyMore(rep.Payload)
	if rep, err = sh.HandleRequestMore(more); err != nil {
		t.Fatal(err)
	}
	if _, err := h.HandleDone(rep.Result.GlobalID, rep.Result.ConMode, rep.Payload); !errors.Is(err, ErrProtocol) {
		t.Fatalf("err %v", err)
	}
	if s.GlobalID() != 0 {
		t.Fatal("refused exchange committed")
	}
}

// After a refusal the same server handler takes a fresh AUTH_REQUEST, as
// Ceph's server returns to AUTH_ACCEPTING after AUTH_BAD_METHOD.
func TestRetryAfterRefusal(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	sh := srv.Handler()
	if _, err := sh.HandleRequest(auth.MethodNone, nil, nil); !errors.Is(err, auth.ErrDenied) {
		t.Fatal(err)
	}
	wrong, _ := NewSession(Config{Name: adminName, Key: auth.CryptoKey{Type: auth.KeyTypeAES, Secret: make([]byte, 16)}})
	if _, _, err := exchange(wrong.MonHandler(nil), sh); !errors.Is(err, auth.ErrDenied) {
		t.Fatal(err)
	}
	s, _ := NewSession(Config{Name: adminName, Key: key})
	if _, _, err := exchange(s.MonHandler(nil), sh); err != nil {
		t.Fatalf("retry: %v", err)
	}
	as, _ := NewAuthorizerServer(AuthorizerServerConfig{Service: ServiceOSD, Secrets: srv.Secrets()})
	ah := as.Handler()
	if _, err := ah.HandleRequest(auth.MethodCephX, nil, nil); !errors.Is(err, auth.ErrDenied) {
		t.Fatal(err)
	}
	if _, _, err := exchange(s.ServiceHandler(ServiceOSD, nil), ah); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

// Hunting: two connections authenticate in parallel; the last to finish
// wins the session until the MonClient adopts the one it keeps.
func TestAdopt(t *testing.T) {
	kr, key := testKeyring(t)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	s, _ := NewSession(Config{Name: adminName, Key: key})
	a, b := s.MonHandler(nil), s.MonHandler(nil)
	if err := s.Adopt(a); err == nil {
		t.Fatal("adopted an unfinished handler")
	}
	// Both start before either finishes, as hunting connections do.
	ma, moa, pa, _ := a.Start()
	mb, mob, pb, _ := b.Start()
	ra, _, err := exchangeStarted(a, srv.Handler(), ma, moa, pa)
	if err != nil {
		t.Fatal(err)
	}
	rb, _, err := exchangeStarted(b, srv.Handler(), mb, mob, pb)
	if err != nil {
		t.Fatal(err)
	}
	if ra.GlobalID == rb.GlobalID || s.GlobalID() != rb.GlobalID {
		t.Fatalf("ids %d %d, session %d", ra.GlobalID, rb.GlobalID, s.GlobalID())
	}
	if err := s.Adopt(a); err != nil {
		t.Fatal(err)
	}
	if s.GlobalID() != ra.GlobalID {
		t.Fatalf("after adopt: %d", s.GlobalID())
	}
	// The adopted connection's tickets reclaim its global id.
	r, _, err := exchange(s.MonHandler(nil), srv.Handler())
	if err != nil || r.GlobalID != ra.GlobalID {
		t.Fatalf("reclaim: %v %d", err, r.GlobalID)
	}
	other, _ := NewSession(Config{Name: adminName, Key: key})
	if err := other.Adopt(a); err == nil {
		t.Fatal("adopted a foreign handler")
	}
}

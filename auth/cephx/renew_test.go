package cephx

import (
	"errors"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
)

// mauth plays the mon's side of MAuth renewal rounds until the session
// has nothing more to ask, and returns how many rounds it took.
func mauth(t *testing.T, s *Session, h *ServerHandler) int {
	t.Helper()
	p, ok, err := s.RenewalRequest()
	if err != nil {
		t.Fatal(err)
	}
	rounds := 0
	for ok {
		rounds++
		if rounds > 3 {
			t.Fatal("renewal does not converge")
		}
		reply, result := h.HandleTicketRequest(p)
		if p, err = s.HandleRenewalReply(result, reply); err != nil {
			t.Fatal(err)
		}
		ok = p != nil
	}
	return rounds
}

// A long-lived session renews its service tickets and its auth ticket over
// MAuth across several lifetimes, and the renewed OSD ticket still opens
// an OSD connection.
func TestRenewal(t *testing.T) {
	kr, key := testKeyring(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	srv, _ := NewServer(ServerConfig{Keyring: kr, Now: clock.now, AuthTicketTTL: 4 * time.Minute, ServiceTicketTTL: time.Minute})
	osd, _ := NewAuthorizerServer(AuthorizerServerConfig{Service: ServiceOSD, Secrets: srv.Secrets()})
	s, _ := NewSession(Config{Name: adminName, Key: key, Now: clock.now})
	h := srv.Handler()
	res, _, err := exchange(s.MonHandler(nil), h)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.RenewalRequest(); ok {
		t.Fatal("renewal due right after authentication")
	}
	if got, want := s.NextRenewal(), clock.t.Add(45*time.Second); !got.Equal(want) {
		t.Fatalf("next renewal %v, want %v", got, want)
	}
	sawAuth := false
	for step := 0; step < 40; step++ {
		clock.t = clock.t.Add(20 * time.Second)
		before, _ := s.Ticket(ServiceAuth)
		if s.Need() != 0 {
			mauth(t, s, h)
		}
		after, err := s.Ticket(ServiceAuth)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if !after.Expires.Equal(before.Expires) {
			sawAuth = true
		}
		for _, svc := range []uint32{ServiceMon, ServiceOSD, ServiceMgr} {
			if _, err := s.Ticket(svc); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if s.GlobalID() != res.GlobalID {
			t.Fatal("global id changed")
		}
		if _, _, err := exchange(s.ServiceHandler(ServiceOSD, nil), osd.Handler()); err != nil {
			t.Fatalf("step %d: osd: %v", step, err)
		}
	}
	if !sawAuth {
		t.Fatal("the auth ticket was never renewed")
	}
}

func TestRenewalRefused(t *testing.T) {
	kr, key := testKeyring(t)
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	srv, _ := NewServer(ServerConfig{Keyring: kr, Now: clock.now})
	s, _ := NewSession(Config{Name: adminName, Key: key, Now: clock.now})
	if _, ok, err := s.RenewalRequest(); ok || !errors.Is(err, ErrNoTicket) {
		t.Fatalf("renewal before authentication: %v", err)
	}
	h := srv.Handler()
	if _, result := h.HandleTicketRequest([]byte{0, 1}); result != -auth.EINVAL {
		t.Fatalf("before auth: %d", result)
	}
	if _, _, err := exchange(s.MonHandler(nil), h); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HandleRenewalReply(-auth.EACCES, nil); !errors.Is(err, auth.ErrDenied) {
		t.Fatalf("refused: %v", err)
	}
	if _, err := s.HandleRenewalReply(0, []byte{0, 9, 0, 0, 0, 0}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("bad type: %v", err)
	}
	for _, p := range [][]byte{nil, {0, 2}, {0, 2, 1}, {0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, result := h.HandleTicketRequest(p); result >= 0 {
			t.Fatalf("%x accepted", p)
		}
	}
}

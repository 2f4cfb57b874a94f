package cephx

import (
	"errors"
	"testing"

	"github.com/gomsgr/msgr/auth"
)

// mutating wraps a handler and rewrites its AUTH_REQUEST_MORE.
type mutating struct {
	*MonHandler
	f func([]byte) []byte
}

func (m mutating) HandleReplyMore(p []byte) ([]byte, error) {
	out, err := m.MonHandler.HandleReplyMore(p)
	return m.f(out), err
}

// The errno a real Pacific mon puts in AUTH_BAD_METHOD for malformed
// requests, and the Go server's, agree.
func TestLiveRefusalErrnos(t *testing.T) {
	cl := cluster(t, "MSGR_TEST_CEPH_CEPHX")
	kr, _ := auth.LoadKeyring(cl.keyring)
	key, _ := kr.Key(adminName)
	srv, _ := NewServer(ServerConfig{Keyring: kr})
	for _, tc := range []struct {
		name  string
		errno int32
		f     func([]byte) []byte
	}{
		{"truncated authenticate", -auth.EPERM, func(p []byte) []byte { return p[:10] }},
		{"unknown request type", -auth.EINVAL, func(p []byte) []byte { p[1] = 9; return p }},
		{"superfluous ticket", -auth.EINVAL, func(p []byte) []byte {
			// old_ticket's blob: replace the empty blob (u32 0) by 4 bytes.
			n := len(p)
			out := append([]byte(nil), p[:n-8]...)
			out = append(out, 4, 0, 0, 0, 1, 2, 3, 4)
			return append(out, p[n-4:]...)
		}},
	} {
		s, _ := NewSession(Config{Name: adminName, Key: key})
		_, err := dialLive(t, cl.mon).authenticate(t, mutating{s.MonHandler(nil), tc.f})
		var bm *auth.BadMethodError
		if !errors.As(err, &bm) || bm.Result != tc.errno {
			t.Errorf("%s: real mon: %v", tc.name, err)
		}
		_, _, gerr := exchange(mutating{s.MonHandler(nil), tc.f}, srv.Handler())
		if !errors.As(gerr, &bm) || bm.Result != tc.errno {
			t.Errorf("%s: Go server: %v", tc.name, gerr)
		}
	}
}

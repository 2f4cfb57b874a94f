package cephx

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/internal/cephtest"
)

// osdAddr asks the cluster (with the ceph CLI) for osd.0's msgr2 address.
func osdAddr(t *testing.T, env string) netip.AddrPort {
	t.Helper()
	out, err := exec.Command("ceph", "-c", cephtest.ConfPath(t, env), "osd", "dump", "-f", "json").Output()
	if err != nil {
		t.Skipf("ceph osd dump: %v", err)
	}
	var dump struct {
		OSDs []struct {
			Up          int `json:"up"`
			PublicAddrs struct {
				AddrVec []struct {
					Type string `json:"type"`
					Addr string `json:"addr"`
				} `json:"addrvec"`
			} `json:"public_addrs"`
		} `json:"osds"`
	}
	if err := json.Unmarshal(out, &dump); err != nil {
		t.Fatal(err)
	}
	for _, o := range dump.OSDs {
		for _, a := range o.PublicAddrs.AddrVec {
			if o.Up == 1 && a.Type == "v2" {
				ap, err := netip.ParseAddrPort(a.Addr)
				if err != nil {
					t.Fatal(err)
				}
				return ap
			}
		}
	}
	t.Skip("no OSD up")
	return netip.AddrPort{}
}

// A real OSD accepts the authorizer built from the mon's OSD ticket, sends
// the CEPHX_V2 challenge, checks the answer, proves it read the ticket
// (nonce+1), and both AUTH_SIGNATUREs verify; in secure mode the OSD's is
// already encrypted with the connection secret from its AUTH_DONE.
func TestLiveOSD(t *testing.T) {
	for _, tc := range []struct {
		env  string
		mode uint32
	}{
		{"MSGR_TEST_CEPH_CEPHX", auth.ModeCRC},
		{"MSGR_TEST_CEPH_SECURE", auth.ModeSecure},
	} {
		t.Run(tc.env, func(t *testing.T) {
			cl := cluster(t, tc.env)
			osd := osdAddr(t, tc.env)
			kr, _ := auth.LoadKeyring(cl.keyring)
			key, _ := kr.Key(adminName)
			modes := []uint32{auth.ModeSecure, auth.ModeCRC}
			s, _ := NewSession(Config{Name: adminName, Key: key, MonModes: modes, Modes: modes})
			h, _ := s.ClientHandler(ServiceMon)
			if _, err := dialLive(t, cl.mon).authenticate(t, h); err != nil {
				t.Fatal(err)
			}
			h, _ = s.ClientHandler(ServiceOSD)
			res, err := dialLive(t, osd).authenticate(t, h)
			if err != nil {
				t.Fatal(err)
			}
			if res.ConMode != tc.mode || res.GlobalID != s.GlobalID() {
				t.Fatalf("result %v, session global id %d", res, s.GlobalID())
			}
			// A ticket from a session the cluster never issued is refused.
			srv, _ := NewServer(ServerConfig{Keyring: kr})
			forged, _ := NewSession(Config{Name: adminName, Key: key})
			if _, _, err := exchange(forged.MonHandler(nil), srv.Handler()); err != nil {
				t.Fatal(err)
			}
			_, err = dialLive(t, osd).authenticate(t, forged.ServiceHandler(ServiceOSD, modes))
			var bm *auth.BadMethodError
			if !errors.As(err, &bm) || bm.Result != -auth.EACCES {
				t.Fatalf("forged ticket: %v", err)
			}
			// The Go OSD side refuses a foreign ticket the same way.
			other, _ := NewServer(ServerConfig{Keyring: kr})
			as, _ := NewAuthorizerServer(AuthorizerServerConfig{Service: ServiceOSD, Secrets: other.Secrets()})
			_, _, gerr := exchange(forged.ServiceHandler(ServiceOSD, modes), as.Handler())
			if !errors.As(gerr, &bm) || bm.Result != -auth.EACCES {
				t.Fatalf("Go OSD side: %v", gerr)
			}
		})
	}
}

// Package cephtest finds the real Ceph clusters that live tests talk to
// (scripts/ci-ceph.sh exports their ceph.conf paths). Locally an unset
// variable skips the test; under CI=true it fails it, so CI never passes
// by skipping.
package cephtest

import (
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
)

// The variables scripts/ci-ceph.sh exports, one per test cluster.
const (
	None   = "MSGR_TEST_CEPH_NONE"   // auth none, crc, 1 OSD
	CephX  = "MSGR_TEST_CEPH_CEPHX"  // cephx, crc, 1 OSD
	Secure = "MSGR_TEST_CEPH_SECURE" // cephx, secure, 1 OSD
	Rados  = "MSGR_TEST_CEPH_RADOS"  // cephx, crc, 3 OSDs, pool msgr
	TTL    = "MSGR_TEST_CEPH_TTL"    // cephx, mon only, 10 s tickets
	Mgr    = "MSGR_TEST_CEPH_MGR"    // cephx, crc, 1 OSD and a ceph-mgr, pool msgr
	Fault  = "MSGR_TEST_CEPH_FAULT"  // cephx, crc, 3 OSDs: the fault tests alone (they kill and restart its daemons)
)

// ConfPath returns the ceph.conf path env names, or skips (fails under
// CI=true) when it is unset.
func ConfPath(t testing.TB, env string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set under CI=true: scripts/ci-ceph.sh must start the clusters", env)
		}
		t.Skipf("%s not set: no Ceph cluster to talk to (see scripts/ci-ceph.sh)", env)
	}
	return path
}

// Load reads the cluster's configuration as client.admin, ignoring the
// caller's CEPH_ARGS.
func Load(t testing.TB, env string) *config.Config {
	t.Helper()
	path := ConfPath(t, env)
	cfg, err := config.Load(config.Args{Conf: path}, func(k string) string {
		if k == "CEPH_ARGS" {
			return ""
		}
		return os.Getenv(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Cluster is what the wire-level live tests need of a test cluster.
type Cluster struct {
	Conf    *config.Config
	Mon     netip.AddrPort // the first mon's msgr2 address
	CephX   bool           // auth_client_required starts with cephx
	Secure  bool           // ms_mon_client_mode prefers secure
	Keyring string         // client.admin's keyring file
}

// Open loads the cluster env names (see ConfPath).
func Open(t testing.TB, env string) Cluster {
	t.Helper()
	cfg := Load(t, env)
	c := Cluster{Conf: cfg}
	if mons, err := cfg.Mons(); err == nil {
		for _, m := range mons {
			if a := m.Addrs.Msgr2(); a.Addr.IsValid() {
				c.Mon = a.Addr
				break
			}
		}
	}
	if !c.Mon.IsValid() {
		t.Fatalf("%s: no v2 mon address", env)
	}
	c.CephX = slices.Contains(cfg.AuthClientRequired(), "cephx")
	modes, err := cfg.Modes("ms_mon_client_mode")
	if err != nil {
		t.Fatal(err)
	}
	c.Secure = len(modes) > 0 && modes[0] == config.ModeSecure
	if p, ok := cfg.Keyring(); ok {
		c.Keyring = p
	} else if ps := cfg.KeyringPaths(); len(ps) > 0 {
		c.Keyring = ps[0]
	}
	return c
}

// Admin is client.admin, the entity whose key the test keyrings hold.
var Admin = auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}

// AdminKey loads the keyring file at path (a test fixture) and returns it
// with client.admin's key, failing the test if it cannot.
func AdminKey(t testing.TB, path string) (*auth.Keyring, auth.CryptoKey) {
	t.Helper()
	kr, err := auth.LoadKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	key, err := kr.Key(Admin)
	if err != nil {
		t.Fatal(err)
	}
	return kr, key
}

// Package cluster is a pure-Go mini Ceph cluster: one mon and N OSDs on
// msgr, in one process on loopback, that Ceph's own clients (the ceph and
// rados CLIs, librados programs) and msgr's use. The mon serves the
// monmap, OSDMaps (full maps, crc'd as Pacific encodes them), auth (none
// or cephx, crc or secure), subscriptions and the mon commands clients
// need; each OSD keeps its PGs' objects in memory and runs the object ops
// librados sends. Pools are replicated with size 1: the OSDs do not
// replicate, and the map says so.
//
// Start one from Go (tests: t.Cleanup(func() { c.Close(ctx) })) or with
// "msgr vstart"; Start writes a ceph.conf and keyring the CLIs read.
package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// Config says what to start.
type Config struct {
	// Dir receives ceph.conf and keyring (required).
	Dir string
	// OSDs is the number of OSDs (default 1).
	OSDs int
	// Auth is "none" or "cephx" (default cephx).
	Auth string
	// Mode is "crc" or "secure" (default crc); secure needs cephx.
	Mode string
	// IP to listen on (default 127.0.0.1). MonPort 0 picks free ports;
	// otherwise the mon takes MonPort and OSD i MonPort+1+i.
	IP      netip.Addr
	MonPort uint16
	// Pools are created at start, each with PGNum PGs (default 8).
	Pools []string
	PGNum uint32
	// Logger receives the daemons' logs (nil: discarded).
	Logger *slog.Logger
}

// Cluster is a running mon and its OSDs; its fields are set by Start and
// read-only after (Close may be called from any goroutine, once).
type Cluster struct {
	Mon      *Mon
	OSDs     []*OSD
	FSID     encoding.UUID
	ConfPath string
	Keyring  string
	// AdminKey is client.admin's key (cephx).
	AdminKey auth.CryptoKey
}

// Start starts the daemons and writes Dir/ceph.conf and Dir/keyring.
func Start(ctx context.Context, cfg Config) (c *Cluster, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("cluster: Config.Dir is required")
	}
	if cfg.OSDs <= 0 {
		cfg.OSDs = 1
	}
	if cfg.Auth == "" {
		cfg.Auth = "cephx"
	}
	if cfg.Mode == "" {
		cfg.Mode = "crc"
	}
	if !cfg.IP.IsValid() {
		cfg.IP = netip.MustParseAddr("127.0.0.1")
	}
	if cfg.PGNum == 0 {
		cfg.PGNum = 8
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ap, err := newAuthPolicies(cfg)
	if err != nil {
		return nil, err
	}
	c = &Cluster{}
	if c.FSID, err = newUUID(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.Close(context.WithoutCancel(ctx))
		}
	}()

	var addrs []encoding.EntityAddrVec
	var uuids []encoding.UUID
	for i := 0; i < cfg.OSDs; i++ {
		var port uint16
		if cfg.MonPort != 0 {
			port = cfg.MonPort + 1 + uint16(i)
		}
		o, err := newOSD(ctx, int32(i), netip.AddrPortFrom(cfg.IP, port), ap.osd, log)
		if err != nil {
			return c, err
		}
		c.OSDs = append(c.OSDs, o)
		addrs = append(addrs, o.Addrs())
		u, err := newUUID()
		if err != nil {
			return c, err
		}
		uuids = append(uuids, u)
	}
	mon, err := newMon(ctx, cfg.IP, cfg.MonPort, c.FSID, ap.mon, &monConfig{allowPoolDelete: true, defaultPGNum: cfg.PGNum}, log)
	if err != nil {
		return c, err
	}
	c.Mon = mon
	mon.onMap = func(m *osdmap.OSDMap) {
		for _, o := range c.OSDs {
			o.setMap(m)
		}
	}
	mon.stats = c.poolStats
	for _, o := range c.OSDs {
		o.mapsSince = mon.mapsSince
	}
	now := time.Now()
	om := newOSDMap(c.FSID, addrs, uuids, now)
	for _, name := range cfg.Pools {
		om.PoolMax++
		om.Pools[int64(om.PoolMax)] = newPool(int64(om.PoolMax), name, cfg.PGNum, om.Epoch, now)
	}
	if err := mon.start(om); err != nil {
		return c, err
	}
	for _, o := range c.OSDs {
		if err := o.start(); err != nil {
			return c, err
		}
	}
	if err := c.writeConf(cfg, ap); err != nil {
		return c, err
	}
	log.Info("cluster up", "fsid", c.FSID, "mon", mon.Addrs(), "osds", len(c.OSDs), "conf", c.ConfPath)
	return c, nil
}

// newUUID is a random (version 4) uuid, as uuidgen makes.
func newUUID() (encoding.UUID, error) {
	var u encoding.UUID
	if _, err := rand.Read(u[:]); err != nil {
		return u, err
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u, nil
}

// authPolicies are the mon's and the OSDs' auth settings, sharing the
// service secrets (the mon seals OSD tickets with what the OSDs check).
type authPolicies struct {
	mon, osd *authPolicy
	keyring  *auth.Keyring
	adminKey auth.CryptoKey
}

func newAuthPolicies(cfg Config) (*authPolicies, error) {
	var methods, modes []uint32
	switch cfg.Auth {
	case "none":
		methods = []uint32{auth.MethodNone}
	case "cephx":
		methods = []uint32{auth.MethodCephX}
	default:
		return nil, fmt.Errorf("cluster: auth %q: want none or cephx", cfg.Auth)
	}
	switch cfg.Mode {
	case "crc":
		modes = []uint32{auth.ModeCRC}
	case "secure":
		if cfg.Auth != "cephx" {
			return nil, errors.New("cluster: secure mode needs cephx")
		}
		modes = []uint32{auth.ModeSecure}
	default:
		return nil, fmt.Errorf("cluster: mode %q: want crc or secure", cfg.Mode)
	}
	gids := auth.NewGlobalIDs(4096)
	p := &authPolicies{
		mon: &authPolicy{methods: methods, modes: modes, mon: true, gids: gids},
		osd: &authPolicy{methods: methods, modes: modes, gids: gids},
	}
	if cfg.Auth != "cephx" {
		return p, nil
	}
	now := utimeOf(time.Now())
	kr := auth.NewKeyring()
	admin := auth.EntityName{Type: uint32(encoding.EntityTypeClient), ID: "admin"}
	monName := auth.EntityName{Type: uint32(encoding.EntityTypeMon), ID: ""}
	for _, n := range []auth.EntityName{admin, monName} {
		k, err := auth.NewAESKey(rand.Reader, now)
		if err != nil {
			return nil, err
		}
		kr.Add(n, k)
		if n == admin {
			p.adminKey = k
		}
	}
	for _, svc := range []string{"mon", "osd", "mgr", "mds"} {
		kr.SetCaps(admin, svc, "allow *")
	}
	kr.SetCaps(monName, "mon", "allow *")
	cx, err := cephx.NewServer(cephx.ServerConfig{Keyring: kr, GlobalIDs: gids, Modes: modes})
	if err != nil {
		return nil, err
	}
	az, err := cephx.NewAuthorizerServer(cephx.AuthorizerServerConfig{Service: cephx.ServiceOSD, Secrets: cx.Secrets(), Modes: modes})
	if err != nil {
		return nil, err
	}
	p.mon.cx, p.mon.keyring = cx, kr
	p.osd.az, p.osd.keyring = az, kr
	p.keyring = kr
	return p, nil
}

// writeConf writes what the CLIs need to reach the cluster.
func (c *Cluster) writeConf(cfg Config, ap *authPolicies) error {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return err
	}
	c.ConfPath = filepath.Join(cfg.Dir, "ceph.conf")
	c.Keyring = filepath.Join(cfg.Dir, "keyring")
	var b strings.Builder
	fmt.Fprintf(&b, "[global]\n\tfsid = %s\n\tmon_host = %s\n", c.FSID, c.Mon.Addrs())
	for _, k := range []string{"auth_cluster_required", "auth_service_required", "auth_client_required"} {
		fmt.Fprintf(&b, "\t%s = %s\n", k, cfg.Auth)
	}
	fmt.Fprintf(&b, "\tms_client_mode = %s\n\tms_mon_client_mode = %s\n\tms_mon_service_mode = %s\n\tms_service_mode = %s\n", cfg.Mode, cfg.Mode, cfg.Mode, cfg.Mode)
	fmt.Fprintf(&b, "\tkeyring = %s\n\tlog_to_stderr = false\n\tlog_file = /dev/null\n", c.Keyring)
	if err := os.WriteFile(c.ConfPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	kr := auth.NewKeyring()
	if ap.keyring != nil {
		kr = ap.keyring
		c.AdminKey = ap.adminKey
	}
	return os.WriteFile(c.Keyring, kr.Marshal(), 0o600)
}

// poolStats sums the OSDs' objects and bytes per pool.
func (c *Cluster) poolStats() map[int64]poolStats {
	s := map[int64]poolStats{}
	for _, o := range c.OSDs {
		o.stats(s)
	}
	return s
}

// Close stops the daemons and waits for them until ctx ends.
func (c *Cluster) Close(ctx context.Context) error {
	var errs []error
	if c.Mon != nil {
		errs = append(errs, c.Mon.shutdown(ctx))
	}
	for _, o := range c.OSDs {
		errs = append(errs, o.shutdown(ctx))
	}
	return errors.Join(errs...)
}

// mapsSince is what an OSD shares with a client behind: the maps after
// epoch.
func (mon *Mon) mapsSince(epoch uint32) *messages.MOSDMap {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	return mon.osdMapsLocked(epoch + 1)
}

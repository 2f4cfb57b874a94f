package rados

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gomsgr/msgr/asok"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/perf"
)

// adminSocketPath is the admin_socket option when set (on the command
// line or in the file), expanded; "" when not. Ceph's default
// ($run_dir/$cluster-$name.$cctid.asok) is not used: the socket is
// opt-in.
func adminSocketPath(cfg *config.Config) string {
	v, ok := cfg.Raw("admin_socket")
	if !ok {
		return ""
	}
	return cfg.Expand(v)
}

// dumpTimeout bounds a dump_connections that waits on busy workers.
const dumpTimeout = 5 * time.Second

// openAdminSocket serves perf dump/schema over coll (the messenger's and
// the Objecter's sections), config show/get, objecter_requests and
// dump_connections at path, as a librados client does with
// admin_socket set. A socket that cannot be opened is logged, and the
// client runs without it, as in Ceph.
func (c *client) openAdminSocket(path string, cfg *config.Config, coll *perf.Collection) {
	coll.Add(c.o.PerfCounters())
	s, err := asok.Listen(path, asok.Options{Perf: coll, Logger: c.log})
	if err != nil {
		c.log.Error("rados: admin socket", "path", path, "err", err)
		return
	}
	cmds := append(asok.ConfigCommands(cfg),
		asok.Command{Prefix: "objecter_requests", Help: "show in-progress osd requests",
			Hook: func(context.Context, asok.Request) ([]byte, error) { return c.o.RequestsJSON() }},
		asok.Command{Prefix: "dump_connections", Help: "show the messenger's connections",
			Hook: func(ctx context.Context, _ asok.Request) ([]byte, error) {
				ctx, cancel := context.WithTimeout(ctx, dumpTimeout)
				defer cancel()
				return json.Marshal(c.m.DumpConnections(ctx))
			}},
	)
	for _, cmd := range cmds {
		if err := s.Register(cmd); err != nil {
			c.log.Error("rados: admin socket", "err", err)
		}
	}
	c.asok = s
}

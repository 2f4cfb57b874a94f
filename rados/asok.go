package rados

import (
	"context"

	"github.com/gomsgr/msgr/asok"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/perf"
)

// openAdminSocket serves perf dump/schema over coll (the messenger's, the
// Objecter's and the MonClient's sections), config show/get, objecter_requests and
// dump_connections at path, as a librados client does with
// admin_socket set. A socket that cannot be opened (another client of
// the same name holds the path: use $pid in admin_socket) is logged, and
// the client runs without it, as in Ceph.
func (c *client) openAdminSocket(path string, cfg *config.Config, coll *perf.Collection) {
	coll.Add(c.o.PerfCounters())
	coll.Add(c.mc.PerfCounters())
	cmds := append(asok.ConfigCommands(cfg), c.m.AdminCommands()...)
	cmds = append(cmds, asok.Command{Prefix: "objecter_requests", Help: "show in-progress osd requests",
		Hook: func(context.Context, asok.Request) ([]byte, error) { return c.o.RequestsJSON() }})
	s, err := asok.Listen(path, asok.Options{Perf: coll, Logger: c.log, Commands: cmds})
	if err != nil {
		c.log.Warn("rados: admin socket", "path", path, "err", err)
		return
	}
	c.asok = s
}

package asok

import (
	"context"
	"encoding/json"
	"syscall"

	"github.com/gomsgr/msgr/config"
)

// ConfigCommands are `config show` and `config get` over c, read at the
// time of each request. c must not be modified while the server runs.
func ConfigCommands(c *config.Config) []Command {
	return []Command{
		{Prefix: "config show", Help: "dump current config settings", Hook: func(context.Context, Request) ([]byte, error) {
			return json.Marshal(configValues(c)) // sorted keys
		}},
		{Prefix: "config get", Help: "config get <field>: get the config value",
			Args: []Arg{{Name: "var", Type: "CephString"}},
			Hook: func(_ context.Context, r Request) ([]byte, error) {
				k, _ := r.String("var")
				v, ok := configValues(c)[config.OptionKey(k)]
				if !ok {
					return nil, Errorf(syscall.ENOENT, "error getting '%s': (2) No such file or directory", k)
				}
				return json.Marshal(map[string]string{k: v})
			}},
	}
}

// configValues are the options that have a value for c's entity: set on
// the command line or in the file's sections for it, or a default this
// module knows; $meta expanded.
func configValues(c *config.Config) map[string]string {
	keys := map[string]bool{}
	for k := range config.Defaults {
		keys[k] = true
	}
	for k := range c.Overrides {
		keys[k] = true
	}
	if c.File != nil {
		for _, s := range c.Sections() {
			for _, k := range c.File.Keys(s) {
				keys[config.OptionKey(k)] = true
			}
		}
	}
	m := map[string]string{"name": c.Name, "cluster": c.Cluster}
	for k := range keys {
		if v, ok := c.Get(k); ok {
			m[k] = v
		}
	}
	return m
}

// ConfiguredPath is the admin_socket option when it is set for this
// entity, expanded; "" when it is not. Set means: on a command line, in
// CEPH_ARGS, by Config.Set, or in the file's [type.id] or [type]
// section. Unlike Ceph, [global] does not count: test and production
// files put the daemons' sockets there ($run_dir/$name.asok), and every
// client of one name would contend for one path (the real rados then
// prints "failed to bind the UNIX domain socket" on stderr). Ceph's
// default path is not used either: a socket is opt-in.
func ConfiguredPath(c *config.Config) string {
	v, ok := c.Overrides[config.OptionKey("admin_socket")]
	if !ok && c.File != nil {
		for _, sec := range c.Sections() {
			if sec == "global" {
				continue
			}
			if v, ok = c.File.Lookup(sec, "admin_socket"); ok {
				break
			}
		}
	}
	if !ok || v == "" {
		return ""
	}
	return c.Expand(v)
}

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrUsage is matched by errors about command-line options.
var ErrUsage = errors.New("config: bad option")

// ErrNoConfig is returned when no configuration file is found and no
// monitor was given on the command line.
var ErrNoConfig = errors.New("config: no ceph.conf found (use -c, CEPH_CONF, or -m)")

// Args are the options the ceph and rados CLIs take to find their
// cluster. Empty fields were not given.
type Args struct {
	Conf     string // -c, --conf
	MonHost  string // -m, --mon-host
	Name     string // -n, --name (type.id)
	ID       string // --id, --user (client.<id>)
	Keyring  string // -k, --keyring
	Cluster  string // --cluster
	Settings map[string]string
}

// flags taking a value that ExtractArgs recognises, with the field they set.
func (a *Args) field(flag string) *string {
	switch flag {
	case "-c", "--conf":
		return &a.Conf
	case "-m", "--mon-host", "--mon_host":
		return &a.MonHost
	case "-n", "--name":
		return &a.Name
	case "--id", "--user":
		return &a.ID
	case "-k", "--keyring":
		return &a.Keyring
	case "--cluster":
		return &a.Cluster
	}
	return nil
}

// ExtractArgs removes the cluster-finding options from args ("-c X",
// "--conf=X", "-cX" is not accepted, as in ceph) and returns them with the
// arguments left over, in order. Arguments after "--" are left alone.
func ExtractArgs(args []string) (Args, []string, error) {
	var a Args
	var rest []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		flag, val, hasVal := strings.Cut(arg, "=")
		if !strings.HasPrefix(flag, "--") {
			flag, val, hasVal = arg, "", false
		}
		p := a.field(flag)
		if p == nil {
			rest = append(rest, arg)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return Args{}, nil, fmt.Errorf("%w: %s needs a value", ErrUsage, flag)
			}
			i++
			val = args[i]
		}
		*p = val
	}
	return a, rest, nil
}

// ParseCephArgs parses a CEPH_ARGS value: the cluster-finding options of
// ExtractArgs plus any "--option value" or "--option=value", which set
// configuration options (as every Ceph program accepts them).
func ParseCephArgs(s string) (Args, error) {
	a, err := ParseArgv(strings.Fields(s))
	if err != nil {
		return Args{}, fmt.Errorf("CEPH_ARGS: %w", err)
	}
	return a, nil
}

// ParseArgv parses arguments as ParseCephArgs does a CEPH_ARGS value
// (librados' rados_conf_parse_argv, without the program name).
func ParseArgv(args []string) (Args, error) {
	a, rest, err := ExtractArgs(args)
	if err != nil {
		return Args{}, err
	}
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		if arg == "--" {
			break
		}
		if !strings.HasPrefix(arg, "--") || len(arg) < 3 {
			return Args{}, fmt.Errorf("%w: unexpected %q", ErrUsage, arg)
		}
		k, v, ok := strings.Cut(arg[2:], "=")
		if !ok {
			if i+1 < len(rest) && !strings.HasPrefix(rest[i+1], "--") {
				i++
				v = rest[i]
			} else {
				v = "true" // a bare boolean flag
			}
		}
		if a.Settings == nil {
			a.Settings = map[string]string{}
		}
		a.Settings[OptionKey(k)] = v
	}
	return a, nil
}

// Merge returns a with every field that b sets taken from b. Ceph appends
// CEPH_ARGS after the command line, so later options win; merge the
// command line first, then CEPH_ARGS.
func (a Args) Merge(b Args) Args {
	for _, f := range []struct{ dst, src *string }{
		{&a.Conf, &b.Conf}, {&a.MonHost, &b.MonHost}, {&a.Name, &b.Name},
		{&a.ID, &b.ID}, {&a.Keyring, &b.Keyring}, {&a.Cluster, &b.Cluster},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	// --name and --id both set the entity; the one given last wins, and
	// within one source --name beats --id, as with ceph's argparse.
	if b.Name != "" {
		a.ID = ""
	} else if b.ID != "" {
		a.Name = ""
	}
	if len(b.Settings) > 0 {
		s := make(map[string]string, len(a.Settings)+len(b.Settings))
		for k, v := range a.Settings {
			s[k] = v
		}
		for k, v := range b.Settings {
			s[k] = v
		}
		a.Settings = s
	}
	return a
}

// EntityName returns the entity the options select: --name, else
// client.<--id>, else client.admin.
func (a Args) EntityName() (string, error) {
	switch {
	case a.Name != "":
		t, id, ok := strings.Cut(a.Name, ".")
		if !ok || t == "" || id == "" && t != "mon" {
			return "", fmt.Errorf("%w: --name %q is not TYPE.ID", ErrUsage, a.Name)
		}
		return a.Name, nil
	case a.ID != "":
		return "client." + a.ID, nil
	}
	return DefaultName, nil
}

// searchPath is Ceph's default conf search list (CEPH_CONF_FILE_DEFAULT).
func searchPath(cluster string) []string {
	p := []string{"/etc/ceph/" + cluster + ".conf"}
	if h, err := os.UserHomeDir(); err == nil {
		p = append(p, filepath.Join(h, ".ceph", cluster+".conf"))
	}
	return append(p, cluster+".conf")
}

// Load builds the Config the options and the environment select, as the
// ceph CLI does: the command-line options (args) merged with CEPH_ARGS
// (getenv("CEPH_ARGS"), which wins), the file from -c, else $CEPH_CONF,
// else the first of /etc/ceph/$cluster.conf, ~/.ceph/$cluster.conf,
// ./$cluster.conf that exists. A missing file is an error only when it was
// named or when no monitor address is known. getenv may be nil (os.Getenv).
func Load(args Args, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if env := getenv("CEPH_ARGS"); strings.TrimSpace(env) != "" {
		ea, err := ParseCephArgs(env)
		if err != nil {
			return nil, err
		}
		args = args.Merge(ea)
	}
	name, err := args.EntityName()
	if err != nil {
		return nil, err
	}
	cluster := args.Cluster
	if cluster == "" {
		cluster = DefaultCluster
	}
	path := args.Conf
	if path == "" {
		path = getenv("CEPH_CONF")
	}
	var f *File
	if path != "" {
		if f, err = ReadFile(path); err != nil {
			return nil, err
		}
	} else {
		for _, p := range searchPath(cluster) {
			if _, err := os.Stat(p); err == nil {
				if f, err = ReadFile(p); err != nil {
					return nil, err
				}
				path = p
				break
			}
		}
	}
	if args.Cluster == "" && path != "" {
		cluster = clusterFromPath(path)
	}
	c := New(f, name)
	c.Cluster, c.Path = cluster, path
	for k, v := range args.Settings {
		c.Set(k, v)
	}
	if args.MonHost != "" {
		c.Set("mon_host", args.MonHost)
	}
	if args.Keyring != "" {
		c.Set("keyring", args.Keyring)
	}
	if f == nil && args.MonHost == "" {
		if _, ok := c.Raw("mon_host"); !ok {
			return nil, ErrNoConfig
		}
	}
	return c, nil
}

// clusterFromPath is how Ceph names the cluster when --cluster is not
// given: the conf file's base name before ".conf" ("/etc/ceph/prod.conf"
// is cluster "prod"), or "ceph" (md_config_t::parse_config_files).
func clusterFromPath(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".conf"); i > 0 {
		return base[:i]
	}
	return DefaultCluster
}

package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// ErrBadValue is matched by errors for values that do not parse.
var ErrBadValue = errors.New("config: bad value")

// ErrNotSet is returned by typed getters for options with no value and no
// default.
var ErrNotSet = errors.New("config: option not set")

// DefaultName is the entity the CLIs act as when no --name/--id is given.
const DefaultName = "client.admin"

// DefaultCluster is Ceph's default cluster name ($cluster).
const DefaultCluster = "ceph"

// Config is the configuration as one entity sees it: command-line and
// CEPH_ARGS overrides, then sections [type.id], [type], [global] of the
// file, then Ceph's defaults for the few options this package knows.
type Config struct {
	File      *File             // may be nil: no file was read
	Name      string            // entity, "client.admin"
	Cluster   string            // "ceph" unless --cluster
	Overrides map[string]string // normalized key → value, beating the file
	Path      string            // the file's path, if any
}

// New returns the view of f for entity name (type.id).
func New(f *File, name string) *Config {
	if f == nil {
		f = NewFile()
	}
	return &Config{File: f, Name: name, Cluster: DefaultCluster, Overrides: map[string]string{}}
}

// EntityType returns the part of Name before the first dot.
func (c *Config) EntityType() string {
	t, _, _ := strings.Cut(c.Name, ".")
	return t
}

// EntityID returns the part of Name after the first dot.
func (c *Config) EntityID() string {
	_, id, _ := strings.Cut(c.Name, ".")
	return id
}

// Sections returns the sections consulted, most specific first.
func (c *Config) Sections() []string {
	s := []string{}
	if strings.Contains(c.Name, ".") {
		s = append(s, c.Name)
	}
	if t := c.EntityType(); t != "" {
		s = append(s, t)
	}
	return append(s, "global")
}

// Raw returns key's value before $meta expansion, and whether it is set
// anywhere (overrides or file; defaults are not consulted).
func (c *Config) Raw(key string) (string, bool) {
	k := OptionKey(key)
	if v, ok := c.Overrides[k]; ok {
		return v, true
	}
	if c.File == nil {
		return "", false
	}
	for _, s := range c.Sections() {
		if v, ok := c.File.Lookup(s, k); ok {
			return v, true
		}
	}
	return "", false
}

// Get returns key's value with $meta variables expanded, falling back to
// Ceph's default for the options in Defaults.
func (c *Config) Get(key string) (string, bool) {
	v, ok := c.Raw(key)
	if !ok {
		v, ok = Defaults[OptionKey(key)]
	}
	if !ok {
		return "", false
	}
	return c.Expand(v), true
}

// Set records an override, as `--key value` on a command line does.
func (c *Config) Set(key, value string) {
	if c.Overrides == nil {
		c.Overrides = map[string]string{}
	}
	c.Overrides[OptionKey(key)] = value
}

// Defaults holds Ceph Pacific's defaults for the options clients of this
// package read (src/common/options.cc).
var Defaults = map[string]string{
	"keyring":                  "/etc/ceph/$cluster.$name.keyring,/etc/ceph/$cluster.keyring,/etc/ceph/keyring,/etc/ceph/keyring.bin,",
	"auth_cluster_required":    "cephx",
	"auth_service_required":    "cephx",
	"auth_client_required":     "cephx, none",
	"ms_cluster_mode":          "crc secure",
	"ms_service_mode":          "crc secure",
	"ms_client_mode":           "crc secure",
	"ms_mon_cluster_mode":      "secure crc",
	"ms_mon_service_mode":      "secure crc",
	"ms_mon_client_mode":       "secure crc",
	"run_dir":                  "/var/run/ceph",
	"admin_socket":             "$run_dir/$cluster-$name.$cctid.asok",
	"auth_mon_ticket_ttl":      "43200",
	"auth_service_ticket_ttl":  "3600",
	"client_mount_timeout":     "300",
	"rados_mon_op_timeout":     "0",
	"rados_osd_op_timeout":     "0",
	"mon_client_hunt_interval": "3",
	"mon_client_ping_interval": "10",
	"mon_client_ping_timeout":  "30",
}

// expandable are the options a $name may refer to besides the meta
// variables. Ceph expands any option it knows (and leaves other names as
// written); this package knows these, the ones configurations use in
// paths.
var expandable = map[string]bool{
	"run_dir": true, "admin_socket": true, "log_file": true, "keyring": true, "fsid": true,
	"mon_data": true, "osd_data": true, "mgr_data": true, "mds_data": true, "crash_dir": true,
	"erasure_code_dir": true, "osd_class_dir": true, "plugin_dir": true, "mon_host": true,
	"public_addr": true, "cluster_addr": true, "mon_cluster_log_file": true, "pid_file": true,
	"key": true, "keyfile": true, "osd_journal": true, "bluestore_block_path": true,
}

// maxExpandDepth bounds $option references that refer to each other;
// maxExpandWork bounds the bytes one Expand writes, nested expansions
// included, so that options referring to each other many times over
// cannot make it exponential (names past the budget stay as written).
const (
	maxExpandDepth = 8
	maxExpandWork  = 1 << 16
)

// Expand replaces $var and ${var} as Ceph's md_config_t does: $cluster,
// $type, $id, $name, $host, $pid, $cctid, $home, and the options in
// expandable or Defaults. Other names stay as written, as Ceph leaves
// names that are not options (checked with ceph-conf).
func (c *Config) Expand(v string) string {
	work := maxExpandWork
	return c.expand(v, 0, &work)
}

func (c *Config) expand(v string, depth int, work *int) string {
	if !strings.Contains(v, "$") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		if v[i] != '$' {
			b.WriteByte(v[i])
			i++
			continue
		}
		name, end := metaName(v, i+1)
		if name == "" {
			b.WriteByte('$')
			i++
			continue
		}
		rep, ok := "", false
		if *work > 0 {
			rep, ok = c.meta(name, depth, work)
		}
		*work -= len(rep) + 1
		if !ok {
			b.WriteString(v[i:end])
		} else {
			b.WriteString(rep)
		}
		i = end
	}
	return b.String()
}

// metaName returns the variable name at v[i:] ("name" or "{name}") and the
// index after it.
func metaName(v string, i int) (string, int) {
	brace := i < len(v) && v[i] == '{'
	j := i
	if brace {
		j++
	}
	start := j
	for j < len(v) && (v[j] == '_' || v[j] >= 'a' && v[j] <= 'z' || v[j] >= 'A' && v[j] <= 'Z' || v[j] >= '0' && v[j] <= '9') {
		j++
	}
	name := v[start:j]
	if brace {
		if j >= len(v) || v[j] != '}' || name == "" {
			return "", i
		}
		j++
	}
	return name, j
}

func (c *Config) meta(name string, depth int, work *int) (string, bool) {
	switch name {
	case "cluster":
		if c.Cluster == "" {
			return DefaultCluster, true
		}
		return c.Cluster, true
	case "type":
		return c.EntityType(), true
	case "id":
		return c.EntityID(), true
	case "name":
		return c.Name, true
	case "host":
		h, err := os.Hostname()
		if err != nil {
			return "", false
		}
		h, _, _ = strings.Cut(h, ".")
		return h, true
	case "pid", "cctid":
		return strconv.Itoa(os.Getpid()), true
	case "home":
		h, err := os.UserHomeDir()
		return h, err == nil
	}
	if depth >= maxExpandDepth || !expandable[OptionKey(name)] && Defaults[OptionKey(name)] == "" {
		return "", false
	}
	v, ok := c.Raw(name)
	if !ok {
		v, ok = Defaults[OptionKey(name)]
	}
	if !ok {
		return "", false
	}
	return c.expand(v, depth+1, work), true
}

// FSID returns the fsid option. ok is false when it is not set.
func (c *Config) FSID() (id encoding.UUID, ok bool, err error) {
	v, set := c.Get("fsid")
	if !set || strings.TrimSpace(v) == "" {
		return encoding.UUID{}, false, nil
	}
	id, err = encoding.ParseUUID(strings.TrimSpace(v))
	if err != nil {
		return encoding.UUID{}, true, fmt.Errorf("%w: fsid %q: %v", ErrBadValue, v, err)
	}
	return id, true, nil
}

// SplitList splits a Ceph list value on commas, semicolons and white
// space, dropping empty items (get_str_list's separators).
func SplitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n'
	})
}

// AuthClientRequired returns the auth methods a client accepts, in order
// of preference: auth_supported when set (it overrides the others, as in
// Ceph's AuthRegistry), else auth_client_required. Names are "cephx" and
// "none".
func (c *Config) AuthClientRequired() []string { return c.authMethods("auth_client_required") }

// AuthServiceRequired is AuthClientRequired for the serving side.
func (c *Config) AuthServiceRequired() []string { return c.authMethods("auth_service_required") }

func (c *Config) authMethods(key string) []string {
	if v, ok := c.Get("auth_supported"); ok && strings.TrimSpace(v) != "" {
		return SplitList(v)
	}
	v, _ := c.Get(key)
	return SplitList(v)
}

// Connection modes as msgr2 numbers them.
const (
	ModeCRC    uint32 = 1
	ModeSecure uint32 = 2
)

// Modes returns the msgr2 connection modes an option allows, in its order
// of preference ("secure crc" → [2 1]). Unknown words are an error.
func (c *Config) Modes(key string) ([]uint32, error) {
	v, _ := c.Get(key)
	var modes []uint32
	for _, w := range SplitList(v) {
		switch w {
		case "crc":
			modes = append(modes, ModeCRC)
		case "secure":
			modes = append(modes, ModeSecure)
		default:
			return nil, fmt.Errorf("%w: %s: unknown mode %q", ErrBadValue, OptionKey(key), w)
		}
	}
	return modes, nil
}

// Duration reads a seconds option (Ceph accepts decimals, as in "0.5").
func (c *Config) Duration(key string) (time.Duration, error) {
	v, ok := c.Get(key)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNotSet, OptionKey(key))
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, fmt.Errorf("%w: %s = %q is not a number of seconds", ErrBadValue, OptionKey(key), v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Bool reads a boolean option as Ceph does (true/false, yes/no, 1/0).
func (c *Config) Bool(key string) (bool, error) {
	v, ok := c.Get(key)
	if !ok {
		return false, fmt.Errorf("%w: %s", ErrNotSet, OptionKey(key))
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%w: %s = %q is not a boolean", ErrBadValue, OptionKey(key), v)
}

// KeyringPaths returns the keyring option's candidate paths, expanded.
func (c *Config) KeyringPaths() []string {
	v, _ := c.Get("keyring")
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' })
}

// Keyring returns the first keyring path that exists, as Ceph's
// KeyRing::from_ceph_context does. ok is false when none exists.
func (c *Config) Keyring() (path string, ok bool) {
	for _, p := range c.KeyringPaths() {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

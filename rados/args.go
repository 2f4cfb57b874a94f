package rados

import (
	"context"
	"os"

	"github.com/gomsgr/msgr/config"
)

// ParseCmdLineArgs applies Ceph command-line options (go-ceph's, without
// the program name): "-c FILE" reads that file, "-m", "-k" and any
// "--option value" set options. Options Ceph does not know are ignored,
// as librados leaves unrecognised arguments alone; the entity name is
// fixed when the Conn is made.
func (c *Conn) ParseCmdLineArgs(args []string) error {
	a, err := config.ParseArgv(args)
	if err != nil {
		return err
	}
	return c.applyArgs(a)
}

// ParseConfigArgv is ParseCmdLineArgs for a whole argv (argv[0], the
// program name, is skipped).
func (c *Conn) ParseConfigArgv(argv []string) error {
	if len(argv) == 0 {
		return ErrInvalidInput
	}
	return c.ParseCmdLineArgs(argv[1:])
}

// ParseDefaultConfigEnv applies the options in $CEPH_ARGS.
func (c *Conn) ParseDefaultConfigEnv() error {
	a, err := config.ParseCephArgs(os.Getenv("CEPH_ARGS"))
	if err != nil {
		return err
	}
	return c.applyArgs(a)
}

func (c *Conn) applyArgs(a config.Args) error {
	if err := c.made(); err != nil {
		return err
	}
	if a.Conf != "" {
		if err := c.ReadConfigFile(a.Conf); err != nil {
			return err
		}
	}
	set := map[string]string{}
	for k, v := range a.Settings {
		set[k] = v
	}
	if a.MonHost != "" {
		set["mon_host"] = a.MonHost
	}
	if a.Keyring != "" {
		set["keyring"] = a.Keyring
	}
	for k, v := range set {
		if _, ok := config.LookupOption(k); !ok {
			continue
		}
		if err := c.SetConfigOption(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Version returns the librados API version this package stands for
// (LIBRADOS_VER_MAJOR, _MINOR, _EXTRA of Ceph Pacific).
func Version() (int, int, int) { return 3, 0, 0 }

// GetAddrs returns the client's own addresses as Ceph prints an
// entity_addrvec_t (librados' rados_getaddrs).
func (c *Conn) GetAddrs() (string, error) {
	cl, err := c.connected()
	if err != nil {
		return "", err
	}
	cli, ok := cl.(*client)
	if !ok {
		return "", ErrNotSupported
	}
	return cli.m.Addrs().String(), nil
}

// WatcherFlush waits until every notify received so far has been handed
// to its Watcher (librados' rados_watch_flush).
func (c *Conn) WatcherFlush(ctx context.Context) error {
	cl, err := c.connected()
	if err != nil {
		return err
	}
	return cl.Objecter().WatchFlush(ctx)
}

// Package rados is a pure-Go RADOS client, shaped after go-ceph's rados
// package so that its users recognise it: a Conn from ceph.conf and a
// keyring, pools through the monitors, and an IOContext per pool and
// namespace for object reads, writes, attributes, omap and listing. Every
// call takes a context; errors match with errors.Is (ErrNotFound for
// ENOENT, or any syscall errno).
//
// Under it are the MonClient (package mon) and the Objecter (package
// osdc) on one msgr Messenger, as librados has RadosClient, MonClient and
// Objecter on one AsyncMessenger.
package rados

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdmap"
)

// Backend is what a connected Conn runs on: an Objecter fed with maps,
// and the monitors. Connect builds one on msgr and the MonClient;
// NewConnWithBackend takes any other (an in-memory cluster in tests, see
// package radostest).
type Backend interface {
	Objecter() *osdc.Objecter
	// MonCommand runs a mon command (JSON) and returns the reply's data,
	// its status string, and an error carrying the result's errno (a
	// *MonCommandError).
	MonCommand(ctx context.Context, cmd, inbuf []byte) (out []byte, status string, err error)
	// WaitForLatestOSDMap asks the monitors for the newest OSDMap and
	// waits until the Objecter has it.
	WaitForLatestOSDMap(ctx context.Context) error
	FSID() string
	InstanceID() uint64
	Shutdown()
}

// NewConnWithBackend returns a Conn already connected through b.
func NewConnWithBackend(b Backend) *Conn {
	c, _ := NewConn()
	c.cl = b
	return c
}

// Conn is a connection to a cluster (go-ceph's rados.Conn, librados'
// rados_t). Configure it, then Connect; it is safe for concurrent use once
// connected.
type Conn struct {
	args config.Args

	mu        sync.Mutex
	cfg       *config.Config
	overrides map[string]string
	cl        Backend
}

// NewConn returns an unconnected Conn for client.admin of cluster "ceph".
func NewConn() (*Conn, error) { return NewConnWithClusterAndUser("", "") }

// NewConnWithUser returns an unconnected Conn for client.<user>.
func NewConnWithUser(user string) (*Conn, error) {
	if user == "" {
		return nil, fmt.Errorf("%w: empty user", ErrInvalidInput)
	}
	return NewConnWithClusterAndUser("", "client."+user)
}

// NewConnWithClusterAndUser returns an unconnected Conn for entity name
// ("client.admin") of cluster clusterName ("ceph"); empty strings take
// those defaults.
func NewConnWithClusterAndUser(clusterName, name string) (*Conn, error) {
	a := config.Args{Cluster: clusterName, Name: name}
	if _, err := a.EntityName(); err != nil {
		return nil, err
	}
	return &Conn{args: a, overrides: map[string]string{}}, nil
}

// errNotMade: a Conn not made by NewConn* (a zero or nil one).
var errNotMade = fmt.Errorf("%w: a Conn must come from NewConn", ErrInvalidInput)

func (c *Conn) made() error {
	if c == nil || c.overrides == nil {
		return errNotMade
	}
	return nil
}

// ReadConfigFile reads ceph.conf from path.
func (c *Conn) ReadConfigFile(path string) error {
	if err := c.made(); err != nil {
		return err
	}
	a := c.args
	a.Conf = path
	return c.load(a, func(string) string { return "" })
}

// ReadDefaultConfigFile reads the first of $CEPH_CONF, /etc/ceph/ceph.conf,
// ~/.ceph/ceph.conf and ./ceph.conf, with CEPH_ARGS applied.
func (c *Conn) ReadDefaultConfigFile() error {
	if err := c.made(); err != nil {
		return err
	}
	return c.load(c.args, nil)
}

func (c *Conn) load(a config.Args, getenv func(string) string) error {
	cfg, err := config.Load(a, getenv)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != nil && c.cfg.File != nil && cfg.File != nil {
		// A second file adds to the first, as librados' conf_read_file
		// sets each option it finds and leaves the others alone.
		for _, sec := range cfg.File.Sections() {
			for _, k := range cfg.File.Keys(sec) {
				v, _ := cfg.File.Lookup(sec, k)
				c.cfg.File.Set(sec, k, v)
			}
		}
		cfg.File = c.cfg.File
	}
	for k, v := range c.overrides {
		cfg.Set(k, v)
	}
	c.cfg = cfg
	return nil
}

// SetConfigOption sets an option ("keyring", "mon_host",
// "rados_osd_op_timeout", ...), overriding the file. As librados: ENOENT
// for an option Ceph does not know, EINVAL for a value that does not
// parse as the option's type or is out of its range; the value is kept
// as Ceph prints it back (true for 1, 1024 for 1K).
func (c *Conn) SetConfigOption(option, value string) error {
	if err := c.made(); err != nil {
		return err
	}
	o, ok := config.LookupOption(option)
	if !ok {
		return fmt.Errorf("rados: option %q: %w", option, ErrNotFound)
	}
	v, err := o.Parse(value)
	if err != nil {
		return fmt.Errorf("rados: option %q: %w (%w)", option, ErrInvalidInput, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.overrides[option] = v
	if c.cfg != nil {
		c.cfg.Set(option, v)
	}
	return nil
}

// GetConfigOption returns an option's value: set, read from a file, or
// Ceph's default for a client ($meta variables expanded for this Conn's
// name). ENOENT for an option Ceph does not know.
func (c *Conn) GetConfigOption(option string) (string, error) {
	cfg, err := c.config()
	if err != nil {
		return "", err
	}
	if v, ok := cfg.Raw(option); ok {
		return cfg.Expand(v), nil
	}
	if o, ok := config.LookupOption(option); ok {
		return cfg.Expand(o.Default), nil
	}
	return "", fmt.Errorf("rados: option %q: %w", option, ErrNotFound)
}

// config returns the configuration to connect with: what was read, or
// only the options set when no file was.
func (c *Conn) config() (*config.Config, error) {
	if err := c.made(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != nil {
		return c.cfg, nil
	}
	name, err := c.args.EntityName()
	if err != nil {
		return nil, err
	}
	cfg := config.New(nil, name)
	if c.args.Cluster != "" {
		cfg.Cluster = c.args.Cluster
	}
	for k, v := range c.overrides {
		cfg.Set(k, v)
	}
	return cfg, nil
}

func (c *Conn) connected() (Backend, error) {
	if c == nil {
		return nil, ErrNotConnected
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cl == nil {
		return nil, ErrNotConnected
	}
	return c.cl, nil
}

// Connect authenticates with the monitors, fetches the maps, and readies the
// Objecter. It returns when the client can send ops, or when ctx ends.
func (c *Conn) Connect(ctx context.Context) error {
	if err := c.made(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.cl != nil {
		c.mu.Unlock()
		return ErrAlreadyConnected
	}
	c.mu.Unlock()
	cfg, err := c.config()
	if err != nil {
		return err
	}
	cl, err := dial(ctx, cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cl != nil {
		cl.Shutdown()
		return ErrAlreadyConnected
	}
	c.cl = cl
	return nil
}

// Shutdown disconnects; ops in flight fail with ErrShutdown.
func (c *Conn) Shutdown() {
	if c == nil {
		return
	}
	c.mu.Lock()
	cl := c.cl
	c.cl = nil
	c.mu.Unlock()
	if cl != nil {
		cl.Shutdown()
	}
}

// GetFSID returns the cluster's fsid: the monitors' once connected,
// before that the configuration's (as librados).
func (c *Conn) GetFSID() (string, error) {
	if cl, err := c.connected(); err == nil {
		return cl.FSID(), nil
	}
	return c.GetConfigOption("fsid")
}

// GetInstanceID returns the client's global id (the N of client.N).
func (c *Conn) GetInstanceID() uint64 {
	cl, err := c.connected()
	if err != nil {
		return 0
	}
	return cl.InstanceID()
}

// Objecter returns the Objecter under the Conn (for its Stats, or to send
// compound ops), or nil when not connected.
func (c *Conn) Objecter() *osdc.Objecter {
	cl, err := c.connected()
	if err != nil {
		return nil
	}
	return cl.Objecter()
}

// WaitForLatestOSDMap waits until the client has the cluster's newest
// OSDMap (after a pool was created elsewhere, say).
func (c *Conn) WaitForLatestOSDMap(ctx context.Context) error {
	cl, err := c.connected()
	if err != nil {
		return err
	}
	return cl.WaitForLatestOSDMap(ctx)
}

// MonCommand sends a JSON command to the monitors and returns the reply's
// data and status string. A negative result comes back as an error
// carrying its errno (with the status text).
func (c *Conn) MonCommand(ctx context.Context, args []byte) (buffer []byte, info string, err error) {
	return c.MonCommandWithInputBuffer(ctx, args, nil)
}

// MonCommandWithInputBuffer is MonCommand with an input buffer.
func (c *Conn) MonCommandWithInputBuffer(ctx context.Context, args, inputBuffer []byte) ([]byte, string, error) {
	cl, err := c.connected()
	if err != nil {
		return nil, "", err
	}
	return cl.MonCommand(ctx, args, inputBuffer)
}

func (c *Conn) osdMap(ctx context.Context) (*osdmap.OSDMap, error) {
	cl, err := c.connected()
	if err != nil {
		return nil, err
	}
	return cl.Objecter().WaitForMap(ctx, 0)
}

// ListPools returns the pools' names in id order, as rados lspools prints
// them.
func (c *Conn) ListPools(ctx context.Context) ([]string, error) {
	m, err := c.osdMap(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(m.Pools))
	for id := range m.Pools {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	names := make([]string, 0, len(ids))
	for _, id := range ids {
		names = append(names, m.Pools[id].Name)
	}
	return names, nil
}

// GetPoolByName returns a pool's id, asking for the newest map before
// giving up with ErrNotFound (a pool created a moment ago).
func (c *Conn) GetPoolByName(ctx context.Context, name string) (int64, error) {
	m, err := c.osdMap(ctx)
	if err != nil {
		return 0, err
	}
	if p := m.PoolByName(name); p != nil {
		return p.ID, nil
	}
	if err := c.WaitForLatestOSDMap(ctx); err != nil {
		return 0, err
	}
	if m, err = c.osdMap(ctx); err != nil {
		return 0, err
	}
	if p := m.PoolByName(name); p != nil {
		return p.ID, nil
	}
	return 0, fmt.Errorf("rados: pool %q: %w", name, ErrNotFound)
}

// GetPoolByID returns a pool's name.
func (c *Conn) GetPoolByID(ctx context.Context, id int64) (string, error) {
	m, err := c.osdMap(ctx)
	if err != nil {
		return "", err
	}
	if p := m.Pool(id); p != nil {
		return p.Name, nil
	}
	if err := c.WaitForLatestOSDMap(ctx); err != nil {
		return "", err
	}
	if m, err = c.osdMap(ctx); err == nil && m.Pool(id) != nil {
		return m.Pool(id).Name, nil
	}
	return "", fmt.Errorf("rados: pool %d: %w", id, ErrNotFound)
}

func (c *Conn) command(ctx context.Context, cmd map[string]any) ([]byte, string, error) {
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, "", err
	}
	return c.MonCommand(ctx, b)
}

// MakePool creates a replicated pool with the cluster's defaults and waits
// until the client's map has it. ErrObjectExists if it exists (the mon
// command answers 0 then, librados' pool op EEXIST).
func (c *Conn) MakePool(ctx context.Context, name string) error {
	if _, err := c.GetPoolByName(ctx, name); err == nil {
		return fmt.Errorf("rados: create pool %q: %w", name, ErrObjectExists)
	}
	_, status, err := c.command(ctx, map[string]any{"prefix": "osd pool create", "pool": name})
	if err != nil {
		return fmt.Errorf("rados: create pool %q: %w", name, err)
	}
	if strings.Contains(status, "already exists") {
		// Created by someone else since we looked.
		return fmt.Errorf("rados: create pool %q: %w", name, ErrObjectExists)
	}
	// librados returns once its map has the pool.
	for {
		m, err := c.osdMap(ctx)
		if err != nil {
			return err
		}
		if m.PoolByName(name) != nil {
			return nil
		}
		if err := c.WaitForLatestOSDMap(ctx); err != nil {
			return err
		}
		if m2, err := c.osdMap(ctx); err == nil && m2.PoolByName(name) == nil && m2.Epoch == m.Epoch {
			// The monitors' newest map does not have it yet: poll.
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// DeletePool deletes a pool (the monitors must allow it:
// mon_allow_pool_delete) and waits until the client's map no longer has
// it. ErrNotFound if there is no such pool.
func (c *Conn) DeletePool(ctx context.Context, name string) error {
	if _, err := c.GetPoolByName(ctx, name); err != nil {
		return err
	}
	_, _, err := c.command(ctx, map[string]any{
		"prefix": "osd pool delete", "pool": name, "pool2": name,
		"yes_i_really_really_mean_it_not_faking": true,
	})
	if err != nil {
		return fmt.Errorf("rados: delete pool %q: %w", name, err)
	}
	for {
		if err := c.WaitForLatestOSDMap(ctx); err != nil {
			return err
		}
		m, err := c.osdMap(ctx)
		if err != nil {
			return err
		}
		if m.PoolByName(name) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// OpenIOContext returns an IOContext on pool, in the default namespace.
// ErrNotFound if there is no such pool.
func (c *Conn) OpenIOContext(ctx context.Context, pool string) (*IOContext, error) {
	cl, err := c.connected()
	if err != nil {
		return nil, err
	}
	id, err := c.GetPoolByName(ctx, pool)
	if err != nil {
		return nil, err
	}
	return &IOContext{conn: c, o: cl.Objecter(), pool: id, poolName: pool}, nil
}

// MonError turns a mon command's result into an error carrying its errno
// (nil for r >= 0).
func MonError(r int32, status string) error {
	if r >= 0 {
		return nil
	}
	return &MonCommandError{Errno: syscall.Errno(-r), Status: status}
}

// MonCommandError is a monitor command's negative result: its errno (which
// errors.Is matches) and the monitor's status text.
type MonCommandError struct {
	Errno  syscall.Errno
	Status string
}

func (e *MonCommandError) Error() string {
	if e.Status == "" {
		return "rados: mon command: " + e.Errno.Error()
	}
	return fmt.Sprintf("rados: mon command: %v: %s", e.Errno, e.Status)
}

// Unwrap returns the errno.
func (e *MonCommandError) Unwrap() error { return e.Errno }

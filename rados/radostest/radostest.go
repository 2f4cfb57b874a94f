// Package radostest runs package rados on an in-memory cluster: the OSDs
// of osdc/osdctest and a monitor that creates and deletes pools by
// publishing new maps. For tests of code written against package rados.
package radostest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdc/osdctest"
	"github.com/gomsgr/msgr/osdmap"
	"github.com/gomsgr/msgr/rados"
)

// Cluster is a rados.Backend on osdctest OSDs.
type Cluster struct {
	OSDs *osdctest.Cluster
	o    *osdc.Objecter

	mu   sync.Mutex
	m    *osdmap.OSDMap
	cmds []map[string]any
}

// New returns a connected rados.Conn on a fresh in-memory cluster with
// pool 1 "vec" (8 PGs), and the cluster. Both are shut down when the test
// ends.
func New(t testing.TB, cfg osdc.Config) (*rados.Conn, *Cluster) {
	f := &Cluster{OSDs: osdctest.NewCluster(t)}
	cfg.RequestMap = f.WaitForLatestOSDMap
	f.o = osdc.New(f.OSDs, cfg)
	f.OSDs.Objecter = f.o
	f.m = osdctest.DeriveMap(osdctest.BaseMap(t), 10, 1, nil, nil)
	f.o.HandleOSDMap(f.m)
	c := rados.NewConnWithBackend(f)
	t.Cleanup(func() {
		c.Shutdown()
		f.OSDs.Stop()
	})
	return c, f
}

// Objecter implements rados.Backend.
func (f *Cluster) Objecter() *osdc.Objecter { return f.o }

// FSID implements rados.Backend.
func (f *Cluster) FSID() string { return f.m.FSID.String() }

// InstanceID implements rados.Backend.
func (f *Cluster) InstanceID() uint64 { return 4242 }

// Shutdown implements rados.Backend.
func (f *Cluster) Shutdown() { f.o.Close() }

// WaitForLatestOSDMap implements rados.Backend: the monitor's newest map
// is handed to the Objecter at once.
func (f *Cluster) WaitForLatestOSDMap(ctx context.Context) error {
	f.mu.Lock()
	m := f.m
	f.mu.Unlock()
	f.o.HandleOSDMap(m)
	return nil
}

// Commands returns the mon commands received, decoded.
func (f *Cluster) Commands() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.cmds...)
}

// MonCommand implements rados.Backend for "osd pool create" and "osd pool
// delete" (with librados' confirmation), answering as Ceph's monitor does.
func (f *Cluster) MonCommand(ctx context.Context, cmd, inbuf []byte) ([]byte, string, error) {
	var c map[string]any
	if err := json.Unmarshal(cmd, &c); err != nil {
		return nil, "", rados.MonError(-22, err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, c)
	name, _ := c["pool"].(string)
	next := *f.m
	next.Epoch++
	next.Pools = map[int64]*osdmap.Pool{}
	for id, p := range f.m.Pools {
		next.Pools[id] = p
	}
	switch c["prefix"] {
	case "osd pool create":
		if f.m.PoolByName(name) != nil {
			return nil, fmt.Sprintf("pool '%s' already exists", name), nil
		}
		p := *f.m.Pools[1]
		p.ID, p.Name = int64(next.PoolMax)+1, name
		next.PoolMax++
		next.Pools[p.ID] = &p
		f.m = &next
		return nil, fmt.Sprintf("pool '%s' created", name), nil
	case "osd pool delete":
		p := f.m.PoolByName(name)
		if p == nil {
			return nil, fmt.Sprintf("pool '%s' does not exist", name), nil
		}
		if c["yes_i_really_really_mean_it_not_faking"] != true || c["pool2"] != name {
			return nil, "", rados.MonError(-1, "WARNING: this will *PERMANENTLY DESTROY* all data stored in pool "+name)
		}
		delete(next.Pools, p.ID)
		f.m = &next
		return nil, fmt.Sprintf("pool '%s' removed", name), nil
	}
	return nil, "", rados.MonError(-22, "unknown command")
}

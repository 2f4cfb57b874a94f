package rados

import (
	"context"
	"errors"
	"fmt"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
)

// monRequester is a Backend that can send the mons requests beyond
// commands (statfs, pool stats, pool ops); Connect's is one.
type monRequester interface {
	MonRequest(ctx context.Context, build func(tid uint64, fsid encoding.UUID) message.Message) (messages.MonReply, error)
}

// ErrNotSupported: the Backend (an in-memory test cluster) cannot do it.
var ErrNotSupported = errors.New("rados: not supported by this backend")

func (c *Conn) monRequest(ctx context.Context, build func(tid uint64, fsid encoding.UUID) message.Message) (messages.MonReply, error) {
	cl, err := c.connected()
	if err != nil {
		return nil, err
	}
	mr, ok := cl.(monRequester)
	if !ok {
		return nil, ErrNotSupported
	}
	return mr.MonRequest(ctx, build)
}

// ClusterStat is the cluster's space, as rados_cluster_stat gives it
// (go-ceph's field names).
type ClusterStat struct {
	Kb          uint64
	Kb_used     uint64
	Kb_avail    uint64
	Num_objects uint64
}

// GetClusterStats returns the cluster's space and object count (MStatfs).
func (c *Conn) GetClusterStats(ctx context.Context) (ClusterStat, error) {
	r, err := c.monRequest(ctx, func(tid uint64, fsid encoding.UUID) message.Message {
		return &messages.MStatfs{Tid: tid, FSID: fsid}
	})
	if err != nil {
		return ClusterStat{}, err
	}
	m, ok := r.(*messages.MStatfsReply)
	if !ok {
		return ClusterStat{}, fmt.Errorf("rados: statfs answered with %T", r)
	}
	return ClusterStat{Kb: m.KB, Kb_used: m.KBUsed, Kb_avail: m.KBAvail, Num_objects: m.NumObjects}, nil
}

// PoolStat is a pool's statistics, as rados_ioctx_pool_stat gives them
// (go-ceph's field names).
type PoolStat struct {
	Num_bytes                      uint64 // space used
	Num_kb                         uint64 // Num_bytes in KiB, rounded up
	Num_objects                    uint64
	Num_object_clones              uint64
	Num_object_copies              uint64 // objects times replicas
	Num_objects_missing_on_primary uint64
	Num_objects_unfound            uint64
	Num_objects_degraded           uint64 // degraded and misplaced, as librados counts
	Num_rd                         uint64
	Num_rd_kb                      uint64
	Num_wr                         uint64
	Num_wr_kb                      uint64
}

// GetPoolStats returns the pool's statistics (MGetPoolStats), computed
// from the mon's pool_stat_t as librados does.
func (io *IOContext) GetPoolStats(ctx context.Context) (PoolStat, error) {
	r, err := io.conn.monRequest(ctx, func(tid uint64, fsid encoding.UUID) message.Message {
		return &messages.MGetPoolStats{Tid: tid, FSID: fsid, Pools: []string{io.poolName}}
	})
	if err != nil {
		return PoolStat{}, err
	}
	m, ok := r.(*messages.MGetPoolStatsReply)
	if !ok {
		return PoolStat{}, fmt.Errorf("rados: pool stats answered with %T", r)
	}
	// A pool the mons have no statistics for yet (no mgr reported) reads
	// as zeros, as librados gives.
	s := m.Stats[io.poolName]
	used := s.NumBytes + s.NumBytesHitSetArchive
	if m.PerPool {
		used = s.StoreAllocated
	}
	u := func(v int64) uint64 { return uint64(max(v, 0)) }
	return PoolStat{
		Num_bytes: u(used), Num_kb: (u(used) + 1023) >> 10,
		Num_objects: u(s.NumObjects), Num_object_clones: u(s.NumObjectClones), Num_object_copies: u(s.NumObjectCopies),
		Num_objects_missing_on_primary: u(s.NumObjectsMissingOnPrimary), Num_objects_unfound: u(s.NumObjectsUnfound),
		Num_objects_degraded: u(s.NumObjectsDegraded + s.NumObjectsMisplaced),
		Num_rd:               u(s.NumRd), Num_rd_kb: u(s.NumRdKB), Num_wr: u(s.NumWr), Num_wr_kb: u(s.NumWrKB),
	}, nil
}

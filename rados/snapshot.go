package rados

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// Snapshots: pool snapshots (named, taken of the whole pool by the mons,
// go-ceph's calls) and self-managed ones (ids the caller tracks and hands
// to writes as a snap context, as RBD does; librados'
// rados_ioctx_selfmanaged_snap_* calls). A pool uses one kind or the
// other.

// SnapID is a snapshot id.
type SnapID uint64

// SnapHead reads the live object (LIBRADOS_SNAP_HEAD).
const SnapHead = SnapID(messages.SnapHead)

// poolOp runs a pool op on the mons and waits until the Objecter has the
// map that holds its change, as librados does; it returns the reply's
// data.
func (io *IOContext) poolOp(ctx context.Context, op uint32, snap uint64, name string) ([]byte, error) {
	r, err := io.conn.monRequest(ctx, func(tid uint64, fsid encoding.UUID) message.Message {
		return &messages.MPoolOp{Tid: tid, FSID: fsid, Pool: io.pool, Op: op, Snap: snap, Name: name}
	})
	if err != nil {
		return nil, err
	}
	m, ok := r.(*messages.MPoolOpReply)
	if !ok {
		return nil, fmt.Errorf("rados: pool op answered with %T", r)
	}
	if m.Result < 0 {
		return nil, fmt.Errorf("rados: pool %q op %#x: %w", io.poolName, op, osdErrno(m.Result))
	}
	if _, err := io.o.WaitForMap(ctx, m.Epoch); err != nil {
		return nil, err
	}
	return m.Data, nil
}

func (io *IOContext) poolInfo() (*osdmap.Pool, error) {
	m := io.o.Map()
	if m == nil {
		return nil, ErrNotConnected
	}
	p := m.Pool(io.pool)
	if p == nil {
		return nil, fmt.Errorf("rados: pool %q: %w", io.poolName, ErrNotFound)
	}
	return p, nil
}

// CreateSnap takes pool snapshot snapName; ErrObjectExists if the pool
// has one of that name (checked in the client's map, as librados does:
// the mons answer 0).
func (io *IOContext) CreateSnap(ctx context.Context, snapName string) error {
	if _, err := io.LookupSnap(ctx, snapName); err == nil {
		return fmt.Errorf("rados: snapshot %q of pool %q: %w", snapName, io.poolName, ErrObjectExists)
	}
	_, err := io.poolOp(ctx, messages.PoolOpCreateSnap, 0, snapName)
	return err
}

// RemoveSnap removes pool snapshot snapName (ErrNotFound if none).
func (io *IOContext) RemoveSnap(ctx context.Context, snapName string) error {
	if _, err := io.LookupSnap(ctx, snapName); err != nil {
		return err
	}
	_, err := io.poolOp(ctx, messages.PoolOpDeleteSnap, 0, snapName)
	return err
}

// LookupSnap returns pool snapshot snapName's id (ErrNotFound if none).
func (io *IOContext) LookupSnap(ctx context.Context, snapName string) (SnapID, error) {
	p, err := io.poolInfo()
	if err != nil {
		return 0, err
	}
	for id, s := range p.Snaps {
		if s.Name == snapName {
			return SnapID(id), nil
		}
	}
	return 0, fmt.Errorf("rados: snapshot %q of pool %q: %w", snapName, io.poolName, ErrNotFound)
}

func (io *IOContext) snap(id SnapID) (osdmap.PoolSnap, error) {
	p, err := io.poolInfo()
	if err != nil {
		return osdmap.PoolSnap{}, err
	}
	s, ok := p.Snaps[uint64(id)]
	if !ok {
		return osdmap.PoolSnap{}, fmt.Errorf("rados: snapshot %d of pool %q: %w", id, io.poolName, ErrNotFound)
	}
	return s, nil
}

// GetSnapName returns pool snapshot snapID's name.
func (io *IOContext) GetSnapName(ctx context.Context, snapID SnapID) (string, error) {
	s, err := io.snap(snapID)
	return s.Name, err
}

// GetSnapStamp returns when pool snapshot snapID was taken.
func (io *IOContext) GetSnapStamp(ctx context.Context, snapID SnapID) (time.Time, error) {
	s, err := io.snap(snapID)
	if err != nil {
		return time.Time{}, err
	}
	return s.Stamp.Time(), nil
}

// ListSnaps returns the pool snapshots' ids, oldest first.
func (io *IOContext) ListSnaps(ctx context.Context) ([]SnapID, error) {
	p, err := io.poolInfo()
	if err != nil {
		return nil, err
	}
	ids := make([]SnapID, 0, len(p.Snaps))
	for id := range p.Snaps {
		ids = append(ids, SnapID(id))
	}
	slices.Sort(ids)
	return ids, nil
}

// RollbackSnap sets oid's content back to what pool snapshot snapName
// holds.
func (io *IOContext) RollbackSnap(ctx context.Context, oid, snapName string) error {
	id, err := io.LookupSnap(ctx, snapName)
	if err != nil {
		return err
	}
	_, err = io.do(ctx, oid, 0, messages.NewRollbackOp(uint64(id)))
	return err
}

// SetReadSnap makes later reads read snapshot snapID (SnapHead: the live
// objects again).
func (io *IOContext) SetReadSnap(snapID SnapID) error {
	if snapID == SnapHead {
		snapID = 0
	}
	io.readSnap = uint64(snapID)
	return nil
}

// CreateSelfManagedSnap allocates a self-managed snapshot id of the pool.
// Writes preserve the data it sees once it is in their snap context
// (SetSelfManagedSnapWriteContext).
func (io *IOContext) CreateSelfManagedSnap(ctx context.Context) (SnapID, error) {
	data, err := io.poolOp(ctx, messages.PoolOpCreateUnmanagedSnap, 0, "")
	if err != nil {
		return 0, err
	}
	d := encoding.NewDecoder(data)
	id := d.U64()
	if d.Err() != nil {
		return 0, fmt.Errorf("rados: self-managed snap id: %w", d.Err())
	}
	return SnapID(id), nil
}

// RemoveSelfManagedSnap releases a self-managed snapshot id (the OSDs
// trim its data).
func (io *IOContext) RemoveSelfManagedSnap(ctx context.Context, snapID SnapID) error {
	_, err := io.poolOp(ctx, messages.PoolOpDeleteUnmanagedSnap, uint64(snapID), "")
	return err
}

// SetSelfManagedSnapWriteContext sets the snap context of later writes:
// seq, the newest snapshot id the caller knows, and the ids of the
// snapshots that exist (any order). ErrInvalidInput if seq is older than
// one of them.
func (io *IOContext) SetSelfManagedSnapWriteContext(seq SnapID, snaps []SnapID) error {
	s := make([]uint64, len(snaps))
	for i, id := range snaps {
		if id > seq {
			return fmt.Errorf("%w: snap %d newer than seq %d", ErrInvalidInput, id, seq)
		}
		s[i] = uint64(id)
	}
	slices.Sort(s)
	slices.Reverse(s) // newest first, as SnapContext
	io.snapSeq, io.snaps = uint64(seq), s
	return nil
}

// RollbackSelfManagedSnap sets oid's content back to self-managed
// snapshot snapID (with the write snap context set).
func (io *IOContext) RollbackSelfManagedSnap(ctx context.Context, oid string, snapID SnapID) error {
	_, err := io.do(ctx, oid, 0, messages.NewRollbackOp(uint64(snapID)))
	return err
}

package rados

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
)

// AllNamespaces, given to SetNamespace, makes ListObjects list every
// namespace (LIBRADOS_ALL_NSPACES).
const AllNamespaces = "\x01"

// IOContext is a pool and a namespace to operate in (go-ceph's
// rados.IOContext, librados' rados_ioctx_t). Its setters are not safe to
// call concurrently with ops; everything else is.
type IOContext struct {
	conn     *Conn
	o        *osdc.Objecter
	pool     int64
	poolName string
	ns       string
	key      string
	readSnap uint64   // SetReadSnap; 0 is the head
	snapSeq  uint64   // SetSnapContext (self-managed snapshots)
	snaps    []uint64 // newest first
	fullTry  bool     // SetPoolFullTry

	lastVersion atomic.Uint64 // of the last op's object, GetLastVersion
}

// GetPoolID returns the pool's id.
func (io *IOContext) GetPoolID() int64 { return io.pool }

// GetPoolName returns the pool's name.
func (io *IOContext) GetPoolName() string { return io.poolName }

// SetNamespace sets the namespace of later ops ("" is the default one).
func (io *IOContext) SetNamespace(ns string) { io.ns = ns }

// GetNamespace returns the namespace.
func (io *IOContext) GetNamespace() string { return io.ns }

// SetLocator makes later ops place objects by key instead of by name
// ("" places by name again).
func (io *IOContext) SetLocator(key string) { io.key = key }

// SetPoolFullTry lets later writes go to a full pool or cluster instead of
// waiting (they fail with EDQUOT or ENOSPC if the OSD cannot take them),
// as librados' FULL_TRY.
func (io *IOContext) SetPoolFullTry() error { io.fullTry = true; return nil }

// UnsetPoolFullTry undoes SetPoolFullTry.
func (io *IOContext) UnsetPoolFullTry() error { io.fullTry = false; return nil }

// GetLastVersion returns the object version the last completed op of this
// IOContext saw (for WriteOp.AssertVersion: optimistic concurrency).
func (io *IOContext) GetLastVersion() (uint64, error) { return io.lastVersion.Load(), nil }

// Destroy releases the IOContext (nothing to release; kept for go-ceph
// users).
func (io *IOContext) Destroy() {}

// req is a request of ops on oid in the IOContext's pool, namespace,
// locator and snapshot context.
func (io *IOContext) req(oid string, flags uint32, ops []messages.OSDOp) *osdc.Request {
	r := new(osdc.Request)
	io.fill(r, oid, flags, ops)
	return r
}

// oneOpRequest is a Request with room for its one op: the common single
// op request costs one allocation, not two.
type oneOpRequest struct {
	osdc.Request
	ops [1]messages.OSDOp
}

// req1 is req of one op.
func (io *IOContext) req1(oid string, flags uint32, op messages.OSDOp) *osdc.Request {
	r := new(oneOpRequest)
	io.fill1(r, oid, flags, op)
	return &r.Request
}

func (io *IOContext) fill1(r *oneOpRequest, oid string, flags uint32, op messages.OSDOp) {
	r.ops[0] = op
	io.fill(&r.Request, oid, flags, r.ops[:])
}

func (io *IOContext) fill(r *osdc.Request, oid string, flags uint32, ops []messages.OSDOp) {
	if io.fullTry {
		flags |= messages.FlagFullTry
	}
	*r = osdc.Request{
		Pool: io.pool, Namespace: io.ns, Key: io.key, Oid: oid, Ops: ops, Flags: flags,
		Snap: io.readSnap, SnapSeq: io.snapSeq, Snaps: io.snaps,
	}
}

func (io *IOContext) do(ctx context.Context, oid string, flags uint32, op messages.OSDOp) (*osdc.Result, error) {
	return io.doReq(ctx, io.req1(oid, flags, op))
}

// doReq runs r, remembers the object's version (librados keeps the last
// op's, even a failed one's) and gives a failed cmpext its own error.
func (io *IOContext) doReq(ctx context.Context, r *osdc.Request) (*osdc.Result, error) {
	if r.Oid == "" {
		return nil, fmt.Errorf("%w: empty object name", ErrInvalidInput)
	}
	res, err := io.o.Do(ctx, r)
	if res != nil {
		io.lastVersion.Store(res.Version)
	}
	if e := Errno(err); e >= messages.CmpExtMismatch {
		err = &CmpExtError{Offset: uint64(e) - messages.CmpExtMismatch, Err: err}
	}
	return res, err
}

// Write writes data at offset, extending the object (and creating it) as
// needed.
//
// The slice rule (Write, WriteFull, Append, their Async forms and
// WriteOp's data): the data is sent from the caller's slice, not copied,
// so it must not change until the op has completed: the call has
// returned (an Async one: Wait returned the op's outcome, or Done is
// closed). From then on msgr never reads the slice, whatever the outcome:
// a send of the op that may still wait unwritten in a connection (the op
// was cancelled, timed out, or moved to another OSD by a new map) gets a
// private copy of its unwritten bytes before the op completes.
func (io *IOContext) Write(ctx context.Context, oid string, data []byte, offset uint64) error {
	_, err := io.do(ctx, oid, 0, messages.NewWriteOp(offset, data))
	return err
}

// WriteFull replaces the object's content with data (the slice rule of
// Write applies).
func (io *IOContext) WriteFull(ctx context.Context, oid string, data []byte) error {
	_, err := io.do(ctx, oid, 0, messages.NewWriteFullOp(data))
	return err
}

// Append appends data to the object (the slice rule of Write applies).
func (io *IOContext) Append(ctx context.Context, oid string, data []byte) error {
	_, err := io.do(ctx, oid, 0, messages.NewAppendOp(data))
	return err
}

// Read reads up to len(data) bytes at offset into data and returns how many
// it read (0 at or past the end). ErrNotFound if there is no such object,
// also for an empty data (the OSD is asked, as librados does: callers use
// it to probe whether an object exists).
//
// The reply's data is read from the socket straight into data when it can
// be (crc mode or msgr1, 32 KiB and more: see osdc.Request.Into); else it
// arrives in a pooled receive buffer and is copied into data once. Either
// way msgr never touches data after Read returns, also when ctx ends
// first.
func (io *IOContext) Read(ctx context.Context, oid string, data []byte, offset uint64) (int, error) {
	r := io.req1(oid, 0, messages.NewReadOp(offset, uint64(len(data))))
	r.Into = data
	res, err := io.doReq(ctx, r)
	if err != nil {
		return 0, err
	}
	return readResult(res, data), nil
}

// readResult is the length of a read's data, copied into data unless it
// was read there, and gives the reply's buffer back.
func readResult(res *osdc.Result, data []byte) int {
	d := res.Ops[0].Data
	n := len(d)
	if n > 0 && (len(data) == 0 || &d[0] != &data[0]) {
		n = copy(data, d)
	}
	res.Release()
	return n
}

// deleteFlags: librados asks for per-op results on remove (as the captured
// rados rm shows), and forces deletes through a full cluster
// (OPERATION_FULL_FORCE): removing objects is how one gets out of it.
const deleteFlags = messages.FlagReturnVec | messages.FlagFullForce

// Delete removes the object. It goes through even when the cluster or
// pool is full.
func (io *IOContext) Delete(ctx context.Context, oid string) error {
	_, err := io.do(ctx, oid, deleteFlags, messages.NewDeleteOp())
	return err
}

// Truncate sets the object's size.
func (io *IOContext) Truncate(ctx context.Context, oid string, size uint64) error {
	_, err := io.do(ctx, oid, 0, messages.NewTruncateOp(size))
	return err
}

// CreateOption says whether Create fails on an existing object.
type CreateOption bool

// Create options, as go-ceph's.
const (
	CreateExclusive  CreateOption = true  // ErrObjectExists if it exists
	CreateIdempotent CreateOption = false // no error if it exists
)

// Create makes an empty object.
func (io *IOContext) Create(ctx context.Context, oid string, exclusive CreateOption) error {
	_, err := io.do(ctx, oid, 0, messages.NewCreateOp(bool(exclusive)))
	return err
}

// ObjectStat is an object's size and modification time.
type ObjectStat struct {
	Size    uint64
	ModTime time.Time
}

// Stat returns the object's size and mtime.
func (io *IOContext) Stat(ctx context.Context, oid string) (ObjectStat, error) {
	res, err := io.do(ctx, oid, 0, messages.NewStatOp())
	if err != nil {
		return ObjectStat{}, err
	}
	st, err := messages.DecodeStat(res.Ops[0].Data)
	if err != nil {
		return ObjectStat{}, fmt.Errorf("rados: stat reply: %w", err)
	}
	return ObjectStat{Size: st.Size, ModTime: st.Mtime.Time()}, nil
}

// GetXattr reads attribute name into data and returns its length.
// ErrNoData if the object has no such attribute; ERANGE (and nothing
// copied) if data is shorter than the value, as librados.
func (io *IOContext) GetXattr(ctx context.Context, oid, name string, data []byte) (int, error) {
	res, err := io.do(ctx, oid, 0, messages.NewGetXattrOp(name))
	if err != nil {
		return 0, err
	}
	v := res.Ops[0].Data
	if len(v) > len(data) {
		return 0, fmt.Errorf("rados: xattr %q of %q is %d bytes, buffer %d: %w", name, oid, len(v), len(data), syscall.ERANGE)
	}
	return copy(data, v), nil
}

// GetXattrValue returns attribute name's whole value.
func (io *IOContext) GetXattrValue(ctx context.Context, oid, name string) ([]byte, error) {
	res, err := io.do(ctx, oid, 0, messages.NewGetXattrOp(name))
	if err != nil {
		return nil, err
	}
	return res.Ops[0].Data, nil
}

// SetXattr sets attribute name to data.
func (io *IOContext) SetXattr(ctx context.Context, oid, name string, data []byte) error {
	_, err := io.do(ctx, oid, 0, messages.NewSetXattrOp(name, data))
	return err
}

// ListXattrs returns every attribute of the object.
func (io *IOContext) ListXattrs(ctx context.Context, oid string) (map[string][]byte, error) {
	res, err := io.do(ctx, oid, 0, messages.NewGetXattrsOp())
	if err != nil {
		return nil, err
	}
	d := encoding.NewDecoder(res.Ops[0].Data)
	m := messages.DecodeBufferMap(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("rados: getxattrs reply: %w", d.Err())
	}
	return m, nil
}

// RmXattr removes attribute name.
func (io *IOContext) RmXattr(ctx context.Context, oid, name string) error {
	_, err := io.do(ctx, oid, 0, messages.NewRmXattrOp(name))
	return err
}

// SetOmap sets omap pairs of the object (creating it).
func (io *IOContext) SetOmap(ctx context.Context, oid string, pairs map[string][]byte) error {
	_, err := io.do(ctx, oid, 0, messages.NewOmapSetValsOp(pairs))
	return err
}

// GetOmapValues returns up to maxReturn omap pairs after startAfter whose
// keys start with filterPrefix.
func (io *IOContext) GetOmapValues(ctx context.Context, oid, startAfter, filterPrefix string, maxReturn int64) (map[string][]byte, error) {
	kv, _, err := io.getOmapValues(ctx, oid, startAfter, filterPrefix, maxReturn)
	return kv, err
}

func (io *IOContext) getOmapValues(ctx context.Context, oid, startAfter, prefix string, max int64) (map[string][]byte, bool, error) {
	res, err := io.do(ctx, oid, 0, messages.NewOmapGetValsOp(startAfter, prefix, uint64(max)))
	if err != nil {
		return nil, false, err
	}
	kv, more, err := messages.DecodeOmapVals(res.Ops[0].Data)
	if err != nil {
		return nil, false, fmt.Errorf("rados: omap-get-vals reply: %w", err)
	}
	return kv, more, nil
}

// GetAllOmapValues returns every omap pair whose key starts with
// filterPrefix after startAfter, fetching iteratorSize pairs per op.
func (io *IOContext) GetAllOmapValues(ctx context.Context, oid, startAfter, filterPrefix string, iteratorSize int64) (map[string][]byte, error) {
	if iteratorSize <= 0 {
		iteratorSize = 512
	}
	all := map[string][]byte{}
	for {
		kv, more, err := io.getOmapValues(ctx, oid, startAfter, filterPrefix, iteratorSize)
		if err != nil {
			return nil, err
		}
		last := startAfter
		for k, v := range kv {
			all[k] = v
			if k > last {
				last = k
			}
		}
		if !more || len(kv) == 0 {
			return all, nil
		}
		startAfter = last
	}
}

// GetOmapKeys returns up to max omap keys after startAfter, and whether
// more remain.
func (io *IOContext) GetOmapKeys(ctx context.Context, oid, startAfter string, max int64) ([]string, bool, error) {
	res, err := io.do(ctx, oid, 0, messages.NewOmapGetKeysOp(startAfter, uint64(max)))
	if err != nil {
		return nil, false, err
	}
	keys, more, err := messages.DecodeOmapKeys(res.Ops[0].Data)
	if err != nil {
		return nil, false, fmt.Errorf("rados: omap-get-keys reply: %w", err)
	}
	return keys, more, nil
}

// GetOmapValuesByKeys returns the omap pairs of the given keys that exist.
func (io *IOContext) GetOmapValuesByKeys(ctx context.Context, oid string, keys []string) (map[string][]byte, error) {
	res, err := io.do(ctx, oid, 0, messages.NewOmapGetValsByKeysOp(keys))
	if err != nil {
		return nil, err
	}
	d := encoding.NewDecoder(res.Ops[0].Data)
	m := messages.DecodeBufferMap(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("rados: omap-get-vals-by-keys reply: %w", d.Err())
	}
	return m, nil
}

// RmOmapKeys removes omap keys.
func (io *IOContext) RmOmapKeys(ctx context.Context, oid string, keys []string) error {
	_, err := io.do(ctx, oid, 0, messages.NewOmapRmKeysOp(keys))
	return err
}

// CleanOmap removes every omap pair.
func (io *IOContext) CleanOmap(ctx context.Context, oid string) error {
	_, err := io.do(ctx, oid, 0, messages.NewOmapClearOp())
	return err
}

// ObjectListFunc receives one object name of a listing.
type ObjectListFunc func(oid string)

// ListObjects calls listFn with the name of every object in the namespace
// (every namespace after SetNamespace(AllNamespaces)), PG by PG.
func (io *IOContext) ListObjects(ctx context.Context, listFn ObjectListFunc) error {
	return io.o.ListObjects(ctx, io.pool, io.ns, func(e messages.ListEntry) error {
		listFn(e.Oid)
		return nil
	})
}

// ListEntries is ListObjects with each object's namespace and locator key.
func (io *IOContext) ListEntries(ctx context.Context, fn func(messages.ListEntry) error) error {
	return io.o.ListObjects(ctx, io.pool, io.ns, fn)
}

// OmapListFunc receives one omap pair of ListOmapValues.
type OmapListFunc func(key string, value []byte)

// ListOmapValues calls listFn, in key order, for up to maxReturn omap
// pairs after startAfter whose keys start with filterPrefix.
func (io *IOContext) ListOmapValues(ctx context.Context, oid, startAfter, filterPrefix string, maxReturn int64, listFn OmapListFunc) error {
	kv, err := io.GetOmapValues(ctx, oid, startAfter, filterPrefix, maxReturn)
	if err != nil {
		return err
	}
	for _, p := range sortedPairs(kv) {
		listFn(p.Key, p.Value)
	}
	return nil
}

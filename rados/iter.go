package rados

import (
	"context"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// IterToken is a listing position: the PG the listing is in
// (rados_nobjects_list_get_pg_hash_position).
type IterToken uint32

// Iter lists a pool's objects page by page (go-ceph's Iter, librados'
// rados_list_ctx_t): Next, then Value and Namespace, until Next reports
// false; Err says why it stopped.
type Iter struct {
	io      *IOContext
	cursor  messages.HObject
	epoch   uint32
	page    []messages.ListEntry
	pagePG  uint32 // the PG page came from
	current messages.ListEntry
	curPG   uint32 // current's PG
	err     error
}

// Iter starts a listing of the IOContext's namespace (every namespace
// with AllNamespaces).
func (io *IOContext) Iter(ctx context.Context) (*Iter, error) {
	m, err := io.o.WaitForMap(ctx, 0)
	if err != nil {
		return nil, err
	}
	if m.Pool(io.pool) == nil {
		return nil, ErrNotFound
	}
	return &Iter{io: io, cursor: messages.HObjectStart(), epoch: m.Epoch}, nil
}

// Next moves to the next object, fetching a page when needed; false at
// the end or on an error (see Err).
func (it *Iter) Next(ctx context.Context) bool {
	for len(it.page) == 0 {
		if it.err != nil || it.cursor.Max {
			return false
		}
		it.pagePG = it.pgOf(it.cursor.Hash)
		it.page, it.cursor, it.err = it.io.o.ListPage(ctx, it.io.pool, it.io.ns, it.cursor, it.epoch)
	}
	it.current, it.page, it.curPG = it.page[0], it.page[1:], it.pagePG
	return true
}

// Value is the current object's name.
func (it *Iter) Value() string { return it.current.Oid }

// Namespace is the current object's namespace.
func (it *Iter) Namespace() string { return it.current.Namespace }

// Err is the error that stopped the listing, if any.
func (it *Iter) Err() error { return it.err }

// Close ends the listing (nothing to release).
func (it *Iter) Close() {}

func (it *Iter) pgOf(hash uint32) uint32 {
	m := it.io.o.Map()
	if m == nil {
		return 0
	}
	p := m.Pool(it.io.pool)
	if p == nil {
		return 0
	}
	return p.RawPGToPG(osdmap.PG{Pool: it.io.pool, Seed: hash}).Seed
}

// Token returns the listing's position: the PG of the current object
// (Seek to it lists that PG again from its start). PGs come in the
// pool's hash order, not by number.
func (it *Iter) Token() IterToken { return IterToken(it.curPG) }

// Seek moves the listing to the start of PG token (rados_nobjects_list_seek).
func (it *Iter) Seek(token IterToken) {
	it.cursor = messages.HObject{Hash: uint32(token), Snap: messages.SnapHead, Pool: it.io.pool}
	it.page, it.err = nil, nil
}

package osdc

import (
	"context"
	"fmt"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// ListPageSize is how many entries one pgnls op asks for, as the rados CLI
// and librados do.
const ListPageSize = 1024

// ListObjects lists the objects of pool in namespace ns, calling fn for
// each, PG after PG as Objecter::list_nobjects does: each reply hands back
// a cursor, whose hash names the next PG to ask, until a Max cursor ends
// the pool. fn's error stops the listing and is returned.
func (o *Objecter) ListObjects(ctx context.Context, pool int64, ns string, fn func(messages.ListEntry) error) error {
	m, err := o.WaitForMap(ctx, 0)
	if err != nil {
		return err
	}
	epoch := m.Epoch
	cursor := messages.HObjectStart()
	for !cursor.Max {
		entries, next, err := o.ListPage(ctx, pool, ns, cursor, epoch)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		cursor = next
	}
	return nil
}

// ListPage asks the PG that cursor falls in for up to ListPageSize objects
// from cursor on, and returns them with the cursor to continue from (Max
// at the end of the pool). startEpoch is the map epoch the listing began
// at.
func (o *Objecter) ListPage(ctx context.Context, pool int64, ns string, cursor messages.HObject, startEpoch uint32) ([]messages.ListEntry, messages.HObject, error) {
	m, err := o.WaitForMap(ctx, 0)
	if err != nil {
		return nil, cursor, err
	}
	p := m.Pool(pool)
	if p == nil {
		return nil, cursor, errnoOf(pool, "", -2)
	}
	seed := p.RawPGToPG(osdmap.PG{Pool: pool, Seed: cursor.Hash}).Seed
	res, err := o.Do(ctx, &Request{
		Pool: pool, Namespace: ns, PG: &seed,
		Ops:   []messages.OSDOp{messages.NewPGNLSOp(ListPageSize, startEpoch, cursor)},
		Flags: messages.FlagIgnoreOverlay,
	})
	if err != nil {
		return nil, cursor, err
	}
	if len(res.Ops) != 1 {
		return nil, cursor, fmt.Errorf("osdc: pgnls reply with %d ops", len(res.Ops))
	}
	resp, err := messages.DecodePGNLSResponse(res.Ops[0].Data)
	if err != nil {
		return nil, cursor, fmt.Errorf("osdc: pgnls reply: %w", err)
	}
	next := resp.Handle
	if !next.Max && next.Hash == cursor.Hash && len(resp.Entries) == 0 && next.Oid == cursor.Oid {
		return nil, cursor, fmt.Errorf("osdc: pgnls cursor did not advance in PG %d.%x", pool, seed)
	}
	return resp.Entries, next, nil
}

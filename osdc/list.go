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
		p := o.Map().Pool(pool)
		if p == nil {
			return errnoOf(pool, "", -2)
		}
		seed := p.RawPGToPG(osdmap.PG{Pool: pool, Seed: cursor.Hash}).Seed
		res, err := o.Do(ctx, &Request{
			Pool: pool, Namespace: ns, PG: &seed,
			Ops:   []messages.OSDOp{messages.NewPGNLSOp(ListPageSize, epoch, cursor)},
			Flags: messages.FlagIgnoreOverlay,
		})
		if err != nil {
			return err
		}
		if len(res.Ops) != 1 {
			return fmt.Errorf("osdc: pgnls reply with %d ops", len(res.Ops))
		}
		resp, err := messages.DecodePGNLSResponse(res.Ops[0].Data)
		if err != nil {
			return fmt.Errorf("osdc: pgnls reply: %w", err)
		}
		for _, e := range resp.Entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		next := resp.Handle
		if !next.Max && next.Hash == cursor.Hash && len(resp.Entries) == 0 && next.Oid == cursor.Oid {
			return fmt.Errorf("osdc: pgnls cursor did not advance in PG %d.%x", pool, seed)
		}
		cursor = next
	}
	return nil
}

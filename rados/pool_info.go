package rados

import (
	"context"

	"github.com/gomsgr/msgr/osdmap"
)

// poolFlagECOverwrites is pg_pool_t::FLAG_EC_OVERWRITES.
const poolFlagECOverwrites = 1 << 2

// Alignment returns the pool's required write alignment (its stripe
// width; 0 for replicated pools), as rados_ioctx_pool_required_alignment2.
func (io *IOContext) Alignment(ctx context.Context) (uint64, error) {
	p, err := io.poolInfo()
	if err != nil {
		return 0, err
	}
	return uint64(p.StripeWidth), nil
}

// RequiresAlignment reports whether appends must be aligned (an erasure
// pool without overwrites), as rados_ioctx_pool_requires_alignment2.
func (io *IOContext) RequiresAlignment(ctx context.Context) (bool, error) {
	p, err := io.poolInfo()
	if err != nil {
		return false, err
	}
	return p.Type == osdmap.PoolTypeErasure && p.Flags&poolFlagECOverwrites == 0, nil
}

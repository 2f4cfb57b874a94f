package rados

import (
	"context"
	"fmt"

	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
)

// OperationFlags modify a compound op (LIBRADOS_OPERATION_*, go-ceph's
// values).
type OperationFlags uint32

// Operation flags.
const (
	OperationNoFlag           OperationFlags = 0
	OperationBalanceReads     OperationFlags = 1
	OperationLocalizeReads    OperationFlags = 2
	OperationOrderReadsWrites OperationFlags = 4
	OperationIgnoreCache      OperationFlags = 8
	OperationSkipRWLocks      OperationFlags = 16
	OperationIgnoreOverlay    OperationFlags = 32
	OperationFullTry          OperationFlags = 64
	OperationFullForce        OperationFlags = 128
	OperationIgnoreRedirect   OperationFlags = 256
	OperationOrderSnap        OperationFlags = 512
)

// flagSkipRWLocks is CEPH_OSD_FLAG_SKIPRWLOCKS.
const flagSkipRWLocks uint32 = 0x10000

// osdFlags maps librados' operation flags to the MOSDOp's, as
// IoCtxImpl's translate_flags does.
func (f OperationFlags) osdFlags() uint32 {
	var out uint32
	for _, m := range []struct {
		in  OperationFlags
		out uint32
	}{
		{OperationBalanceReads, messages.FlagBalanceReads},
		{OperationLocalizeReads, messages.FlagLocalizeReads},
		{OperationOrderReadsWrites, messages.FlagRWOrdered},
		{OperationIgnoreCache, messages.FlagIgnoreCache},
		{OperationSkipRWLocks, flagSkipRWLocks},
		{OperationIgnoreOverlay, messages.FlagIgnoreOverlay},
		{OperationFullTry, messages.FlagFullTry},
		{OperationFullForce, messages.FlagFullForce},
		{OperationIgnoreRedirect, messages.FlagIgnoreRedirect},
		{OperationOrderSnap, messages.FlagOrderSnap},
	} {
		if f&m.in != 0 {
			out |= m.out
		}
	}
	return out
}

// operation is what WriteOp and ReadOp share: the ops in order and, for
// the ones whose outcome the caller asked for, a step that reads it from
// the reply.
type operation struct {
	ops   []messages.OSDOp
	steps []step
	err   error // the first op that could not be built
}

// step hands op i's reply (result and output) to the caller's value.
type step struct {
	i      int
	update func(op *messages.OSDOp) error
}

func (o *operation) add(op messages.OSDOp) int {
	o.ops = append(o.ops, op)
	return len(o.ops) - 1
}

func (o *operation) addStep(op messages.OSDOp, update func(*messages.OSDOp) error) {
	o.steps = append(o.steps, step{i: o.add(op), update: update})
}

// operate runs the ops as one request and updates the steps from the
// reply, also when the OSD failed the request (each op's result is in the
// reply; the ops after the failing one have none).
func (o *operation) operate(ctx context.Context, io *IOContext, oid string, flags uint32, r *osdc.Request) error {
	if o.err != nil {
		return o.err
	}
	if len(o.ops) == 0 {
		return fmt.Errorf("%w: empty operation", ErrInvalidInput)
	}
	if r == nil {
		r = io.req(oid, flags, o.ops)
	}
	res, err := io.doReq(ctx, r)
	if res == nil {
		return err
	}
	for _, s := range o.steps {
		if s.i >= len(res.Ops) {
			continue
		}
		if uerr := s.update(&res.Ops[s.i]); uerr != nil && err == nil {
			err = uerr
		}
	}
	return err
}

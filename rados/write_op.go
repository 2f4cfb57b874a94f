package rados

import (
	"context"
	"fmt"
	"time"

	"github.com/gomsgr/msgr/messages"
)

// WriteOp is a compound write (go-ceph's WriteOp, librados'
// rados_write_op_t): ops added in order and applied atomically by the OSD
// with Operate. Not safe for concurrent use while being built.
type WriteOp struct {
	operation
}

// CreateWriteOp returns an empty WriteOp.
func CreateWriteOp() *WriteOp { return &WriteOp{} }

// Release does nothing (nothing to free without cgo); kept for go-ceph
// users.
func (w *WriteOp) Release() {}

// Create creates the object (ErrObjectExists with CreateExclusive if it
// exists).
func (w *WriteOp) Create(exclusive CreateOption) { w.add(messages.NewCreateOp(bool(exclusive))) }

// Write writes b at offset.
func (w *WriteOp) Write(b []byte, offset uint64) { w.add(messages.NewWriteOp(offset, b)) }

// WriteFull replaces the object's content with b.
func (w *WriteOp) WriteFull(b []byte) { w.add(messages.NewWriteFullOp(b)) }

// WriteSame writes b repeatedly over writeLen bytes at offset (writeLen a
// multiple of len(b), else the OSD fails the op with EINVAL).
func (w *WriteOp) WriteSame(b []byte, writeLen, offset uint64) {
	w.add(messages.NewWriteSameOp(offset, writeLen, b))
}

// Append appends b.
func (w *WriteOp) Append(b []byte) { w.add(messages.NewAppendOp(b)) }

// Truncate sets the object's size.
func (w *WriteOp) Truncate(size uint64) { w.add(messages.NewTruncateOp(size)) }

// Zero zeroes length bytes at offset.
func (w *WriteOp) Zero(offset, length uint64) { w.add(messages.NewZeroOp(offset, length)) }

// Remove deletes the object.
func (w *WriteOp) Remove() { w.add(messages.NewDeleteOp()) }

// SetXattr sets attribute name.
func (w *WriteOp) SetXattr(name string, value []byte) { w.add(messages.NewSetXattrOp(name, value)) }

// RmXattr removes attribute name.
func (w *WriteOp) RmXattr(name string) { w.add(messages.NewRmXattrOp(name)) }

// SetOmap sets omap pairs.
func (w *WriteOp) SetOmap(pairs map[string][]byte) { w.add(messages.NewOmapSetValsOp(pairs)) }

// RmOmapKeys removes omap keys.
func (w *WriteOp) RmOmapKeys(keys []string) { w.add(messages.NewOmapRmKeysOp(keys)) }

// CleanOmap removes every omap pair.
func (w *WriteOp) CleanOmap() { w.add(messages.NewOmapClearOp()) }

// AssertExists fails the op with ErrNotFound if the object does not exist.
func (w *WriteOp) AssertExists() { w.add(messages.NewAssertExistsOp()) }

// AssertVersion fails the op unless the object's version is ver (see
// IOContext.GetLastVersion): ERANGE if the object is newer, EOVERFLOW if
// older.
func (w *WriteOp) AssertVersion(ver uint64) { w.add(messages.NewAssertVersionOp(ver)) }

// SetAllocationHint hints the object's expected size and write size.
func (w *WriteOp) SetAllocationHint(expectedObjectSize, expectedWriteSize uint64, flags AllocHintFlags) {
	w.add(messages.NewSetAllocHintOp(expectedObjectSize, expectedWriteSize, uint32(flags)))
}

// WriteOpCmpExtStep is the outcome of a CmpExt, after Operate: Result is
// 0 when the bytes matched, else -(4095 + offset of the first mismatch),
// and the whole op failed (with ECANCELED as the errno).
type WriteOpCmpExtStep struct {
	Result int
}

// CmpExt compares the object's bytes at offset with b; the op fails
// unless they match.
func (w *WriteOp) CmpExt(b []byte, offset uint64) *WriteOpCmpExtStep {
	s := &WriteOpCmpExtStep{}
	w.addStep(messages.NewCmpExtOp(offset, b), func(op *messages.OSDOp) error {
		s.Result = int(op.Rval)
		return nil
	})
	return s
}

// Exec runs method of object class cls with input in, as part of the
// write (its output is dropped, as librados' write-op exec does).
func (w *WriteOp) Exec(cls, method string, in []byte) {
	op, err := messages.NewCallOp(cls, method, in)
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	w.add(op)
}

// Operate applies the ops to object oid, stamped with the current time.
func (w *WriteOp) Operate(ctx context.Context, io *IOContext, oid string, flags OperationFlags) error {
	return w.OperateWithMtime(ctx, io, oid, time.Time{}, flags)
}

// OperateWithMtime is Operate with the object's mtime set to mtime (zero:
// now).
func (w *WriteOp) OperateWithMtime(ctx context.Context, io *IOContext, oid string, mtime time.Time, flags OperationFlags) error {
	if io == nil {
		return fmt.Errorf("%w: nil IOContext", ErrInvalidInput)
	}
	// FlagWrite: a write op may hold only class calls, whose code says
	// read. ReturnVec: per-op results (cmpext) even on success.
	r := io.req(oid, flags.osdFlags()|messages.FlagWrite|messages.FlagReturnVec, w.ops)
	r.Mtime = mtime
	return w.operate(ctx, io, oid, 0, r)
}

// AllocHintFlags are SetAllocationHint's flags (LIBRADOS_ALLOC_HINT_FLAG_*).
type AllocHintFlags uint32

// Allocation hint flags.
const (
	AllocHintNoHint          AllocHintFlags = 0
	AllocHintSequentialWrite AllocHintFlags = 1
	AllocHintRandomWrite     AllocHintFlags = 2
	AllocHintSequentialRead  AllocHintFlags = 4
	AllocHintRandomRead      AllocHintFlags = 8
	AllocHintAppendOnly      AllocHintFlags = 16
	AllocHintImmutable       AllocHintFlags = 32
	AllocHintShortlived      AllocHintFlags = 64
	AllocHintLonglived       AllocHintFlags = 128
	AllocHintCompressible    AllocHintFlags = 256
	AllocHintIncompressible  AllocHintFlags = 512
)

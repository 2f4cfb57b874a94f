package rados

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
)

// ReadOp is a compound read (go-ceph's ReadOp, librados'
// rados_read_op_t): ops run in order on one object by one request; each
// adding method returns a step that holds its outcome after Operate. Not
// safe for concurrent use while being built.
type ReadOp struct {
	operation
}

// CreateReadOp returns an empty ReadOp.
func CreateReadOp() *ReadOp { return &ReadOp{} }

// Release does nothing (nothing to free without cgo); kept for go-ceph
// users.
func (r *ReadOp) Release() {}

// AssertExists fails the op with ErrNotFound if the object does not exist.
func (r *ReadOp) AssertExists() { r.add(messages.NewAssertExistsOp()) }

// AssertVersion fails the op unless the object's version is ver.
func (r *ReadOp) AssertVersion(ver uint64) { r.add(messages.NewAssertVersionOp(ver)) }

// ReadOpReadStep is a Read's outcome: the bytes read into the buffer.
type ReadOpReadStep struct {
	BytesRead int64
	Result    int
}

// Read reads len(buffer) bytes at offset into buffer.
func (r *ReadOp) Read(offset uint64, buffer []byte) *ReadOpReadStep {
	s := &ReadOpReadStep{}
	r.addStep(messages.NewReadOp(offset, uint64(len(buffer))), func(op *messages.OSDOp) error {
		s.Result = int(op.Rval)
		s.BytesRead = int64(copy(buffer, op.Data))
		return nil
	})
	return s
}

// ReadOpStatStep is a Stat's outcome.
type ReadOpStatStep struct {
	Stat ObjectStat
}

// Stat reads the object's size and mtime.
func (r *ReadOp) Stat() *ReadOpStatStep {
	s := &ReadOpStatStep{}
	r.addStep(messages.NewStatOp(), func(op *messages.OSDOp) error {
		if op.Rval < 0 {
			return nil
		}
		st, err := messages.DecodeStat(op.Data)
		if err != nil {
			return fmt.Errorf("rados: stat reply: %w", err)
		}
		s.Stat = ObjectStat{Size: st.Size, ModTime: st.Mtime.Time()}
		return nil
	})
	return s
}

// CmpExt compares the object's bytes at offset with b; the op fails
// unless they match (the step's Result says where they differ).
func (r *ReadOp) CmpExt(b []byte, offset uint64) *WriteOpCmpExtStep {
	s := &WriteOpCmpExtStep{}
	r.addStep(messages.NewCmpExtOp(offset, b), func(op *messages.OSDOp) error {
		s.Result = int(op.Rval)
		return nil
	})
	return s
}

// OmapKeyValue is one omap pair of a step's output.
type OmapKeyValue struct {
	Key   string
	Value []byte
}

// GetOmapStep is a GetOmapValues' outcome: Next gives the pairs in key
// order, More whether the object has more after them.
type GetOmapStep struct {
	pairs []OmapKeyValue
	more  bool
	next  int
	done  bool
}

// Next returns the next pair, or nil after the last;
// ErrOperationIncomplete before the op ran.
func (s *GetOmapStep) Next() (*OmapKeyValue, error) {
	if !s.done {
		return nil, ErrOperationIncomplete
	}
	if s.next >= len(s.pairs) {
		return nil, nil
	}
	s.next++
	return &s.pairs[s.next-1], nil
}

// More reports whether pairs remain after the ones returned (another
// GetOmapValues from the last key gets them).
func (s *GetOmapStep) More() bool { return s.more }

func sortedPairs(kv map[string][]byte) []OmapKeyValue {
	out := make([]OmapKeyValue, 0, len(kv))
	for k, v := range kv {
		out = append(out, OmapKeyValue{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b OmapKeyValue) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out
}

// GetOmapValues reads up to maxReturn pairs after startAfter whose keys
// start with filterPrefix.
func (r *ReadOp) GetOmapValues(startAfter, filterPrefix string, maxReturn uint64) *GetOmapStep {
	s := &GetOmapStep{}
	r.addStep(messages.NewOmapGetValsOp(startAfter, filterPrefix, maxReturn), func(op *messages.OSDOp) error {
		s.done = true
		if op.Rval < 0 {
			return nil
		}
		kv, more, err := messages.DecodeOmapVals(op.Data)
		if err != nil {
			return fmt.Errorf("rados: omap-get-vals reply: %w", err)
		}
		s.pairs, s.more = sortedPairs(kv), more
		return nil
	})
	return s
}

// ReadOpOmapGetValsByKeysStep is a GetOmapValuesByKeys' outcome.
type ReadOpOmapGetValsByKeysStep struct {
	GetOmapStep
}

// GetOmapValuesByKeys reads the named pairs that exist.
func (r *ReadOp) GetOmapValuesByKeys(keys []string) *ReadOpOmapGetValsByKeysStep {
	s := &ReadOpOmapGetValsByKeysStep{}
	r.addStep(messages.NewOmapGetValsByKeysOp(keys), func(op *messages.OSDOp) error {
		s.done = true
		if op.Rval < 0 {
			return nil
		}
		d := encoding.NewDecoder(op.Data)
		kv := messages.DecodeBufferMap(d)
		if d.Err() != nil {
			return fmt.Errorf("rados: omap-get-vals-by-keys reply: %w", d.Err())
		}
		s.pairs = sortedPairs(kv)
		return nil
	})
	return s
}

// ReadOpExecStep is an Exec's outcome: the method's output.
type ReadOpExecStep struct {
	out    []byte
	result int32
	done   bool
}

// Bytes returns the method's output, or its error.
func (s *ReadOpExecStep) Bytes() ([]byte, error) {
	if !s.done {
		return nil, ErrOperationIncomplete
	}
	if s.result < 0 {
		return nil, osdErrno(s.result)
	}
	return s.out, nil
}

// Exec runs method of object class cls with input in (a method that only
// reads; use WriteOp.Exec for one that writes).
func (r *ReadOp) Exec(cls, method string, in []byte) *ReadOpExecStep {
	s := &ReadOpExecStep{}
	op, err := messages.NewCallOp(cls, method, in)
	if err != nil {
		if r.err == nil {
			r.err = err
		}
		return s
	}
	r.addStep(op, func(op *messages.OSDOp) error {
		s.out, s.result, s.done = op.Data, op.Rval, true
		return nil
	})
	return s
}

// Operate runs the ops on object oid.
func (r *ReadOp) Operate(ctx context.Context, io *IOContext, oid string, flags OperationFlags) error {
	if io == nil {
		return fmt.Errorf("%w: nil IOContext", ErrInvalidInput)
	}
	return r.operate(ctx, io, oid, flags.osdFlags(), nil)
}

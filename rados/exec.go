package rados

import "context"

// Exec runs method of object class cls on oid with input in and returns
// its output (librados' rados_exec). The OSD knows from the class whether
// the method writes.
func (io *IOContext) Exec(ctx context.Context, oid, cls, method string, in []byte) ([]byte, error) {
	r := CreateReadOp()
	s := r.Exec(cls, method, in)
	if err := r.Operate(ctx, io, oid, OperationNoFlag); err != nil {
		return nil, err
	}
	return s.Bytes()
}

package rados

import (
	"context"
	"fmt"
	"syscall"

	"github.com/gomsgr/msgr/messages"
)

// ChecksumType is a checksum algorithm of IOContext.Checksum
// (LIBRADOS_CHECKSUM_TYPE_*).
type ChecksumType uint32

// Checksum types.
const (
	ChecksumTypeXXHash32 ChecksumType = 0
	ChecksumTypeXXHash64 ChecksumType = 1
	ChecksumTypeCRC32C   ChecksumType = 2
)

// ChecksumOptions are Checksum's extent (Len 0: to the end), chunk size
// (0: one checksum for the whole extent) and seed (zeros when nil; 4
// bytes, 8 for xxhash64).
type ChecksumOptions struct {
	Off       uint64
	Len       uint64
	ChunkSize uint64
	InitValue []byte
}

// Checksum has the OSD checksum part of oid and writes the result to dst
// as librados does: a little-endian u32 count, then the values (4 bytes
// each, 8 for xxhash64). ERANGE if dst is too short.
func (io *IOContext) Checksum(ctx context.Context, oid string, checksumType ChecksumType, dst []byte, opts *ChecksumOptions) error {
	if opts == nil {
		opts = &ChecksumOptions{}
	}
	init := opts.InitValue
	if init == nil {
		init = make([]byte, 4)
		if checksumType == ChecksumTypeXXHash64 {
			init = make([]byte, 8)
		}
	}
	if checksumType > ChecksumTypeCRC32C || opts.ChunkSize > 1<<32-1 {
		return fmt.Errorf("%w: checksum type %d, chunk size %d", ErrInvalidInput, checksumType, opts.ChunkSize)
	}
	res, err := io.do(ctx, oid, 0, messages.NewChecksumOp(uint8(checksumType), opts.Off, opts.Len, uint32(opts.ChunkSize), init))
	if err != nil {
		return err
	}
	out := res.Ops[0].Data
	if len(out) > len(dst) {
		return fmt.Errorf("rados: checksum of %q is %d bytes, buffer %d: %w", oid, len(out), len(dst), syscall.ERANGE)
	}
	copy(dst, out)
	return nil
}

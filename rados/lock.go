package rados

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomsgr/msgr/encoding"
)

// Advisory locks on objects: the OSD's "lock" object class (src/cls/lock),
// driven as librados' rados_lock_* do, with go-ceph's signatures. A lock
// is held by a (client, cookie) pair; several holders share a shared lock.

// cls_lock's lock types (ClsLockType) and flags.
const (
	lockExclusive uint8 = 1
	lockShared    uint8 = 2

	// LockFlagRenew renews a lock the caller already holds instead of
	// failing (LOCK_FLAG_RENEW).
	LockFlagRenew byte = 0x1
)

// appendUTimeDuration appends d as a utime_t (seconds, nanoseconds).
func appendUTimeDuration(b []byte, d time.Duration) []byte {
	b = encoding.AppendU32(b, uint32(d/time.Second))
	return encoding.AppendU32(b, uint32(d%time.Second))
}

// appendLockOp encodes a cls_lock_lock_op.
func appendLockOp(b []byte, name string, typ uint8, cookie, tag, desc string, d time.Duration, flags uint8) []byte {
	b, st := encoding.StructStart(b, 1, 1)
	b = encoding.AppendString(b, name)
	b = append(b, typ)
	b = encoding.AppendString(b, cookie)
	b = encoding.AppendString(b, tag)
	b = encoding.AppendString(b, desc)
	b = appendUTimeDuration(b, d)
	b = append(b, flags)
	return encoding.StructEnd(b, st)
}

func (io *IOContext) lock(ctx context.Context, oid, name string, typ uint8, cookie, tag, desc string, d time.Duration, flags *byte) (int, error) {
	var f uint8
	if flags != nil {
		f = *flags
	}
	w := CreateWriteOp()
	w.Exec("lock", "lock", appendLockOp(nil, name, typ, cookie, tag, desc, d, f))
	err := w.Operate(ctx, io, oid, OperationNoFlag)
	// go-ceph returns these two as codes, not errors: the lock is held
	// by another (EBUSY), or by us already (EEXIST).
	if errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.EEXIST) {
		return ErrorCode(err), nil
	}
	return ErrorCode(err), err
}

// LockExclusive takes the exclusive lock name on oid for (this client,
// cookie), creating the object if needed. It returns 0, or -EBUSY (held
// by another) or -EEXIST (held by us; renew with LockFlagRenew) with a nil
// error. A zero duration never expires.
func (io *IOContext) LockExclusive(ctx context.Context, oid, name, cookie, desc string, duration time.Duration, flags *byte) (int, error) {
	return io.lock(ctx, oid, name, lockExclusive, cookie, "", desc, duration, flags)
}

// LockShared takes lock name on oid shared with other holders using the
// same tag. Results as LockExclusive.
func (io *IOContext) LockShared(ctx context.Context, oid, name, cookie, tag, desc string, duration time.Duration, flags *byte) (int, error) {
	return io.lock(ctx, oid, name, lockShared, cookie, tag, desc, duration, flags)
}

// Unlock releases lock name held by (this client, cookie): 0, or -ENOENT
// with a nil error if it was not held.
func (io *IOContext) Unlock(ctx context.Context, oid, name, cookie string) (int, error) {
	b, st := encoding.StructStart(nil, 1, 1)
	b = encoding.AppendString(b, name)
	b = encoding.AppendString(b, cookie)
	b = encoding.StructEnd(b, st)
	w := CreateWriteOp()
	w.Exec("lock", "unlock", b)
	err := w.Operate(ctx, io, oid, OperationNoFlag)
	if errors.Is(err, syscall.ENOENT) {
		return ErrorCode(err), nil
	}
	return ErrorCode(err), err
}

// parseEntityName reads "client.4123".
func parseEntityName(s string) (encoding.EntityName, error) {
	typ, num, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 {
		return encoding.EntityName{}, fmt.Errorf("%w: entity name %q", ErrInvalidInput, s)
	}
	for _, t := range []uint8{encoding.EntityTypeMon, encoding.EntityTypeMDS, encoding.EntityTypeOSD, encoding.EntityTypeClient, encoding.EntityTypeMgr} {
		if encoding.EntityTypeName(t) == typ {
			return encoding.EntityName{Type: t, Num: n}, nil
		}
	}
	return encoding.EntityName{}, fmt.Errorf("%w: entity type in %q", ErrInvalidInput, s)
}

// BreakLock removes client's (e.g. "client.4123") hold of lock name with
// cookie: 0, or -ENOENT (no such holder) or -EINVAL (a malformed client)
// with a nil error, as go-ceph.
func (io *IOContext) BreakLock(ctx context.Context, oid, name, client, cookie string) (int, error) {
	who, err := parseEntityName(client)
	if err != nil {
		return -int(syscall.EINVAL), nil
	}
	b, st := encoding.StructStart(nil, 1, 1)
	b = encoding.AppendString(b, name)
	b = encoding.AppendEntityName(b, who)
	b = encoding.AppendString(b, cookie)
	b = encoding.StructEnd(b, st)
	w := CreateWriteOp()
	w.Exec("lock", "break_lock", b)
	err = w.Operate(ctx, io, oid, OperationNoFlag)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EINVAL) {
		return ErrorCode(err), nil
	}
	return ErrorCode(err), err
}

// LockInfo is lock name's state: its holders (client, cookie and address
// in matching positions), whether it is exclusive, and its tag.
type LockInfo struct {
	NumLockers int
	Exclusive  bool
	Tag        string
	Clients    []string
	Cookies    []string
	Addrs      []string
}

// ListLockers returns lock name's holders on oid.
func (io *IOContext) ListLockers(ctx context.Context, oid, name string) (*LockInfo, error) {
	b, st := encoding.StructStart(nil, 1, 1)
	b = encoding.AppendString(b, name)
	b = encoding.StructEnd(b, st)
	r := CreateReadOp()
	s := r.Exec("lock", "get_info", b)
	if err := r.Operate(ctx, io, oid, OperationNoFlag); err != nil {
		return nil, err
	}
	out, err := s.Bytes()
	if err != nil {
		return nil, err
	}
	return decodeLockInfo(out)
}

// lockerMinSize: an empty locker_id_t and locker_info_t (struct headers,
// entity name, empty strings, utime, the smallest address).
const lockerMinSize = 6 + 9 + 4 + 6 + 8 + 1 + 4

// decodeLockInfo reads a cls_lock_get_info_reply.
func decodeLockInfo(p []byte) (*LockInfo, error) {
	d := encoding.NewDecoder(p)
	st := d.StructStart("cls_lock_get_info_reply", 1)
	n := d.Len(lockerMinSize)
	li := &LockInfo{}
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.StructStart("locker_id_t", 1)
		who := d.EntityName()
		cookie := d.String()
		d.StructEnd(id)
		info := d.StructStart("locker_info_t", 1)
		d.UTime() // expiration
		addr := d.EntityAddr()
		_ = d.String() // description
		d.StructEnd(info)
		li.Clients = append(li.Clients, who.String())
		li.Cookies = append(li.Cookies, cookie)
		li.Addrs = append(li.Addrs, cephAddrString(addr))
	}
	typ := d.U8()
	li.Tag = d.String()
	d.StructEnd(st)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("rados: lock info reply: %w", err)
	}
	li.NumLockers = len(li.Clients)
	li.Exclusive = typ == lockExclusive
	return li, nil
}

// cephAddrString formats an address as Ceph's operator<< does: no type
// prefix for a legacy (msgr1) address.
func cephAddrString(a encoding.EntityAddr) string {
	s := a.String()
	if a.Type == encoding.AddrTypeLegacy {
		s = strings.TrimPrefix(s, "v1:")
	}
	return s
}

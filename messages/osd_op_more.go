package messages

import (
	"fmt"

	"github.com/gomsgr/msgr/encoding"
)

// Op constructors beyond plain data, attributes and omap: assertions,
// class calls, hints, snapshots and watch/notify, as Objecter's
// ObjectOperation builds them (the argument layouts are ceph_osd_op's
// union in src/include/rados.h).

// NewAssertExistsOp fails the compound op with ENOENT if the object does
// not exist (librados' assert_exists is a stat whose output is dropped).
func NewAssertExistsOp() OSDOp { return OSDOp{Op: OpStat} }

// NewAssertVersionOp fails the compound op unless the object's version is
// ver: ERANGE if it is newer, EOVERFLOW if older.
func NewAssertVersionOp(ver uint64) OSDOp {
	o := OSDOp{Op: OpAssertVer}
	put64(o.Args[8:], ver) // assert_ver { unused; ver }
	return o
}

// CmpExtMismatch is the base of a failed cmpext's result: the op returns
// -(CmpExtMismatch + offset of the first differing byte) (MAX_ERRNO).
const CmpExtMismatch = 4095

// NewCmpExtOp compares the object's bytes at off with data.
func NewCmpExtOp(off uint64, data []byte) OSDOp {
	return extentOp(OpCmpExt, off, uint64(len(data)), data)
}

// NewWriteSameOp writes data repeatedly over writeLen bytes at off
// (writeLen a multiple of len(data)).
func NewWriteSameOp(off, writeLen uint64, data []byte) OSDOp {
	o := OSDOp{Op: OpWriteSame, Data: data}
	put64(o.Args[0:], off)
	put64(o.Args[8:], writeLen)
	put64(o.Args[16:], uint64(len(data)))
	return o
}

// NewSetAllocHintOp hints the object's expected size and write size
// (flags: the ALLOC_HINT_FLAG_* bits).
func NewSetAllocHintOp(objectSize, writeSize uint64, flags uint32) OSDOp {
	o := OSDOp{Op: OpSetAllocHint}
	put64(o.Args[0:], objectSize)
	put64(o.Args[8:], writeSize)
	put32(o.Args[16:], flags)
	return o
}

// Class and method names are one byte long each on the wire.
const maxClassName = 255

// NewCallOp runs method of object class cls with input in. Its code says
// read whatever the method does: a caller whose method writes marks the
// request a write (Ceph's Objecter does the same).
func NewCallOp(cls, method string, in []byte) (OSDOp, error) {
	if len(cls) > maxClassName || len(method) > maxClassName {
		return OSDOp{}, fmt.Errorf("%w: class %d bytes, method %d bytes (255 at most)", encoding.ErrTooLarge, len(cls), len(method))
	}
	o := OSDOp{Op: OpCall}
	o.Args[0] = byte(len(cls))
	o.Args[1] = byte(len(method))
	put32(o.Args[3:], uint32(len(in)))
	o.Data = make([]byte, 0, len(cls)+len(method)+len(in))
	o.Data = append(append(append(o.Data, cls...), method...), in...)
	return o, nil
}

// NewRollbackOp rolls the object back to pool snapshot snap.
func NewRollbackOp(snap uint64) OSDOp {
	o := OSDOp{Op: OpRollback}
	put64(o.Args[0:], snap)
	return o
}

// Watch sub-ops (CEPH_OSD_WATCH_OP_*): odd numbers, so that pre-Giant OSDs
// never read one as UNWATCH.
const (
	WatchOpUnwatch   uint8 = 0
	WatchOpWatch     uint8 = 3
	WatchOpReconnect uint8 = 5
	WatchOpPing      uint8 = 7
)

// NewWatchOp registers (WatchOpWatch), re-registers after a reconnect
// (WatchOpReconnect), pings or removes the watch cookie on the object.
// gen is the registration generation; timeout the seconds the OSD keeps
// a disconnected watch (0: osd_client_watch_timeout).
func NewWatchOp(cookie uint64, op uint8, gen, timeout uint32) OSDOp {
	o := OSDOp{Op: OpWatch}
	put64(o.Args[0:], cookie)
	// Args[8:16] is ver, unused
	o.Args[16] = op
	put32(o.Args[17:], gen)
	put32(o.Args[21:], timeout)
	return o
}

// WatchCookie is a watch op's cookie.
func (o *OSDOp) WatchCookie() uint64 { return le64(o.Args[0:]) }

// WatchOp is a watch op's sub-op (WatchOp*).
func (o *OSDOp) WatchOp() uint8 { return o.Args[16] }

// NewNotifyOp notifies the object's watchers with payload; the OSD waits
// timeout seconds for their acks and then sends the notifier (cookie) a
// NOTIFY_COMPLETE MWatchNotify. The op's output is the notify id.
func NewNotifyOp(cookie uint64, timeout uint32, payload []byte) OSDOp {
	o := OSDOp{Op: OpNotify}
	put64(o.Args[0:], cookie)
	b := encoding.AppendU32(nil, 1) // prot_ver
	b = encoding.AppendU32(b, timeout)
	o.Data = encoding.AppendBytes(b, payload)
	return o
}

// NewNotifyAckOp acknowledges notify notifyID received on watch cookie,
// with a reply for the notifier.
func NewNotifyAckOp(notifyID, cookie uint64, reply []byte) OSDOp {
	b := encoding.AppendU64(nil, notifyID)
	b = encoding.AppendU64(b, cookie)
	return OSDOp{Op: OpNotifyAck, Data: encoding.AppendBytes(b, reply)}
}

// NotifyAck is one watcher's reply to a notify; NotifyTimeout a watcher
// that did not reply in time.
type NotifyAck struct {
	NotifierID uint64 // the watcher's client id (gid)
	Cookie     uint64 // its watch cookie
	Response   []byte
}

// NotifyTimeout names a watcher that did not acknowledge in time.
type NotifyTimeout struct {
	NotifierID uint64
	Cookie     uint64
}

// notifyAckMinSize: gid, cookie and an empty bufferlist.
const notifyAckMinSize = 20

// DecodeNotifyResult reads a NOTIFY_COMPLETE's data: a
// map<pair<gid,cookie>, bufferlist> of replies, then the list of
// pair<gid,cookie> that timed out.
func DecodeNotifyResult(p []byte) ([]NotifyAck, []NotifyTimeout, error) {
	d := encoding.NewDecoder(p)
	n := d.Len(notifyAckMinSize)
	var acks []NotifyAck
	for i := 0; i < n && d.Err() == nil; i++ {
		a := NotifyAck{NotifierID: d.U64(), Cookie: d.U64()}
		a.Response = d.Blob()
		acks = append(acks, a)
	}
	var missed []NotifyTimeout
	n = d.Len(16)
	for i := 0; i < n && d.Err() == nil; i++ {
		missed = append(missed, NotifyTimeout{NotifierID: d.U64(), Cookie: d.U64()})
	}
	if err := d.Err(); err != nil {
		return nil, nil, fmt.Errorf("notify result: %w", err)
	}
	return acks, missed, nil
}

// AppendNotifyResult appends a NOTIFY_COMPLETE's data (for tests and
// servers).
func AppendNotifyResult(b []byte, acks []NotifyAck, missed []NotifyTimeout) []byte {
	b = encoding.AppendU32(b, uint32(len(acks)))
	for _, a := range acks {
		b = encoding.AppendU64(b, a.NotifierID)
		b = encoding.AppendU64(b, a.Cookie)
		b = encoding.AppendBytes(b, a.Response)
	}
	b = encoding.AppendU32(b, uint32(len(missed)))
	for _, m := range missed {
		b = encoding.AppendU64(b, m.NotifierID)
		b = encoding.AppendU64(b, m.Cookie)
	}
	return b
}

// NewChecksumOp checksums length bytes at off (0: to the end) in chunks
// of chunkSize (0: one), of checksum type typ (CEPH_OSD_CHECKSUM_OP_TYPE_*:
// 0 xxhash32, 1 xxhash64, 2 crc32c) seeded with init. The output is a
// u32 count and the values.
func NewChecksumOp(typ uint8, off, length uint64, chunkSize uint32, init []byte) OSDOp {
	o := OSDOp{Op: OpChecksum, Data: init}
	put64(o.Args[0:], off)
	put64(o.Args[8:], length)
	put32(o.Args[16:], chunkSize)
	o.Args[20] = typ
	return o
}

package cluster

import (
	"strings"
	"time"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
)

// Object classes (CEPH_OSD_OP_CALL): the "lock" class (src/cls/lock), which
// librados' rados_lock_* and the rados CLI's lock commands use. Other
// classes answer -EPERM, as an OSD that cannot load the class does; an
// unknown method of lock -EOPNOTSUPP.

// cls_lock's lock types and flags.
const (
	lockNone      uint8 = 0
	lockExclusive uint8 = 1
	lockShared    uint8 = 2

	lockFlagMayRenew  uint8 = 0x1
	lockFlagMustRenew uint8 = 0x2

	lockXattrPrefix = "lock." // the xattr a lock's state lives in
	eBUSY           = 16
)

// opCall runs a class method; its output becomes the op's output.
func (c *opCtx) opCall(op *messages.OSDOp) int32 {
	cl, ml, inl := int(op.Args[0]), int(op.Args[1]), int(le32(op.Args[3:]))
	if cl+ml+inl != len(op.Data) {
		return -eINVAL
	}
	class, method, in := string(op.Data[:cl]), string(op.Data[cl:cl+ml]), op.Data[cl+ml:]
	if class != "lock" {
		return -ePERM // the OSD cannot load the class (ClassHandler's -EPERM)
	}
	var out []byte
	var r int32
	switch method {
	case "lock":
		r = c.clsLock(in)
	case "unlock":
		r = c.clsUnlock(in, false)
	case "break_lock":
		r = c.clsUnlock(in, true)
	case "get_info":
		out, r = c.clsGetInfo(in)
	case "list_locks":
		out, r = c.clsListLocks()
	default:
		return -eOPNOTSUPP
	}
	op.Data = out
	return r
}

// lockerID is locker_id_t; lockerInfo locker_info_t.
type lockerID struct {
	who    encoding.EntityName
	cookie string
}

type lockerInfo struct {
	expiration encoding.UTime
	addr       encoding.EntityAddr
	desc       string
}

// lockInfo is lock_info_t, as stored in the lock's xattr.
type lockInfo struct {
	lockers map[lockerID]lockerInfo
	typ     uint8
	tag     string
}

func lockerLess(a, b lockerID) bool {
	if a.who.Type != b.who.Type {
		return a.who.Type < b.who.Type
	}
	if a.who.Num != b.who.Num {
		return a.who.Num < b.who.Num
	}
	return a.cookie < b.cookie
}

func (li *lockInfo) append(b []byte) []byte {
	b, st := encoding.StructStart(b, 1, 1)
	ids := make([]lockerID, 0, len(li.lockers))
	for id := range li.lockers {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && lockerLess(ids[j], ids[j-1]); j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	b = encoding.AppendU32(b, uint32(len(ids)))
	for _, id := range ids {
		var s int
		b, s = encoding.StructStart(b, 1, 1)
		b = encoding.AppendEntityName(b, id.who)
		b = encoding.AppendString(b, id.cookie)
		b = encoding.StructEnd(b, s)
		inf := li.lockers[id]
		b, s = encoding.StructStart(b, 1, 1)
		b = encoding.AppendUTime(b, inf.expiration)
		b = encoding.AppendEntityAddr(b, inf.addr, encoding.FeaturesAll)
		b = encoding.AppendString(b, inf.desc)
		b = encoding.StructEnd(b, s)
	}
	b = append(b, li.typ)
	b = encoding.AppendString(b, li.tag)
	return encoding.StructEnd(b, st)
}

func decodeLockInfo(p []byte) (*lockInfo, bool) {
	d := encoding.NewDecoder(p)
	li := &lockInfo{lockers: map[lockerID]lockerInfo{}}
	st := d.StructStart("lock_info_t", 1)
	n := d.Len(12)
	for i := 0; i < n && d.Err() == nil; i++ {
		s := d.StructStart("locker_id_t", 1)
		id := lockerID{who: d.EntityName(), cookie: d.String()}
		d.StructEnd(s)
		s = d.StructStart("locker_info_t", 1)
		inf := lockerInfo{expiration: d.UTime(), addr: d.EntityAddr(), desc: d.String()}
		d.StructEnd(s)
		li.lockers[id] = inf
	}
	li.typ = d.U8()
	li.tag = d.String()
	d.StructEnd(st)
	return li, d.Err() == nil
}

// readLock reads lock name's state, without expired holders.
func (c *opCtx) readLock(name string) *lockInfo {
	li := &lockInfo{lockers: map[lockerID]lockerInfo{}}
	if c.obj != nil {
		if raw, ok := c.obj.xattrs[lockXattrPrefix+name]; ok {
			if d, ok := decodeLockInfo(raw); ok {
				li = d
			}
		}
	}
	now := time.Now()
	for id, inf := range li.lockers {
		if !inf.expiration.IsZero() && inf.expiration.Time().Before(now) {
			delete(li.lockers, id)
		}
	}
	return li
}

func (c *opCtx) writeLock(name string, li *lockInfo) {
	o := c.writable(true)
	if o.xattrs == nil {
		o.xattrs = map[string][]byte{}
	}
	if len(li.lockers) == 0 {
		delete(o.xattrs, lockXattrPrefix+name)
		return
	}
	o.xattrs[lockXattrPrefix+name] = li.append(nil)
}

func (c *opCtx) me() encoding.EntityName { return c.conn.PeerName() }

// clsLock is cls_lock's lock method (lock_obj).
func (c *opCtx) clsLock(in []byte) int32 {
	d := encoding.NewDecoder(in)
	st := d.StructStart("cls_lock_lock_op", 1)
	name, typ, cookie, tag, desc := d.String(), d.U8(), d.String(), d.String(), d.String()
	dur := d.UTime()
	flags := d.U8()
	d.StructEnd(st)
	if d.Err() != nil || name == "" || typ != lockExclusive && typ != lockShared {
		return -eINVAL
	}
	li := c.readLock(name)
	id := lockerID{who: c.me(), cookie: cookie}
	_, held := li.lockers[id]
	switch {
	case held && flags&(lockFlagMayRenew|lockFlagMustRenew) == 0:
		return -eEXIST
	case !held && flags&lockFlagMustRenew != 0:
		return -eNOENT
	}
	if held {
		delete(li.lockers, id)
	}
	if len(li.lockers) > 0 {
		if typ == lockExclusive || li.typ == lockExclusive || li.tag != tag {
			return -eBUSY
		}
	}
	inf := lockerInfo{desc: desc}
	if a := c.conn.PeerAddrs(); len(a) > 0 {
		inf.addr = a[0]
		if inf.addr.Type == encoding.AddrTypeAny {
			// A client's address as the OSD's messenger records it
			// (what the real OSD's lock holders show).
			inf.addr.Type = encoding.AddrTypeLegacy
		}
	}
	if !dur.IsZero() {
		inf.expiration = utimeOf(time.Now().Add(time.Duration(dur.Sec)*time.Second + time.Duration(dur.Nsec)))
	}
	li.lockers[id] = inf
	li.typ, li.tag = typ, tag
	c.writeLock(name, li)
	return 0
}

// clsUnlock is unlock (our own hold) or break_lock (another's).
func (c *opCtx) clsUnlock(in []byte, breakOther bool) int32 {
	d := encoding.NewDecoder(in)
	st := d.StructStart("cls_lock_unlock_op", 1)
	name := d.String()
	who := c.me()
	if breakOther {
		who = d.EntityName()
	}
	cookie := d.String()
	d.StructEnd(st)
	if d.Err() != nil {
		return -eINVAL
	}
	if c.obj == nil {
		return -eNOENT
	}
	li := c.readLock(name)
	id := lockerID{who: who, cookie: cookie}
	if _, ok := li.lockers[id]; !ok {
		return -eNOENT
	}
	delete(li.lockers, id)
	c.writeLock(name, li)
	return 0
}

func (c *opCtx) clsGetInfo(in []byte) ([]byte, int32) {
	d := encoding.NewDecoder(in)
	st := d.StructStart("cls_lock_get_info_op", 1)
	name := d.String()
	d.StructEnd(st)
	if d.Err() != nil {
		return nil, -eINVAL
	}
	if c.obj == nil {
		return nil, -eNOENT
	}
	li := c.readLock(name)
	if len(li.lockers) == 0 {
		li.typ = lockNone
	}
	return li.append(nil), 0 // cls_lock_get_info_reply has lock_info_t's layout
}

func (c *opCtx) clsListLocks() ([]byte, int32) {
	if c.obj == nil {
		return nil, -eNOENT
	}
	var names []string
	for k := range c.obj.xattrs {
		if n, ok := strings.CutPrefix(k, lockXattrPrefix); ok {
			names = append(names, n)
		}
	}
	b, st := encoding.StructStart(nil, 1, 1)
	b = appendSortedStrings(b, names)
	return encoding.StructEnd(b, st), 0
}

func appendSortedStrings(b []byte, s []string) []byte {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return encoding.AppendStringSlice(b, s)
}

package cluster

import (
	"math/bits"
	"slices"
	"sort"
	"strings"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// errnos of object ops, as an OSD returns them.
const (
	eNODATA    = 61
	eOPNOTSUPP = 95
	eFBIG      = 27
	eRANGE     = 34
	eIO        = 5
	maxErrno   = 4095
)

// maxObjectSize is osd_max_object_size (128 MiB).
const maxObjectSize = 128 << 20

// allNamespaces is LIBRADOS_ALL_NSPACES: a listing across namespaces.
const allNamespaces = "\x01"

// objKey identifies an object inside a PG (the live head only: this
// store keeps no snapshots).
type objKey struct {
	ns, oid, key string
}

// object is one stored object, guarded by the OSD's store lock. Data is
// never changed in place once stored (ops build new slices), so a reply
// may alias it after the lock is released.
type object struct {
	hash       uint32 // the raw placement hash, for listing cursors
	data       []byte
	xattrs     map[string][]byte
	omap       map[string][]byte
	omapHeader []byte
	mtime      encoding.UTime
	version    uint64 // user_version: the PG version of its last change
}

func (o *object) clone() *object {
	c := *o
	c.xattrs = cloneMap(o.xattrs)
	c.omap = cloneMap(o.omap)
	return &c
}

func cloneMap(m map[string][]byte) map[string][]byte {
	if m == nil {
		return nil
	}
	c := make(map[string][]byte, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// pgStore is one PG's objects (ReplicatedPG's collection, in memory).
// Guarded by the OSD's store lock.
type pgStore struct {
	objects map[objKey]*object
	version uint64 // last_update.version
}

// poolStats are the objects and bytes a pool holds.
type poolStats struct{ objects, bytes uint64 }

// opCtx is one MOSDOp's execution (PrimaryLogPG's OpContext): the object
// as the ops see it, which is stored only if every op succeeds. Owned by
// the OSD's dispatch goroutine, used under the store lock.
type opCtx struct {
	osd      *OSD
	conn     *msgr.Conn
	pgID     osdmap.PG
	notifies []notifyStart // to start once the reply is sent
	pg       *pgStore
	key      objKey
	hash     uint32
	obj      *object // nil: absent
	orig     *object
	dirty    bool
	copied   bool // obj is a private copy
	mtime    encoding.UTime
	ns       string
}

// writable makes obj a private copy the ops may change, creating the
// object if create.
func (c *opCtx) writable(create bool) *object {
	if c.obj == nil {
		if !create {
			return nil
		}
		c.obj = &object{hash: c.hash}
		c.copied = true
	} else if !c.copied {
		c.obj = c.obj.clone()
		c.copied = true
	}
	c.dirty = true
	return c.obj
}

func (c *opCtx) size() uint64 {
	if c.obj == nil {
		return 0
	}
	return uint64(len(c.obj.data))
}

// do runs one op, filling op's output (Data, Args) and returning its
// result (0 or -errno). It runs the cases PrimaryLogPG::do_osd_ops has for
// head objects of replicated pools.
func (c *opCtx) do(op *messages.OSDOp) int32 {
	exists := c.obj != nil
	switch op.Op {
	case messages.OpChecksum:
		return c.checksum(op)
	case messages.OpRead, messages.OpSparseRead, messages.OpMapExt:
		if !exists {
			return -eNOENT
		}
		off, n := op.Offset(), op.Length()
		size := c.size()
		var out []byte
		if off < size {
			end := size
			if n != 0 && off+n < size {
				end = off + n
			}
			out = c.obj.data[off:end]
		}
		switch op.Op {
		case messages.OpRead:
			op.Data = out
			op.SetExtent(off, uint64(len(out)), op.TruncateSize(), op.TruncateSeq())
		case messages.OpSparseRead:
			// map<u64,u64> extents, then the data: one extent for a
			// dense object.
			b := encoding.AppendU32(nil, 0)
			if len(out) > 0 {
				b = encoding.AppendU32(b[:0], 1)
				b = encoding.AppendU64(b, off)
				b = encoding.AppendU64(b, uint64(len(out)))
			}
			b = encoding.AppendBytes(b, out)
			op.Data = b
		default:
			return -eOPNOTSUPP
		}
		return 0
	case messages.OpStat:
		if !exists {
			return -eNOENT
		}
		op.Data = messages.AppendStat(nil, messages.ObjectStat{Size: c.size(), Mtime: c.obj.mtime})
		return 0
	case messages.OpCmpExt:
		if !exists {
			return -eNOENT
		}
		off := op.Offset()
		for i, want := range op.Data {
			var have byte
			if p := off + uint64(i); p < c.size() {
				have = c.obj.data[p]
			}
			if have != want {
				return int32(-maxErrno - i)
			}
		}
		op.Data = nil
		return 0
	case messages.OpAssertVer:
		if !exists {
			return -eNOENT
		}
		ver := op.Length() // assert_ver.ver follows an unused u64
		switch {
		case ver == 0:
			return -eINVAL
		case ver < c.obj.version:
			return -eRANGE
		case ver > c.obj.version:
			return -75 // EOVERFLOW
		}
		return 0
	case messages.OpSetAllocHint:
		return 0
	case messages.OpCreate:
		if exists && op.Flags&messages.OpFlagExcl != 0 {
			return -eEXIST
		}
		c.writable(true)
		return 0
	case messages.OpWrite:
		off, n := op.Offset(), op.Length()
		if n != uint64(len(op.Data)) {
			return -eINVAL
		}
		if off+n > maxObjectSize {
			return -eFBIG
		}
		o := c.writable(true)
		end := max(uint64(len(o.data)), off+n)
		nd := make([]byte, end)
		copy(nd, o.data)
		copy(nd[off:], op.Data)
		o.data = nd
		op.Data = nil
		return 0
	case messages.OpWriteSame:
		off, n, dlen := op.Offset(), op.Length(), le64(op.Args[16:])
		if dlen == 0 || dlen != uint64(len(op.Data)) || n%dlen != 0 {
			return -eINVAL
		}
		if off+n > maxObjectSize {
			return -eFBIG
		}
		o := c.writable(true)
		nd := make([]byte, max(uint64(len(o.data)), off+n))
		copy(nd, o.data)
		for p := off; p < off+n; p += dlen {
			copy(nd[p:], op.Data)
		}
		o.data = nd
		op.Data = nil
		return 0
	case messages.OpWriteFull:
		if uint64(len(op.Data)) != op.Length() {
			return -eINVAL
		}
		if op.Length() > maxObjectSize {
			return -eFBIG
		}
		o := c.writable(true)
		o.data = op.Data // the decoded message's own copy
		op.Data = nil
		return 0
	case messages.OpAppend:
		if uint64(len(op.Data)) != op.Length() {
			return -eINVAL
		}
		if c.size()+op.Length() > maxObjectSize {
			return -eFBIG
		}
		o := c.writable(true)
		nd := make([]byte, 0, len(o.data)+len(op.Data))
		o.data = append(append(nd, o.data...), op.Data...)
		op.Data = nil
		return 0
	case messages.OpTruncate:
		size := op.Offset()
		if size > maxObjectSize {
			return -eFBIG
		}
		o := c.writable(true)
		nd := make([]byte, size)
		copy(nd, o.data)
		o.data = nd
		return 0
	case messages.OpZero:
		if !exists {
			return 0 // zeroing nothing is a no-op, as in Ceph
		}
		off, n := op.Offset(), op.Length()
		if off >= c.size() {
			return 0
		}
		o := c.writable(false)
		nd := slices.Clone(o.data)
		clear(nd[off:min(off+n, uint64(len(nd)))])
		o.data = nd
		return 0
	case messages.OpDelete:
		if !exists {
			return -eNOENT
		}
		c.obj, c.copied, c.dirty = nil, false, true
		return 0
	case messages.OpGetXattr:
		if !exists {
			return -eNOENT
		}
		name, _, ok := op.XattrName()
		if !ok {
			return -eINVAL
		}
		v, ok := c.obj.xattrs[name]
		if !ok {
			return -eNODATA
		}
		op.Data = v
		putU32(op.Args[4:], uint32(len(v)))
		return 0
	case messages.OpGetXattrs:
		if !exists {
			return -eNOENT
		}
		op.Data = messages.AppendBufferMap(nil, c.obj.xattrs)
		return 0
	case messages.OpCmpXattr:
		return -eOPNOTSUPP
	case messages.OpSetXattr:
		name, val, ok := op.XattrName()
		if !ok {
			return -eINVAL
		}
		o := c.writable(true)
		if o.xattrs == nil {
			o.xattrs = map[string][]byte{}
		}
		o.xattrs[name] = val
		op.Data = nil
		return 0
	case messages.OpRmXattr:
		if !exists {
			return -eNOENT
		}
		name, _, ok := op.XattrName()
		if !ok {
			return -eINVAL
		}
		if _, ok := c.obj.xattrs[name]; !ok {
			return -eNODATA
		}
		delete(c.writable(false).xattrs, name)
		op.Data = nil
		return 0
	case messages.OpOmapGetKeys, messages.OpOmapGetVals:
		if !exists {
			return -eNOENT
		}
		d := encoding.NewDecoder(op.Data)
		after := d.String()
		maxN := d.U64()
		prefix := ""
		if op.Op == messages.OpOmapGetVals {
			prefix = d.String()
		}
		if d.Err() != nil {
			return -eINVAL
		}
		keys := sortedKeys(c.obj.omap)
		i := sort.SearchStrings(keys, after)
		if i < len(keys) && keys[i] == after {
			i++
		}
		if prefix > after && op.Op == messages.OpOmapGetVals {
			i = sort.SearchStrings(keys, prefix)
		}
		var sel []string
		more := false
		for ; i < len(keys); i++ {
			if prefix != "" && !strings.HasPrefix(keys[i], prefix) {
				break
			}
			if uint64(len(sel)) >= maxN {
				more = true
				break
			}
			sel = append(sel, keys[i])
		}
		var b []byte
		if op.Op == messages.OpOmapGetKeys {
			b = encoding.AppendStringSlice(nil, sel)
		} else {
			b = encoding.AppendU32(nil, uint32(len(sel)))
			for _, k := range sel {
				b = encoding.AppendString(b, k)
				b = encoding.AppendBytes(b, c.obj.omap[k])
			}
		}
		op.Data = encoding.AppendBool(b, more)
		return 0
	case messages.OpOmapGetHeader:
		if !exists {
			return -eNOENT
		}
		op.Data = c.obj.omapHeader
		return 0
	case messages.OpOmapGetValsByKeys:
		if !exists {
			return -eNOENT
		}
		d := encoding.NewDecoder(op.Data)
		want := d.StringSlice()
		if d.Err() != nil {
			return -eINVAL
		}
		out := map[string][]byte{}
		for _, k := range want {
			if v, ok := c.obj.omap[k]; ok {
				out[k] = v
			}
		}
		op.Data = messages.AppendBufferMap(nil, out)
		return 0
	case messages.OpOmapSetVals:
		d := encoding.NewDecoder(op.Data)
		kv := messages.DecodeBufferMap(d)
		if d.Err() != nil {
			return -eINVAL
		}
		o := c.writable(true)
		if o.omap == nil {
			o.omap = map[string][]byte{}
		}
		for k, v := range kv {
			o.omap[k] = v
		}
		op.Data = nil
		return 0
	case messages.OpOmapSetHeader:
		o := c.writable(true)
		o.omapHeader = op.Data
		op.Data = nil
		return 0
	case messages.OpOmapClear:
		if !exists {
			return -eNOENT
		}
		c.writable(false).omap = nil
		return 0
	case messages.OpOmapRmKeys:
		if !exists {
			return -eNOENT
		}
		d := encoding.NewDecoder(op.Data)
		keys := d.StringSlice()
		if d.Err() != nil {
			return -eINVAL
		}
		o := c.writable(false)
		for _, k := range keys {
			delete(o.omap, k)
		}
		op.Data = nil
		return 0
	case messages.OpCall:
		return c.opCall(op)
	case messages.OpWatch:
		return c.osd.opWatch(c, op)
	case messages.OpNotify:
		return c.osd.opNotify(c, op)
	case messages.OpNotifyAck:
		return c.osd.opNotifyAck(c, op)
	case messages.OpListWatchers:
		return c.osd.opListWatchers(c, op)
	}
	// call (object classes), snapshots, copy-from...
	return -eOPNOTSUPP
}

// Checksum types (CEPH_OSD_CHECKSUM_OP_TYPE_*).
const (
	checksumXXHash32 = 0
	checksumXXHash64 = 1
	checksumCRC32C   = 2
)

// checksum is PrimaryLogPG::do_checksum for crc32c: length bytes at offset
// (0: to the end) in chunks of chunk_size (0: one chunk), each seeded with
// the init value, as ceph_crc32c (no final inversion). Output: u32 count,
// then the values. The xxhash types are not implemented here.
func (c *opCtx) checksum(op *messages.OSDOp) int32 {
	if c.obj == nil {
		return -eNOENT
	}
	off, n, chunk, typ := op.Offset(), op.Length(), uint64(le32(op.Args[16:])), op.Args[20]
	if typ != checksumCRC32C {
		if typ == checksumXXHash32 || typ == checksumXXHash64 {
			return -eOPNOTSUPP
		}
		return -eINVAL
	}
	if len(op.Data) != 4 {
		return -eINVAL
	}
	size := c.size()
	if n == 0 {
		if off > size {
			return -eINVAL
		}
		n = size - off
	}
	if chunk == 0 {
		chunk = n
	}
	if off+n > size || chunk == 0 || n%chunk != 0 {
		return -eINVAL
	}
	seed := le32(op.Data)
	b := encoding.AppendU32(nil, uint32(n/chunk))
	for p := off; p < off+n; p += chunk {
		b = encoding.AppendU32(b, encoding.CRC32C(seed, c.obj.data[p:p+chunk]))
	}
	op.Data = b
	return 0
}

func le64(p []byte) uint64 {
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

func putU32(p []byte, v uint32) {
	p[0], p[1], p[2], p[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// keyLess orders a PG's objects for listing: namespace, name, locator.
func keyLess(a, b objKey) int {
	if c := strings.Compare(a.ns, b.ns); c != 0 {
		return c
	}
	if c := strings.Compare(a.oid, b.oid); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// list is pgnls: up to n objects of the PG from cursor on (in keyLess
// order), in namespace ns (allNamespaces: every one), and the cursor to
// continue from (Max once the PG is done). The cursor is an hobject_t
// whose hash is the next object's, so the client keeps it in this PG.
func (pg *pgStore) list(cursor messages.HObject, ns string, n uint64, end messages.HObject) messages.PGNLSResponse {
	keys := make([]objKey, 0, len(pg.objects))
	for k := range pg.objects {
		if ns == allNamespaces || k.ns == ns {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, keyLess)
	start := objKey{ns: cursor.Namespace, oid: cursor.Oid, key: cursor.Key}
	i := 0
	if cursor.Oid != "" || cursor.Namespace != "" {
		i, _ = slices.BinarySearchFunc(keys, start, keyLess)
	}
	resp := messages.PGNLSResponse{Handle: end}
	for ; i < len(keys); i++ {
		if uint64(len(resp.Entries)) >= n {
			k := keys[i]
			resp.Handle = messages.HObject{Key: k.key, Oid: k.oid, Snap: messages.SnapHead, Hash: pg.objects[k].hash, Namespace: k.ns, Pool: end.Pool}
			break
		}
		k := keys[i]
		resp.Entries = append(resp.Entries, messages.ListEntry{Namespace: k.ns, Oid: k.oid, Locator: k.key})
	}
	return resp
}

func (pg *pgStore) stats() poolStats {
	var s poolStats
	for _, o := range pg.objects {
		s.objects++
		s.bytes += uint64(len(o.data))
	}
	return s
}

// hobjEnd is pg_t::get_hobj_end: the first hobject past the PG in
// bitwise (bit-reversed hash) order, where the client's listing goes on
// (it picks the next PG from the cursor's hash); max after the last PG.
func hobjEnd(pg osdmap.PG, pgNum uint32) messages.HObject {
	revStart := uint64(bits.Reverse32(pg.Seed))
	revEnd := (revStart | uint64(0xffffffff>>splitBits(pg.Seed, pgNum))) + 1
	if revEnd >= 1<<32 {
		return messages.HObject{Max: true, Pool: messages.HObjectPoolMin}
	}
	return messages.HObject{Snap: messages.SnapHead, Hash: bits.Reverse32(uint32(revEnd)), Pool: pg.Pool}
}

// splitBits is pg_t::get_split_bits.
func splitBits(seed, pgNum uint32) uint {
	if pgNum <= 1 {
		return 0
	}
	p := uint(bits.Len32(pgNum))
	half := uint32(1) << (p - 1)
	if seed%half < pgNum%half {
		return p
	}
	return p - 1
}

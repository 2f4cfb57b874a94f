// Package osdctest is an in-memory OSD cluster for tests of code built on
// the Objecter: OSDs that keep objects in memory and answer MOSDOps through
// connections that encode and decode every message as the wire would, with
// hooks to drop, delay or rewrite ops and to fault connections.
package osdctest

import (
	"bytes"
	"cmp"
	_ "embed"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdmap"
)

//go:embed osdmap.bin
var capturedMap []byte

// BaseMap returns the map of the captured Pacific cluster (epoch 8): one
// OSD, pool 1 "vec" with 8 PGs.
func BaseMap(t testing.TB) *osdmap.OSDMap {
	t.Helper()
	m, err := osdmap.Decode(capturedMap)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// DeriveMap returns a copy of m at epoch with n OSDs up (addresses on
// distinct ports) and the given pg_temp overrides.
func DeriveMap(m *osdmap.OSDMap, epoch uint32, n int, down []int32, pgTemp map[osdmap.PG][]int32) *osdmap.OSDMap {
	c := *m
	c.Epoch = epoch
	c.MaxOSD = int32(n)
	c.OSDState = make([]uint32, n)
	c.OSDWeight = make([]uint32, n)
	c.OSDAddrs = make([]encoding.EntityAddrVec, n)
	for i := range n {
		c.OSDState[i] = osdmap.StateExists | osdmap.StateUp
		if slices.Contains(down, int32(i)) {
			c.OSDState[i] = osdmap.StateExists
		}
		c.OSDWeight[i] = osdmap.WeightIn
		c.OSDAddrs[i] = encoding.EntityAddrVec{{Type: encoding.AddrTypeMsgr2, Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(6800+i)), Nonce: 1}}
	}
	c.PGTemp = pgTemp
	c.Pools = make(map[int64]*osdmap.Pool, len(m.Pools))
	for id, p := range m.Pools {
		pc := *p
		c.Pools[id] = &pc
	}
	return &c
}

// Object is one stored object.
type Object struct {
	data   []byte
	xattrs map[string][]byte
	ver    uint64
}

// Cluster is a set of OSDs sharing one object store. Set Objecter before
// the first dial; it is the Dialer the Objecter is built with.
type Cluster struct {
	t        testing.TB
	mu       sync.Mutex
	Objecter *osdc.Objecter
	// objects by pool/name
	objs map[string]*Object
	// intercept, if set, sees every op first: it may return a reply to
	// send instead, or drop=true to swallow the op.
	intercept func(osd int32, m *messages.MOSDOp) (reply *messages.MOSDOpReply, drop bool)
	// received MOSDOps and MOSDBackoff acks, per OSD, in order
	got   map[int32][]*messages.MOSDOp
	acks  []*messages.MOSDBackoff
	conns []*Conn
	dials map[int32]int
	wg    sync.WaitGroup
}

// NewCluster returns an empty cluster.
func NewCluster(t testing.TB) *Cluster {
	return &Cluster{t: t, objs: map[string]*Object{}, got: map[int32][]*messages.MOSDOp{}, dials: map[int32]int{}}
}

// Conn is a connection to one fake OSD. As msgr's, it encodes a message
// when it is sent, referring to its data, and reads the data when it
// "writes" it (serves it): a queued message refers to the caller's
// memory until then, or until DetachData.
type Conn struct {
	c         *Cluster
	osd       int32
	mu        sync.Mutex
	closed    bool
	held      bool
	queue     []queued      // sent, not yet served
	wake      chan struct{} // capacity 1: the queue or held changed
	detaches  int
	detachBuf int // buffers detached, of all DetachData calls
}

// queued is an encoded message waiting to be served.
type queued struct {
	h message.Header
	p message.Payload
}

// DialOSD implements osdc.Dialer.
func (f *Cluster) DialOSD(osd int32, addrs encoding.EntityAddrVec) (osdc.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dials[osd]++
	c := &Conn{c: f, osd: osd, wake: make(chan struct{}, 1)}
	f.conns = append(f.conns, c)
	f.wg.Add(1)
	go c.serve()
	return c, nil
}

// roundTrip encodes m and decodes it into a fresh value, as a wire would.
func roundTrip[T message.Message](t testing.TB, m message.Message, fresh T) T {
	var p message.Payload
	h, err := message.EncodeMessage(m, encoding.FeaturesAll, &p)
	if err != nil {
		t.Errorf("encode %T: %v", m, err)
		return fresh
	}
	if err := fresh.Decode(&h, encoding.FeaturesAll, &p); err != nil {
		t.Errorf("decode %T: %v", m, err)
	}
	return fresh
}

// Send implements osdc.Conn: m is encoded now (its data referred to,
// not copied) and served in order.
func (c *Conn) Send(m message.Message) error {
	var q queued
	h, err := message.EncodeMessage(m, encoding.FeaturesAll, &q.p)
	if err != nil {
		c.c.t.Errorf("encode %T: %v", m, err)
		return err
	}
	q.h = h
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("closed")
	}
	c.queue = append(c.queue, q)
	c.signal()
	return nil
}

// signal wakes serve (c.mu held).
func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Close implements osdc.Conn. What was sent before is still served.
func (c *Conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.signal()
}

// Hold stops serving c's queue (messages stay queued, unwritten) until
// Release; Close serves them anyway.
func (c *Conn) Hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = true
}

// Release serves c's queue again.
func (c *Conn) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	c.signal()
}

// DetachData implements osdc.Detacher: a queued message whose data is
// one of bufs gets a copy of it.
func (c *Conn) DetachData(bufs [][]byte, done func()) {
	c.mu.Lock()
	c.detaches++
	for i := range c.queue {
		d := &c.queue[i].p.Data
		for _, b := range bufs {
			if len(*d) > 0 && len(b) > 0 && &(*d)[0] == &b[0] {
				*d = bytes.Clone(*d)
				c.detachBuf++
				break
			}
		}
	}
	c.mu.Unlock()
	done()
}

// Detaches returns how many times DetachData was called on c, and how
// many queued buffers it copied.
func (c *Conn) Detaches() (calls, copied int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.detaches, c.detachBuf
}

// next waits for a message to serve and decodes it (under c.mu, as the
// messenger's loop writes and detaches in turn); false once c is closed
// and its queue served.
func (c *Conn) next() (message.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed && (c.held || len(c.queue) == 0) {
		c.mu.Unlock()
		<-c.wake
		c.mu.Lock()
	}
	if len(c.queue) == 0 {
		return nil, false
	}
	q := c.queue[0]
	c.queue[0] = queued{}
	c.queue = c.queue[1:]
	var m message.Message
	switch q.h.Type {
	case messages.TypeOSDOp:
		m = &messages.MOSDOp{}
	case messages.TypeOSDBackoff:
		m = &messages.MOSDBackoff{}
	default:
		c.c.t.Errorf("osdctest: unexpected message type %d", q.h.Type)
		return nil, true
	}
	if err := m.Decode(&q.h, encoding.FeaturesAll, &q.p); err != nil {
		c.c.t.Errorf("decode %T: %v", m, err)
		return nil, true
	}
	return m, true
}

func (c *Conn) serve() {
	defer c.c.wg.Done()
	for m, ok := c.next(); ok; m, ok = c.next() {
		switch m := m.(type) {
		case *messages.MOSDOp:
			if r := c.c.handle(c.osd, m); r != nil {
				c.c.Objecter.HandleMessage(c, roundTrip(c.c.t, r, &messages.MOSDOpReply{}))
			}
		case *messages.MOSDBackoff:
			c.c.mu.Lock()
			c.c.acks = append(c.c.acks, m)
			c.c.mu.Unlock()
		}
	}
}

// SendKeepalive implements osdc.Keepaliver: it fails once c has closed.
func (c *Conn) SendKeepalive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("closed")
	}
	return nil
}

// Die closes c without telling the Objecter, as a connection whose reset
// was lost.
func (c *Conn) Die() { c.Close() }

// Reset faults c as the messenger would: the Objecter hears HandleReset.
func (c *Conn) Reset() { c.c.Objecter.HandleReset(c) }

// SetIntercept installs a hook that sees every op first: it may return a
// reply to send instead of executing the op, or drop=true to swallow it.
func (f *Cluster) SetIntercept(fn func(osd int32, m *messages.MOSDOp) (reply *messages.MOSDOpReply, drop bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = fn
}

// Sent returns the MOSDOps osd received, in order.
func (f *Cluster) Sent(osd int32) []*messages.MOSDOp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got[osd])
}

// LastConn returns the newest connection to osd.
func (f *Cluster) LastConn(osd int32) *Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.conns) - 1; i >= 0; i-- {
		if f.conns[i].osd == osd {
			return f.conns[i]
		}
	}
	return nil
}

// Push sends an OSD-originated message (a backoff) to the Objecter on c.
func (f *Cluster) Push(c *Conn, m message.Message) {
	f.Objecter.HandleMessage(c, roundTrip(f.t, m, m))
}

// Acks returns the MOSDBackoff messages the client sent.
func (f *Cluster) Acks() []*messages.MOSDBackoff {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.acks)
}

// Dials returns how many connections to osd were opened.
func (f *Cluster) Dials(osd int32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials[osd]
}

// Data returns a stored object's bytes.
func (f *Cluster) Data(pool int64, ns, oid string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.objs[fmt.Sprintf("%d/%s/%s", pool, ns, oid)]
	if o == nil {
		return nil, false
	}
	return bytes.Clone(o.data), true
}

// NumObjects returns how many objects are stored.
func (f *Cluster) NumObjects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.objs)
}

// Stop closes every connection and waits for the OSDs' goroutines.
func (f *Cluster) Stop() {
	f.mu.Lock()
	conns := slices.Clone(f.conns)
	f.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	f.wg.Wait()
}

func (f *Cluster) handle(osd int32, m *messages.MOSDOp) *messages.MOSDOpReply {
	f.mu.Lock()
	f.got[osd] = append(f.got[osd], m)
	icpt := f.intercept
	f.mu.Unlock()
	if icpt != nil {
		if r, drop := icpt(osd, m); drop {
			return nil
		} else if r != nil {
			return r
		}
	}
	pool := f.Objecter.Map().Pool(m.Locator.Pool) // before f.mu: the Objecter dials under its lock
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apply(m, pool)
}

// Reply returns the reply to m with result and no output, as an OSD
// builds it.
func Reply(m *messages.MOSDOp, result int32) *messages.MOSDOpReply {
	r := &messages.MOSDOpReply{
		Tid: m.Tid, Oid: m.Oid, PGID: m.PGID.PG, Flags: int64(m.Flags | messages.FlagAck | messages.FlagOnDisk),
		Result: result, Epoch: m.Epoch, RetryAttempt: m.RetryAttempt,
	}
	r.Ops = make([]messages.OSDOp, len(m.Ops))
	for i, o := range m.Ops {
		r.Ops[i] = messages.OSDOp{Op: o.Op, Flags: o.Flags, Args: o.Args}
	}
	return r
}

// apply executes m on the store (f.mu held).
func (f *Cluster) apply(m *messages.MOSDOp, pool *osdmap.Pool) *messages.MOSDOpReply {
	r := Reply(m, 0)
	key := fmt.Sprintf("%d/%s/%s", m.Locator.Pool, m.Locator.Namespace, m.Oid)
	obj := f.objs[key]
	for i := range m.Ops {
		in, out := &m.Ops[i], &r.Ops[i]
		fail := func(errno int32) *messages.MOSDOpReply {
			out.Rval = -errno
			r.Result = -errno
			return r
		}
		switch in.Op {
		case messages.OpWriteFull, messages.OpWrite, messages.OpAppend, messages.OpCreate, messages.OpSetXattr, messages.OpTruncate:
			if obj == nil {
				if in.Op == messages.OpCreate || in.Op == messages.OpWrite || in.Op == messages.OpWriteFull ||
					in.Op == messages.OpAppend || in.Op == messages.OpSetXattr || in.Op == messages.OpTruncate {
					obj = &Object{xattrs: map[string][]byte{}}
					f.objs[key] = obj
				}
			} else if in.Op == messages.OpCreate && in.Flags&messages.OpFlagExcl != 0 {
				return fail(17)
			}
			obj.ver++
			switch in.Op {
			case messages.OpWriteFull:
				obj.data = bytes.Clone(in.Data)
			case messages.OpWrite:
				end := in.Offset() + uint64(len(in.Data))
				if uint64(len(obj.data)) < end {
					obj.data = append(obj.data, make([]byte, end-uint64(len(obj.data)))...)
				}
				copy(obj.data[in.Offset():], in.Data)
			case messages.OpAppend:
				obj.data = append(obj.data, in.Data...)
			case messages.OpTruncate:
				n := in.Offset()
				if n <= uint64(len(obj.data)) {
					obj.data = obj.data[:n]
				} else {
					obj.data = append(obj.data, make([]byte, n-uint64(len(obj.data)))...)
				}
			case messages.OpSetXattr:
				name, val, _ := in.XattrName()
				obj.xattrs[name] = bytes.Clone(val)
			}
			r.UserVersion = obj.ver
		case messages.OpRead:
			if obj == nil {
				return fail(2)
			}
			off := min(in.Offset(), uint64(len(obj.data)))
			end := min(off+in.Length(), uint64(len(obj.data)))
			if in.Length() == 0 {
				end = uint64(len(obj.data))
			}
			out.Data = bytes.Clone(obj.data[off:end])
			out.SetExtent(off, end-off, 0, 0)
		case messages.OpStat:
			if obj == nil {
				return fail(2)
			}
			out.Data = messages.AppendStat(nil, messages.ObjectStat{Size: uint64(len(obj.data)), Mtime: encoding.UTime{Sec: 1700000000}})
		case messages.OpDelete:
			if obj == nil {
				return fail(2)
			}
			delete(f.objs, key)
			obj = nil
		case messages.OpGetXattr:
			if obj == nil {
				return fail(2)
			}
			name, _, _ := in.XattrName()
			v, ok := obj.xattrs[name]
			if !ok {
				return fail(61) // ENODATA
			}
			out.Data = bytes.Clone(v)
		case messages.OpGetXattrs:
			if obj == nil {
				return fail(2)
			}
			out.Data = messages.AppendBufferMap(nil, obj.xattrs)
		case messages.OpPGNLS:
			out.Data = f.pgnls(m, pool)
			r.Result = 1
		default:
			return fail(95) // EOPNOTSUPP
		}
	}
	return r
}

// pgnls lists the objects of the PG m targets: everything whose name
// hashes to it, in one reply, then hands back the cursor of the PG's end.
func (f *Cluster) pgnls(m *messages.MOSDOp, pool *osdmap.Pool) []byte {
	var resp messages.PGNLSResponse
	var names []string
	for key := range f.objs {
		var p int64
		var ns, name string
		fmt.Sscanf(key, "%d/", &p)
		rest := key[len(fmt.Sprint(p))+1:]
		i := bytes.IndexByte([]byte(rest), '/')
		ns, name = rest[:i], rest[i+1:]
		if p != m.Locator.Pool || ns != m.Locator.Namespace {
			continue
		}
		pg := pool.RawPGToPG(osdmap.PG{Pool: p, Seed: pool.HashKey(name, ns)})
		if pg.Seed == m.PGID.Seed {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		resp.Entries = append(resp.Entries, messages.ListEntry{Namespace: m.Locator.Namespace, Oid: n})
	}
	// The next PG in bitwise order, or Max after the last (pg_num is a
	// power of two here).
	next := -1
	order := BitwiseOrder(pool.PGNum)
	for i, s := range order {
		if s == m.PGID.Seed && i+1 < len(order) {
			next = int(order[i+1])
		}
	}
	if next < 0 {
		resp.Handle = messages.HObject{Max: true, Pool: messages.HObjectPoolMin}
	} else {
		resp.Handle = messages.HObject{Snap: messages.SnapHead, Hash: uint32(next), Pool: m.Locator.Pool}
	}
	return messages.AppendPGNLSResponse(nil, resp)
}

// BitwiseOrder lists PG seeds in the order of their bit-reversed hashes.
func BitwiseOrder(pgNum uint32) []uint32 {
	s := make([]uint32, pgNum)
	for i := range s {
		s[i] = uint32(i)
	}
	slices.SortFunc(s, func(a, b uint32) int { return cmp.Compare(bits.Reverse32(a), bits.Reverse32(b)) })
	return s
}

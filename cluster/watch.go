package cluster

import (
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/osdmap"
)

// Watch/notify as PrimaryLogPG and its Watch/Notify classes do it, for
// connected watchers: a watch is (client gid, cookie) on an object and the
// connection notifies go to; a notify fans out to the object's watchers
// and completes, to the notifier, when every one acked or its timeout
// passed. All of it is guarded by the OSD's store lock.

// errnos of watch ops.
const (
	eNOTCONN             = 107
	eTIMEDOUT            = 110
	defaultNotifyTimeout = 30 * time.Second // osd_default_notify_timeout
)

// objRef names an object in a PG.
type objRef struct {
	pg  osdmap.PG
	key objKey
}

// watchKey is a watch's identity: the watching client's gid and cookie.
type watchKey struct{ gid, cookie uint64 }

// watch is one registered watch.
type watch struct {
	conn    *msgr.Conn // nil while the client is disconnected
	addr    encoding.EntityAddr
	timeout uint32      // seconds, as registered (0: the OSD's default)
	expiry  *time.Timer // running while disconnected: drops the watch
}

// defaultWatchTimeout is osd_client_watch_timeout.
const defaultWatchTimeout = 30

// notify is one notify in flight.
type notify struct {
	id       uint64
	obj      objRef
	conn     *msgr.Conn // the notifier's
	cookie   uint64     // the notifier's notify cookie
	gid      uint64
	payload  []byte
	pending  map[watchKey]bool
	acks     map[watchKey][]byte
	timer    *time.Timer
	complete bool
}

// watchState is the OSD's watches and notifies.
type watchState struct {
	watches  map[objRef]map[watchKey]*watch
	notifies map[uint64]*notify
	nextID   uint64
}

// opWatch runs a watch op (watch, reconnect, ping, unwatch) for the client
// on c. Called by opCtx.do under the store lock.
func (o *OSD) opWatch(c *opCtx, op *messages.OSDOp) int32 {
	if c.obj == nil {
		return -eNOENT
	}
	ref := objRef{c.pgID, c.key}
	k := watchKey{gid: uint64(c.conn.PeerName().Num), cookie: op.WatchCookie()}
	ws := o.watch.watches[ref]
	switch op.WatchOp() {
	case messages.WatchOpWatch, messages.WatchOpReconnect:
		if ws == nil {
			ws = map[watchKey]*watch{}
			o.watch.watches[ref] = ws
		}
		var addr encoding.EntityAddr
		if a := c.conn.PeerAddrs(); len(a) > 0 {
			addr = a[0]
		}
		if old := ws[k]; old != nil && old.expiry != nil {
			old.expiry.Stop()
		}
		ws[k] = &watch{conn: c.conn, addr: addr, timeout: le32(op.Args[21:])}
		// Watch::connect: notifies still waiting for this watcher go
		// to its new connection.
		for _, n := range o.watch.notifies {
			if n.obj == ref && n.pending[k] {
				_ = c.conn.Send(&messages.MWatchNotify{Opcode: messages.WatchEventNotify, Cookie: k.cookie, NotifyID: n.id,
					Payload: n.payload, NotifierGID: n.gid})
			}
		}
		return 0
	case messages.WatchOpPing:
		if w := ws[k]; w == nil || w.conn != c.conn {
			return -eNOTCONN
		}
		return 0
	case 0: // unwatch
		if w := ws[k]; w != nil && w.expiry != nil {
			w.expiry.Stop()
		}
		delete(ws, k)
		if len(ws) == 0 {
			delete(o.watch.watches, ref)
		}
		return 0
	}
	return -eINVAL
}

func le32(p []byte) uint32 {
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

// opNotify registers a notify and returns its id as the op's output; the
// fan-out starts once the op's reply is sent (startNotify).
func (o *OSD) opNotify(c *opCtx, op *messages.OSDOp) int32 {
	if c.obj == nil {
		return -eNOENT
	}
	d := encoding.NewDecoder(op.Data)
	d.U32() // prot_ver
	timeout := time.Duration(d.U32()) * time.Second
	payload := append([]byte(nil), d.Blob()...)
	if d.Err() != nil {
		return -eINVAL
	}
	if timeout == 0 {
		timeout = defaultNotifyTimeout
	}
	o.watch.nextID++
	n := &notify{id: o.watch.nextID, obj: objRef{c.pgID, c.key}, conn: c.conn, cookie: op.WatchCookie(),
		gid: uint64(c.conn.PeerName().Num), payload: payload, pending: map[watchKey]bool{}, acks: map[watchKey][]byte{}}
	o.watch.notifies[n.id] = n
	c.notifies = append(c.notifies, notifyStart{n, timeout})
	op.Data = encoding.AppendU64(nil, n.id)
	return 0
}

// notifyStart is a notify to fan out after the op's reply.
type notifyStart struct {
	n       *notify
	timeout time.Duration
}

// startNotify sends the notify to the object's watchers and arms its
// timeout; with no watcher it completes at once.
func (o *OSD) startNotify(s notifyStart) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := s.n
	for k, w := range o.watch.watches[n.obj] {
		// A disconnected watcher counts too: it gets the notify when it
		// reconnects (opWatch), or the notify times out on it.
		n.pending[k] = true
		if w.conn == nil {
			continue
		}
		_ = w.conn.Send(&messages.MWatchNotify{Opcode: messages.WatchEventNotify, Cookie: k.cookie, NotifyID: n.id,
			Payload: n.payload, NotifierGID: n.gid})
	}
	if len(n.pending) == 0 {
		o.completeNotifyLocked(n, false)
		return
	}
	n.timer = time.AfterFunc(s.timeout, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		if !n.complete {
			o.completeNotifyLocked(n, true)
		}
	})
}

// opNotifyAck records a watcher's reply to a notify.
func (o *OSD) opNotifyAck(c *opCtx, op *messages.OSDOp) int32 {
	d := encoding.NewDecoder(op.Data)
	id, cookie := d.U64(), d.U64()
	var reply []byte
	if d.Remaining() > 0 {
		reply = append([]byte(nil), d.Blob()...)
	}
	if d.Err() != nil {
		return -eINVAL
	}
	n := o.watch.notifies[id]
	k := watchKey{gid: uint64(c.conn.PeerName().Num), cookie: cookie}
	if n == nil || !n.pending[k] {
		return 0 // late or unknown: Ceph ignores it too
	}
	delete(n.pending, k)
	n.acks[k] = reply
	if len(n.pending) == 0 {
		o.completeNotifyLocked(n, false)
	}
	return 0
}

// completeNotifyLocked tells the notifier the replies and who missed.
func (o *OSD) completeNotifyLocked(n *notify, timedOut bool) {
	n.complete = true
	if n.timer != nil {
		n.timer.Stop()
	}
	delete(o.watch.notifies, n.id)
	var acks []messages.NotifyAck
	for k, r := range n.acks {
		acks = append(acks, messages.NotifyAck{NotifierID: k.gid, Cookie: k.cookie, Response: r})
	}
	sortAcks(acks)
	var missed []messages.NotifyTimeout
	for k := range n.pending {
		missed = append(missed, messages.NotifyTimeout{NotifierID: k.gid, Cookie: k.cookie})
	}
	m := &messages.MWatchNotify{Opcode: messages.WatchEventNotifyComplete, Cookie: n.cookie, NotifyID: n.id,
		NotifierGID: n.gid, Data: messages.AppendNotifyResult(nil, acks, missed)}
	if timedOut && len(missed) > 0 {
		m.ReturnCode = -eTIMEDOUT
	}
	_ = n.conn.Send(m)
}

// sortAcks orders replies as Ceph's map<pair<gid,cookie>,bl> does.
func sortAcks(a []messages.NotifyAck) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && (a[j].NotifierID < a[j-1].NotifierID ||
			a[j].NotifierID == a[j-1].NotifierID && a[j].Cookie < a[j-1].Cookie); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// opListWatchers returns obj_list_watch_response_t.
func (o *OSD) opListWatchers(c *opCtx, op *messages.OSDOp) int32 {
	if c.obj == nil {
		return -eNOENT
	}
	ws := o.watch.watches[objRef{c.pgID, c.key}]
	keys := make([]watchKey, 0, len(ws))
	for k := range ws {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && (keys[j].gid < keys[j-1].gid || keys[j].gid == keys[j-1].gid && keys[j].cookie < keys[j-1].cookie); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	b, st := encoding.StructStart(nil, 1, 1)
	b = encoding.AppendU32(b, uint32(len(keys)))
	for _, k := range keys {
		w := ws[k]
		var it int
		b, it = encoding.StructStart(b, 2, 1) // watch_item_t
		b = encoding.AppendEntityName(b, encoding.EntityName{Type: encoding.EntityTypeClient, Num: int64(k.gid)})
		b = encoding.AppendU64(b, k.cookie)
		timeout := w.timeout
		if timeout == 0 {
			timeout = defaultWatchTimeout
		}
		b = encoding.AppendU32(b, timeout)
		b = encoding.AppendEntityAddr(b, w.addr, encoding.FeaturesAll)
		b = encoding.StructEnd(b, it)
	}
	op.Data = encoding.StructEnd(b, st)
	return 0
}

// connGone drops c's watches' connection: each stays registered for its
// timeout so the client can reconnect (Watch::disconnect), then goes, and
// the notifies waiting for it count it as missed. Notifies c sent are
// forgotten.
func (o *OSD) connGone(c *msgr.Conn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for ref, ws := range o.watch.watches {
		for k, w := range ws {
			if w.conn != c {
				continue
			}
			w.conn = nil
			timeout := w.timeout
			if timeout == 0 {
				timeout = defaultWatchTimeout
			}
			ref, k, w := ref, k, w
			w.expiry = time.AfterFunc(time.Duration(timeout)*time.Second, func() { o.expireWatch(ref, k, w) })
		}
	}
	for _, n := range o.watch.notifies {
		if n.conn == c && n.timer != nil {
			n.timer.Stop()
			delete(o.watch.notifies, n.id)
		}
	}
}

// expireWatch drops a watch whose client did not come back in time.
func (o *OSD) expireWatch(ref objRef, k watchKey, w *watch) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ws := o.watch.watches[ref]
	if ws[k] != w || w.conn != nil {
		return // re-registered meanwhile
	}
	delete(ws, k)
	if len(ws) == 0 {
		delete(o.watch.watches, ref)
	}
	// Notify::complete_watcher_remove: the notifies stop waiting for it.
	for _, n := range o.watch.notifies {
		if n.obj == ref && n.pending[k] {
			delete(n.pending, k)
			if len(n.pending) == 0 {
				o.completeNotifyLocked(n, false)
			}
		}
	}
}

// stopWatches stops the notify and watch timers (shutdown).
func (o *OSD) stopWatches() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ws := range o.watch.watches {
		for _, w := range ws {
			if w.expiry != nil {
				w.expiry.Stop()
			}
		}
	}
	for _, n := range o.watch.notifies {
		if n.timer != nil {
			n.timer.Stop()
		}
	}
	o.watch.notifies = map[uint64]*notify{}
}

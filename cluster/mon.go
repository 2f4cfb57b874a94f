package cluster

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/auth/cephx"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/monmap"
	"github.com/gomsgr/msgr/osdmap"
)

// descriptions is what get_command_descriptions answers: Pacific's
// signatures of the commands this mon runs (taken from a Pacific mon's
// answer), so the ceph CLI parses and checks them as against a real mon.
//
//go:embed descriptions.json
var descriptions []byte

// maxMapsPerMessage bounds the full maps one MOSDMap carries; a client
// further behind jumps to the oldest sent (OldestMap), as with a trimmed mon.
const maxMapsPerMessage = 20

// Mon is a one-mon quorum (rank 0, "a"): the monmap, the OSDMap and its
// history of full maps, auth, subscriptions and the mon commands clients
// and the ceph CLI use. Its state is guarded by mu; the messenger's
// dispatch goroutine and Cluster's methods call in.
type Mon struct {
	m     *msgr.Messenger
	log   *slog.Logger
	fsid  encoding.UUID
	authp *authPolicy
	// onMap hears every new OSDMap before any client does (the OSDs
	// take it), under mu.
	onMap func(*osdmap.OSDMap)
	// stats reports the objects and bytes stored per pool (df, status).
	stats func() map[int64]poolStats

	mu       sync.Mutex
	monmap   *monmap.MonMap
	osdmap   *osdmap.OSDMap    // the newest, as decoded from full[epoch]
	full     map[uint32][]byte // every epoch's encoded full map
	incs     map[uint32][]byte // the incremental to each epoch from the one before
	sessions map[*msgr.Conn]*monSession
	started  time.Time
	cfg      *monConfig
}

// monSession is one client connection's subscriptions (Ceph's
// MonSession::sub_map): what to send next of each map. Guarded by the
// mon's mu.
type monSession struct {
	subs map[string]messages.SubscribeItem
}

// monConfig are the settings a mon decides by (mon_allow_pool_delete...);
// immutable after Start.
type monConfig struct {
	allowPoolDelete bool
	defaultPGNum    uint32
}

func newMon(ctx context.Context, ip netip.Addr, port uint16, fsid encoding.UUID, ap *authPolicy, cfg *monConfig, log *slog.Logger) (*Mon, error) {
	reg := message.NewRegistry()
	if err := messages.RegisterMon(reg); err != nil {
		return nil, err
	}
	m, err := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon}, Registry: reg, AuthServer: ap.handler},
		msgr.Options{Logger: log.With("daemon", "mon.a")})
	if err != nil {
		return nil, err
	}
	// Monitor::Monitor's policies: stateless toward clients.
	m.SetDefaultPolicy(msgr.StatelessServer(0))
	m.SetPolicy(encoding.EntityTypeMon, msgr.LosslessPeerReuse(0))
	if err := m.Bind(ctx, netip.AddrPortFrom(ip, port)); err != nil {
		_ = m.Shutdown(context.WithoutCancel(ctx))
		return nil, err
	}
	mon := &Mon{m: m, log: log.With("daemon", "mon.a"), fsid: fsid, authp: ap, cfg: cfg,
		full: map[uint32][]byte{}, incs: map[uint32][]byte{}, sessions: map[*msgr.Conn]*monSession{}, started: time.Now()}
	return mon, nil
}

// start sets the first maps and starts serving.
func (mon *Mon) start(om *osdmap.OSDMap) error {
	mon.mu.Lock()
	mon.monmap = newMonMap(mon.fsid, mon.m.Addrs(), mon.started)
	if err := mon.commitLocked(om); err != nil {
		mon.mu.Unlock()
		return err
	}
	mon.mu.Unlock()
	if err := mon.m.Start(); err != nil {
		return err
	}
	mon.m.AddDispatcherTail(monDispatcher{mon})
	return nil
}

// Addrs is where the mon listens.
func (mon *Mon) Addrs() encoding.EntityAddrVec { return mon.m.Addrs() }

// OSDMap returns the newest OSDMap (read-only).
func (mon *Mon) OSDMap() *osdmap.OSDMap {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	return mon.osdmap
}

// commitLocked makes m the newest epoch: it encodes it, decodes the result
// (so every reader places objects from exactly what clients decode), hands
// it to the OSDs and then to subscribed clients.
func (mon *Mon) commitLocked(m *osdmap.OSDMap) error {
	bl := m.Append(nil)
	dm, err := osdmap.Decode(bl)
	if err != nil {
		return fmt.Errorf("cluster: osdmap e%d does not decode: %w", m.Epoch, err)
	}
	if prev := mon.osdmap; prev != nil {
		inc, err := checkedIncremental(prev, dm, bl)
		if err != nil {
			// Clients still get full maps for this epoch.
			mon.log.Error("no incremental", "epoch", dm.Epoch, "err", err)
		} else {
			mon.incs[dm.Epoch] = inc
		}
	}
	mon.full[dm.Epoch] = bl
	mon.osdmap = dm
	if mon.onMap != nil {
		mon.onMap(dm)
	}
	for c, s := range mon.sessions {
		mon.checkOSDMapSubLocked(c, s)
	}
	return nil
}

// nextMapLocked is the newest map cloned with the epoch bumped, for a
// change to commit.
func (mon *Mon) nextMapLocked() *osdmap.OSDMap {
	m := mon.osdmap.Clone()
	m.Epoch++
	m.Modified = utimeOf(time.Now())
	return m
}

// sessionLocked returns c's session, making it on first use.
func (mon *Mon) sessionLocked(c *msgr.Conn) *monSession {
	s := mon.sessions[c]
	if s == nil {
		s = &monSession{subs: map[string]messages.SubscribeItem{}}
		mon.sessions[c] = s
	}
	return s
}

func (mon *Mon) send(c *msgr.Conn, m message.Message) {
	if err := c.Send(m); err != nil {
		mon.log.Debug("reply not sent", "peer", c.PeerName(), "type", m.Type(), "err", err)
	}
}

func (mon *Mon) sendMonMapLocked(c *msgr.Conn) {
	mm, err := messages.NewMMonMap(mon.monmap, c.Features())
	if err != nil {
		mon.log.Warn("monmap not encodable for peer", "peer", c.PeerName(), "err", err)
		return
	}
	mon.send(c, mm)
}

// osdMapsLocked is an MOSDMap taking a client from epoch from-1 to the
// newest, as OSDMonitor::send_incremental does: incrementals where the
// mon has them, a full map where not, at most maxMapsPerMessage epochs
// (a client further behind gets the newest full map and jumps to it).
// from 0: the newest full map alone.
func (mon *Mon) osdMapsLocked(from uint32) *messages.MOSDMap {
	last := mon.osdmap.Epoch
	msg := &messages.MOSDMap{FSID: mon.fsid, Maps: map[uint32][]byte{}, IncrementalMaps: map[uint32][]byte{}, OldestMap: 1, NewestMap: last}
	if from == 0 || from > last || last-from >= maxMapsPerMessage {
		msg.Maps[last] = mon.full[last]
		msg.OldestMap = last
		return msg
	}
	for e := from; e <= last; e++ {
		if inc, ok := mon.incs[e]; ok && (e > from || from > 1) {
			msg.IncrementalMaps[e] = inc
		} else {
			msg.Maps[e] = mon.full[e]
		}
	}
	return msg
}

// checkedIncremental encodes the incremental from prev to next and checks
// that applying it to prev gives exactly next's encoding (bl), as an OSD
// checks an incremental's full crc.
func checkedIncremental(prev, next *osdmap.OSDMap, bl []byte) ([]byte, error) {
	ib := osdmap.Diff(prev, next).Append(nil)
	inc, err := osdmap.DecodeIncremental(ib)
	if err != nil {
		return nil, err
	}
	m := prev.Clone()
	if err := m.Apply(inc); err != nil {
		return nil, err
	}
	if got := m.Append(nil); !bytes.Equal(got, bl) {
		return nil, fmt.Errorf("applying the incremental to e%d does not give e%d (crc %#x, want %#x)", prev.Epoch, next.Epoch, m.CRC, inc.FullCRC)
	}
	return ib, nil
}

// checkOSDMapSubLocked is OSDMonitor::check_osdmap_sub: maps from the
// epoch wanted, once it exists.
func (mon *Mon) checkOSDMapSubLocked(c *msgr.Conn, s *monSession) {
	sub, ok := s.subs[messages.SubOSDMap]
	if !ok || sub.Start > uint64(mon.osdmap.Epoch) {
		return
	}
	mon.send(c, mon.osdMapsLocked(uint32(sub.Start))) // 0: the newest full map
	if sub.Flags&messages.SubscribeOnetime != 0 {
		delete(s.subs, messages.SubOSDMap)
	} else {
		sub.Start = uint64(mon.osdmap.Epoch) + 1
		s.subs[messages.SubOSDMap] = sub
	}
}

func (mon *Mon) handleSubscribe(c *msgr.Conn, m *messages.MMonSubscribe) {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	s := mon.sessionLocked(c)
	for what, item := range m.What {
		switch what {
		case messages.SubMonMap:
			if item.Start <= uint64(mon.monmap.Epoch) {
				mon.sendMonMapLocked(c)
				if item.Flags&messages.SubscribeOnetime == 0 {
					item.Start = uint64(mon.monmap.Epoch) + 1
					s.subs[what] = item
				}
			} else if item.Flags&messages.SubscribeOnetime == 0 {
				s.subs[what] = item
			}
		case messages.SubOSDMap:
			s.subs[what] = item
			mon.checkOSDMapSubLocked(c, s)
		case messages.SubConfig:
			// ConfigMonitor::check_sub: the config (none is set here)
			// once, then on changes (there are none).
			if _, had := s.subs[what]; !had {
				mon.send(c, &messages.MConfig{Config: map[string]string{}})
			}
			s.subs[what] = item
		default:
			// mgrmap, fsmap, servicemap...: this cluster has no mgr or
			// mds; like a mon without those maps it sends nothing.
			s.subs[what] = item
		}
	}
}

func (mon *Mon) handleGetVersion(c *msgr.Conn, m *messages.MMonGetVersion) {
	mon.mu.Lock()
	reply := &messages.MMonGetVersionReply{Handle: m.Handle}
	switch m.What {
	case "osdmap":
		reply.MapVersion, reply.OldestVersion = uint64(mon.osdmap.Epoch), 1
	case "monmap":
		reply.MapVersion, reply.OldestVersion = uint64(mon.monmap.Epoch), 1
	}
	mon.mu.Unlock()
	mon.send(c, reply)
}

// handleAuth answers a ticket request on an authenticated session
// (MonClient::_check_auth_tickets) with the cephx handler that
// authenticated the connection, as AuthMonitor does.
func (mon *Mon) handleAuth(c *msgr.Conn, ma *messages.MAuth) {
	reply := &messages.MAuthReply{Protocol: ma.Protocol, GlobalID: c.PeerGlobalID()}
	var cx *cephx.ServerHandler
	if h, ok := c.AuthServerHandler().(*authHandler); ok {
		cx, _ = h.cur.(*cephx.ServerHandler)
	}
	if ma.Protocol != auth.MethodCephX || cx == nil {
		reply.Result = -auth.EOPNOTSUPP
		reply.ResultMsg = "only cephx ticket requests on a cephx session are answered"
	} else {
		reply.ResultBL, reply.Result = cx.HandleTicketRequest(ma.Payload)
	}
	mon.send(c, reply)
}

// handlePoolOp runs a pool op (OSDMonitor::prepare_pool_op): creating
// and deleting pools; snapshot ops get -EOPNOTSUPP (the OSDs keep no
// snapshots).
func (mon *Mon) handlePoolOp(c *msgr.Conn, m *messages.MPoolOp) {
	mon.mu.Lock()
	reply := &messages.MPoolOpReply{Tid: m.Tid, FSID: mon.fsid}
	switch m.Op {
	case messages.PoolOpCreate:
		if mon.osdmap.PoolByName(m.Name) != nil {
			reply.Result = -eEXIST
			break
		}
		res := mon.poolCreateLocked(cmdArgs{"pool": m.Name})
		reply.Result = res.rc
	case messages.PoolOpDelete:
		p := mon.osdmap.Pools[m.Pool]
		if p == nil {
			reply.Result = -eNOENT
			break
		}
		res := mon.poolRmLocked(cmdArgs{"pool": p.Name, "pool2": p.Name, "yes_i_really_really_mean_it": true})
		reply.Result = res.rc
	default:
		reply.Result = -eNOTSUP
	}
	reply.Epoch = mon.osdmap.Epoch
	mon.mu.Unlock()
	mon.send(c, reply)
}

// handleGetPoolStats answers rados df's per-pool query (Ceph's
// MgrStatMonitor, from the PG stats OSDs report; here the OSDs' stores are
// summed when asked). Unknown pools are left out, as in Ceph.
func (mon *Mon) handleGetPoolStats(c *msgr.Conn, m *messages.MGetPoolStats) {
	mon.mu.Lock()
	reply := &messages.MGetPoolStatsReply{Tid: m.Tid, FSID: mon.fsid, Stats: map[string]messages.PoolStat{}, PerPool: true}
	var st map[int64]poolStats
	if mon.stats != nil {
		st = mon.stats()
	}
	for _, name := range m.Pools {
		if p := mon.osdmap.PoolByName(name); p != nil {
			s := st[p.ID]
			reply.Stats[name] = messages.PoolStat{NumBytes: int64(s.bytes), NumObjects: int64(s.objects),
				NumObjectCopies: int64(s.objects) * int64(p.Size), StoreAllocated: int64(s.bytes), StoreDataStored: int64(s.bytes)}
		}
	}
	mon.mu.Unlock()
	mon.send(c, reply)
}

// handleStatfs answers the cluster totals query. The OSDs keep objects in
// memory: no fixed capacity, so the total is what is used.
func (mon *Mon) handleStatfs(c *msgr.Conn, m *messages.MStatfs) {
	mon.mu.Lock()
	objects, used := mon.totals()
	epoch := mon.osdmap.Epoch
	mon.mu.Unlock()
	kb := (used + 1023) / 1024
	mon.send(c, &messages.MStatfsReply{Tid: m.Tid, FSID: mon.fsid, MapVersion: uint64(epoch), KB: kb, KBUsed: kb, NumObjects: objects})
}

func (mon *Mon) shutdown(ctx context.Context) error { return mon.m.Shutdown(ctx) }

// monDispatcher is the mon's messenger dispatcher.
type monDispatcher struct{ mon *Mon }

// Dispatch implements msgr.Dispatcher.
func (d monDispatcher) Dispatch(c *msgr.Conn, m message.Message) bool {
	mon := d.mon
	switch m := m.(type) {
	case *messages.MMonGetMap:
		mon.mu.Lock()
		mon.sessionLocked(c)
		mon.sendMonMapLocked(c)
		mon.mu.Unlock()
	case *messages.MMonSubscribe:
		mon.handleSubscribe(c, m)
	case *messages.MMonGetVersion:
		mon.handleGetVersion(c, m)
	case *messages.MAuth:
		mon.handleAuth(c, m)
	case *messages.MMonCommand:
		mon.handleCommand(c, m)
	case *messages.MPoolOp:
		mon.handlePoolOp(c, m)
	case *messages.MGetPoolStats:
		mon.handleGetPoolStats(c, m)
	case *messages.MStatfs:
		mon.handleStatfs(c, m)
	default:
		mon.log.Debug("message ignored", "peer", c.PeerName(), "type", m.Type())
	}
	return true
}

// HandleReset implements msgr.ResetHandler: the session and its
// subscriptions go with the connection.
func (d monDispatcher) HandleReset(c *msgr.Conn) bool {
	d.mon.mu.Lock()
	delete(d.mon.sessions, c)
	d.mon.mu.Unlock()
	return true
}

package v2

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

// The named policies of Ceph's Policy.h.
var (
	lossyClient     = Policy{Lossy: true}
	losslessClient  = Policy{ResetCheck: true}
	losslessPeer    = Policy{Standby: true}
	statelessServer = Policy{Lossy: true, Server: true}
	statefulServer  = Policy{Server: true, Standby: true, ResetCheck: true}
)

// testEnv is a messenger as the Machine sees it, deterministic.
type testEnv struct {
	node      *node
	gseq      uint64
	cookie    uint64
	policies  map[uint8]Policy
	defPolicy Policy
	// Hooks for tests that need odd auth handlers.
	authClient func(peerType uint8) (auth.ClientHandler, error)
	authServer func(peerType uint8) (auth.ServerHandler, error)
	gids       *auth.GlobalIDs
}

func (e *testEnv) MyAddrs() encoding.EntityAddrVec { return e.node.addrs }

func (e *testEnv) NextGlobalSeq(atLeast uint64) uint64 {
	e.gseq = max(e.gseq, atLeast) + 1
	return e.gseq
}

func (e *testEnv) Policy(peerType uint8) Policy {
	if p, ok := e.policies[peerType]; ok {
		return p
	}
	return e.defPolicy
}

func (e *testEnv) AuthClient(peerType uint8) (auth.ClientHandler, error) {
	if e.authClient != nil {
		return e.authClient(peerType)
	}
	return &auth.NoneClient{Name: auth.EntityName{Type: uint32(e.node.name.Type), ID: "x"}, Mon: peerType == encoding.EntityTypeMon}, nil
}

func (e *testEnv) AuthServer(peerType uint8) (auth.ServerHandler, error) {
	if e.authServer != nil {
		return e.authServer(peerType)
	}
	return &auth.NoneServer{Mon: e.node.name.Type == encoding.EntityTypeMon, GlobalIDs: e.gids}, nil
}

func (e *testEnv) Cookie() uint64 {
	e.cookie++
	return e.cookie<<32 | uint64(e.node.addrs[0].Addr.Port())<<8 | uint64(e.node.incarnation)
}

// net is an in-memory network of nodes (messengers) with a fake clock.
type net struct {
	t     testing.TB
	now   time.Time
	nodes map[netip.AddrPort]*node
	socks []*sock
	rng   *rand.Rand
	// maxChunk > 0 delivers bytes in random chunks of at most that many.
	maxChunk int
	// readInto: every other delivery goes through ReadBuffer + Commit
	// (as the Conn reads a socket) instead of Received.
	readInto bool
	reads    int
	// streamSums: Machines get Config.StreamSums and their Writes go
	// out in the steps Writable allows, as the Conn writes.
	streamSums bool
	nextPort   uint16
	trace      bool
	verdicts   map[verdictKind]int
}

func newNet(t testing.TB, seed uint64) *net {
	return &net{t: t, now: time.Unix(1700000000, 0), nodes: map[netip.AddrPort]*node{},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), nextPort: 40000}
}

type node struct {
	net         *net
	name        encoding.EntityName
	addrs       encoding.EntityAddrVec
	env         *testEnv
	incarnation int
	registry    map[string]*conn
	conns       []*conn
	// Everything delivered on any connection of this node, in order.
	delivered []*InMessage
	learned   []encoding.EntityAddr
	// strict: ids must arrive increasing (one sender per node).
	strict bool
}

func (n *net) addNode(name encoding.EntityName, port uint16, nonce uint32) *node {
	a := encoding.EntityAddr{Type: encoding.AddrTypeMsgr2, Nonce: nonce,
		Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)}
	nd := &node{net: n, name: name, addrs: encoding.EntityAddrVec{a}, registry: map[string]*conn{}}
	nd.env = &testEnv{node: nd, gids: auth.NewGlobalIDs(4100), policies: map[uint8]Policy{}}
	n.nodes[a.Addr] = nd
	return nd
}

// restart replaces nd by a new incarnation listening on the same address
// (same nonce, as a mon has): connections and sessions are gone.
func (nd *node) restart() *node {
	nn := &node{net: nd.net, name: nd.name, addrs: nd.addrs, registry: map[string]*conn{}, incarnation: nd.incarnation + 1, strict: nd.strict}
	env := *nd.env
	env.node = nn
	env.gseq = 0
	nn.env = &env
	for _, c := range nd.conns {
		if s := c.sock; s != nil {
			s.abort()
			i := s.side(c)
			s.open[i], s.eofDue[i] = false, false
		}
		c.dead = true
	}
	nd.net.nodes[nd.addrs[0].Addr] = nn
	return nn
}

type conn struct {
	node   *node
	m      *Machine
	sock   *sock
	timers map[Timer]time.Time
	dead   bool // the process is gone
	closed bool // got Closed
	err    error

	established []Established
	resets      []Reset
	acked       []*OutMessage
	discarded   []*OutMessage
	refused     int
	keepAcks    []time.Time
	closeErrs   []error
	handoffTo   *conn
	log         []string

	pendingConnect bool
	pendingRefuse  bool
}

// sock is one TCP connection: two ends, bytes in flight each way.
type sock struct {
	ends   [2]*conn
	buf    [2][]byte // buf[i]: bytes written by ends[i], not yet read by the other
	open   [2]bool   // end i still open (has not closed)
	eofDue [2]bool   // end i must be told the socket broke
}

func (s *sock) side(c *conn) int {
	if s.ends[0] == c {
		return 0
	}
	return 1
}

// abort breaks the socket in both directions (a network failure).
func (s *sock) abort() {
	for i := range 2 {
		s.buf[i] = nil
		if s.open[i] {
			s.eofDue[i] = true
		}
	}
}

func (nd *node) newConn(m *Machine) *conn {
	c := &conn{node: nd, m: m, timers: map[Timer]time.Time{}}
	nd.conns = append(nd.conns, c)
	return c
}

// connect makes a client connection from nd to peer and starts it.
func (nd *node) connect(peer *node, cfgMod func(*Config)) *conn {
	cfg := Config{Env: nd.env, Me: nd.name, PeerType: peer.name.Type, PeerAddrs: peer.addrs, StreamSums: nd.net.streamSums}
	if cfgMod != nil {
		cfgMod(&cfg)
	}
	m, err := NewClient(cfg)
	if err != nil {
		nd.net.t.Fatal(err)
	}
	c := nd.newConn(m)
	nd.registry[peer.addrs.String()] = c
	c.apply(m.Start(nd.net.now))
	return c
}

func (c *conn) logf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.log = append(c.log, s)
	if c.node.net.trace {
		c.node.net.t.Logf("%s/%p: %s", c.node.name, c, s)
	}
}

// apply carries out a Machine's Ready as a messenger would, the ACK it
// asks for once its deliveries are taken.
func (c *conn) apply(r *Ready) {
	due := r.AckDue
	r.Walk(c.step)
	if due {
		c.apply(c.m.WriteAck(c.node.net.now))
	}
}

// step carries out one step of a Ready's Walk.
func (c *conn) step(bufs [][]byte, delivered []*InMessage, ack []*OutMessage, a Action) {
	n := c.node.net
	if len(bufs) > 0 {
		if c.sock == nil {
			n.t.Fatalf("%s: Write with no socket (state %v)", c.node.name, c.m.ph)
		}
		i := c.sock.side(c)
		if !c.sock.open[i] {
			n.t.Fatalf("%s: Write on a closed socket", c.node.name)
		}
		for len(bufs) > 0 {
			k := len(bufs)
			if n.streamSums {
				k = c.m.Writable(bufs)
			}
			for _, b := range bufs[:k] {
				c.sock.buf[i] = append(c.sock.buf[i], b...)
			}
			bufs = bufs[k:]
		}
	}
	for _, in := range delivered {
		if len(c.node.delivered) > 0 && msgID(in) <= msgID(c.node.delivered[len(c.node.delivered)-1]) && c.node.strict {
			n.t.Fatalf("%s: delivered %d after %d", c.node.name, msgID(in), msgID(c.node.delivered[len(c.node.delivered)-1]))
		}
		c.node.delivered = append(c.node.delivered, in)
	}
	c.acked = append(c.acked, ack...)
	if a != nil {
		switch a := a.(type) {
		case Dial:
			c.logf("dial %v", a.Addr)
			n.dial(c, a.Addr)
		case CloseSocket:
			c.logf("close socket: %v", a.Err)
			if c.sock != nil {
				i := c.sock.side(c)
				c.sock.open[i] = false
				c.sock.eofDue[i] = false
				c.sock.buf[1-i] = nil // unread input is dropped
				if c.sock.open[1-i] {
					c.sock.eofDue[1-i] = true
				}
				c.sock = nil
			}
		case SetTimer:
			c.timers[a.Timer] = a.At
		case StopTimer:
			delete(c.timers, a.Timer)
		case LearnedAddr:
			c.node.learned = append(c.node.learned, a.Addr)
		case Established:
			c.logf("established %+v", a)
			c.established = append(c.established, a)
		case Discarded:
			c.discarded = append(c.discarded, a.Msgs...)
		case Reset:
			c.logf("reset %+v", a)
			c.resets = append(c.resets, a)
		case Refused:
			c.refused++
		case KeepaliveAck:
			c.keepAcks = append(c.keepAcks, a.Stamp)
		case Lookup:
			c.logf("lookup %v reconnect=%v", a.Query.PeerAddrs, a.Query.Reconnect)
			c.node.lookup(c, a.Query)
		case HandOff:
			e := c.handoffTo
			c.logf("hand off to %p", e)
			s := c.sock
			c.sock = nil
			if s != nil {
				s.ends[s.side(c)] = e
			}
			e.sock = s
			e.apply(e.m.Adopted(n.now, a.Pending))
		case Closed:
			c.logf("closed: %v", a.Err)
			c.closed = true
			c.err = a.Err
			c.closeErrs = append(c.closeErrs, a.Err)
			for k, v := range c.node.registry {
				if v == c {
					delete(c.node.registry, k)
				}
			}
		default:
			n.t.Fatalf("unknown action %T", a)
		}
	}
}

func (nd *node) lookup(c *conn, q *Query) {
	now := nd.net.now
	key := q.PeerAddrs.String()
	e := nd.registry[key]
	if e == c || (e != nil && e.closed) {
		e = nil
	}
	if e == nil {
		if !q.Reconnect {
			nd.registry[key] = c
		}
		c.apply(c.m.Resolve(now, nil))
		return
	}
	v, r := e.m.Arbitrate(now, q)
	if nd.net.verdicts == nil {
		nd.net.verdicts = map[verdictKind]int{}
	}
	nd.net.verdicts[v.v.kind]++
	e.apply(r)
	if v.Register {
		nd.registry[key] = c
	}
	c.handoffTo = e
	c.apply(c.m.Resolve(now, v))
}

func (n *net) dial(c *conn, addr encoding.EntityAddr) {
	peer := n.nodes[addr.Addr]
	if peer == nil {
		// Deliver the refusal as the messenger would: after Dial returns.
		c.sock = nil
		c.pendingRefuse = true
		return
	}
	n.nextPort++
	s := &sock{open: [2]bool{true, true}}
	srv, err := NewServer(Config{Env: peer.env, Me: peer.name, StreamSums: n.streamSums})
	if err != nil {
		n.t.Fatal(err)
	}
	sc := peer.newConn(srv)
	s.ends = [2]*conn{c, sc}
	c.sock, sc.sock = s, s
	n.socks = append(n.socks, s)
	sc.apply(srv.Accepted(n.now, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), n.nextPort)))
	c.pendingConnect = true
}

// step performs one unit of network work; it reports whether there was
// any.
func (n *net) step() bool {
	// Connection completions first (they were started by a Dial).
	for _, nd := range n.sortedNodes() {
		for _, c := range nd.conns {
			if c.pendingConnect {
				c.pendingConnect = false
				if c.sock != nil {
					c.apply(c.m.Connected(n.now))
				}
				return true
			}
			if c.pendingRefuse {
				c.pendingRefuse = false
				c.apply(c.m.SocketError(n.now, syscall.ECONNREFUSED))
				return true
			}
		}
	}
	// Then bytes, in a random order across sockets.
	order := n.rng.Perm(len(n.socks))
	for _, si := range order {
		s := n.socks[si]
		for _, i := range n.rng.Perm(2) {
			to := s.ends[1-i]
			if len(s.buf[i]) > 0 && s.open[1-i] && to != nil {
				k := len(s.buf[i])
				if n.maxChunk > 0 {
					k = min(k, 1+n.rng.IntN(n.maxChunk))
				}
				if n.readInto {
					if n.reads++; n.reads%2 == 0 {
						if n.reads%6 == 0 {
							// A read that would block comes first.
							to.m.ReadBuffer(k)
							to.m.Unread()
						}
						buf := to.m.ReadBuffer(k)
						c := copy(buf, s.buf[i][:k])
						s.buf[i] = s.buf[i][c:]
						to.apply(to.m.Commit(n.now, c))
						switch {
						case len(s.buf[i]) == 0:
							// The reader's next read would block.
							to.m.ReadBuffer(1)
							to.m.Unread()
						case n.rng.IntN(2) == 0:
							// The read loop ends after a short read,
							// perhaps mid-frame.
							to.m.Unread()
						}
						return true
					}
				}
				p := s.buf[i][:k]
				s.buf[i] = s.buf[i][k:]
				to.apply(to.m.Received(n.now, p))
				return true
			}
			if s.eofDue[1-i] && len(s.buf[i]) == 0 && to != nil {
				s.eofDue[1-i] = false
				s.open[1-i] = false
				if to.sock == s {
					to.sock = nil
					to.apply(to.m.SocketError(n.now, fmt.Errorf("socket closed by peer: %w", syscall.ECONNRESET)))
				}
				return true
			}
		}
	}
	return false
}

func (n *net) sortedNodes() []*node {
	var out []*node
	for _, nd := range n.nodes {
		out = append(out, nd)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].addrs[0].Addr.Port() < out[j].addrs[0].Addr.Port() })
	return out
}

// allConns lists connections of live and dead nodes alike.
func (n *net) allConns(extra ...*node) []*conn {
	var out []*conn
	seen := map[*node]bool{}
	for _, nd := range append(n.sortedNodes(), extra...) {
		if seen[nd] {
			continue
		}
		seen[nd] = true
		out = append(out, nd.conns...)
	}
	return out
}

// run steps until nothing moves; with timers, it also advances the clock
// to the next timer and fires it, up to limit timer firings.
func (n *net) settle() {
	for i := 0; n.step(); i++ {
		if i > 10_000_000 {
			n.t.Fatal("network does not settle")
		}
	}
}

// fireNext advances the clock to the earliest timer of a live connection
// and fires it. It reports whether there was one.
func (n *net) fireNext(only ...Timer) bool {
	var best *conn
	var bt Timer
	var at time.Time
	for _, c := range n.allConns() {
		if c.dead || c.closed {
			continue
		}
		for t, when := range c.timers {
			if len(only) > 0 && !has(only, t) {
				continue
			}
			if best == nil || when.Before(at) || (when.Equal(at) && t < bt) {
				best, bt, at = c, t, when
			}
		}
	}
	if best == nil {
		return false
	}
	if at.After(n.now) {
		n.now = at
	}
	delete(best.timers, bt)
	best.apply(best.m.TimerFired(n.now, bt))
	return true
}

func has(ts []Timer, t Timer) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// msg makes a test message whose front carries id.
func msg(id uint64) *OutMessage {
	front := binary.LittleEndian.AppendUint64(nil, id)
	return &OutMessage{Header: message.Header{Type: 0x4242, Priority: message.PrioDefault, Version: 1, CompatVersion: 1},
		Payload: message.Payload{Front: front, Data: []byte(fmt.Sprintf("data-%d", id))}}
}

func msgID(m *InMessage) uint64 {
	if len(m.Payload.Front) != 8 {
		return ^uint64(0)
	}
	return binary.LittleEndian.Uint64(m.Payload.Front)
}

func (c *conn) send(ms ...*OutMessage) {
	for _, m := range ms {
		c.apply(c.m.Send(c.node.net.now, m))
	}
}

// ids lists the ids delivered to nd, in order.
func (nd *node) ids() []uint64 {
	var out []uint64
	for _, m := range nd.delivered {
		out = append(out, msgID(m))
	}
	return out
}

func netipPort(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
}

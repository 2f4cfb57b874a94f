package rados

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/mon"
	"github.com/gomsgr/msgr/osdc"
	"github.com/gomsgr/msgr/osdmap"
)

// Commands to daemons other than the monitors: the active mgr's (as
// MgrClient sends them), an OSD's and a PG's primary's (as Objecter's
// osd_command and pg_command), each an MCommand answered by tid on the
// daemon's connection. A command whose connection resets is sent again
// to wherever its target is then.

// CommandError is a daemon's negative answer to a command: its errno
// (which errors.Is matches) and status text.
type CommandError struct {
	Daemon string // "mgr", "osd.3"
	Errno  syscall.Errno
	Status string
}

func (e *CommandError) Error() string {
	if e.Status == "" {
		return fmt.Sprintf("rados: %s command: %v", e.Daemon, e.Errno)
	}
	return fmt.Sprintf("rados: %s command: %v: %s", e.Daemon, e.Errno, e.Status)
}

// Unwrap returns the errno.
func (e *CommandError) Unwrap() error { return e.Errno }

// cmdTidBase keeps these tids apart from any other tid space on the
// connections they share (an OSD's op tids are the Objecter's).
const cmdTidBase = 1 << 62

// cmdTarget resolves where a command goes, now.
type cmdTarget struct {
	name    string // for errors: "mgr", "osd.3", "mon.a"
	resolve func(ctx context.Context) (encoding.EntityAddrVec, uint8, error)
}

type pendingCommand struct {
	t    cmdTarget
	cmd  []string
	in   []byte
	conn *msgr.Conn
	done chan commandReply
}

type commandReply struct {
	r      int32
	status string
	data   []byte
}

// cmdClient tracks the commands in flight and the mgr map. Its lock is
// never held while calling the messenger.
type cmdClient struct {
	m  *msgr.Messenger
	mc *mon.Client
	o  *osdc.Objecter

	mu      sync.Mutex
	tid     uint64
	pending map[uint64]*pendingCommand
	pings   map[*msgr.Conn][]chan string // PingMonitor's waiting for an MPing back
	mgrMap  *messages.MMgrMap
	mgrCh   chan struct{} // closed and replaced at each mgr map
	subbed  bool
	closed  bool
}

func newCmdClient(m *msgr.Messenger, mc *mon.Client, o *osdc.Objecter) *cmdClient {
	return &cmdClient{m: m, mc: mc, o: o, tid: cmdTidBase, pending: map[uint64]*pendingCommand{}, mgrCh: make(chan struct{})}
}

// run sends cmd to t and waits for the answer.
func (cc *cmdClient) run(ctx context.Context, t cmdTarget, cmd []string, in []byte) ([]byte, string, error) {
	p := &pendingCommand{t: t, cmd: cmd, in: in, done: make(chan commandReply, 1)}
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return nil, "", ErrShutdown
	}
	cc.tid++
	tid := cc.tid
	cc.pending[tid] = p
	cc.mu.Unlock()
	defer func() {
		cc.mu.Lock()
		delete(cc.pending, tid)
		cc.mu.Unlock()
	}()
	if err := cc.send(ctx, tid, p); err != nil {
		return nil, "", err
	}
	select {
	case r, ok := <-p.done:
		if !ok {
			return nil, "", ErrShutdown
		}
		if r.r < 0 {
			return r.data, r.status, &CommandError{Daemon: t.name, Errno: syscall.Errno(-r.r), Status: r.status}
		}
		return r.data, r.status, nil
	case <-ctx.Done():
		return nil, "", fmt.Errorf("rados: %s command: %w", t.name, context.Cause(ctx))
	}
}

// send resolves p's target and sends it on the target's connection.
func (cc *cmdClient) send(ctx context.Context, tid uint64, p *pendingCommand) error {
	addrs, typ, err := p.t.resolve(ctx)
	if err != nil {
		return err
	}
	conn, err := cc.m.GetConnection(addrs, typ)
	if err != nil {
		return err
	}
	cc.mu.Lock()
	p.conn = conn
	cc.mu.Unlock()
	fsid := cc.mc.FSID()
	if typ == encoding.EntityTypeMgr {
		// A mgr takes a command with an fsid for a "tell" (its admin
		// socket's commands); MgrClient leaves it zero for mgr commands.
		fsid = encoding.UUID{}
	}
	return conn.Send(&messages.MCommand{Tid: tid, FSID: fsid, Cmd: p.cmd, Data: p.in})
}

// handleReply takes a reply to one of ours; false if it is someone
// else's (the MonClient's own commands).
func (cc *cmdClient) handleReply(tid uint64, r commandReply) bool {
	if tid <= cmdTidBase {
		return false
	}
	cc.mu.Lock()
	p := cc.pending[tid]
	delete(cc.pending, tid)
	cc.mu.Unlock()
	if p != nil {
		p.done <- r
	}
	return true
}

// handleReset resends the commands that were on c.
func (cc *cmdClient) handleReset(c *msgr.Conn) {
	cc.mu.Lock()
	var again []uint64
	for tid, p := range cc.pending {
		if p.conn == c {
			p.conn = nil
			again = append(again, tid)
		}
	}
	cc.mu.Unlock()
	for _, tid := range again {
		go func() {
			cc.mu.Lock()
			p := cc.pending[tid]
			cc.mu.Unlock()
			if p == nil {
				return
			}
			if err := cc.send(context.Background(), tid, p); err != nil {
				cc.mu.Lock()
				delete(cc.pending, tid)
				cc.mu.Unlock()
				p.done <- commandReply{r: -int32(syscall.EIO), status: err.Error()}
			}
		}()
	}
}

func (cc *cmdClient) handleMgrMap(m *messages.MMgrMap) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.mgrMap != nil && m.Epoch <= cc.mgrMap.Epoch {
		return
	}
	cc.mgrMap = m
	close(cc.mgrCh)
	cc.mgrCh = make(chan struct{})
}

// activeMgr waits for a mgr map with an available active mgr.
func (cc *cmdClient) activeMgr(ctx context.Context) (encoding.EntityAddrVec, uint8, error) {
	cc.mu.Lock()
	if !cc.subbed {
		cc.subbed = true
		cc.mc.Subscribe(messages.SubMgrMap, 0, false)
	}
	cc.mu.Unlock()
	for {
		cc.mu.Lock()
		m, ch, closed := cc.mgrMap, cc.mgrCh, cc.closed
		cc.mu.Unlock()
		if closed {
			return nil, 0, ErrShutdown
		}
		if m != nil && m.Available && len(m.ActiveAddr) > 0 {
			return m.ActiveAddr, encoding.EntityTypeMgr, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, fmt.Errorf("rados: no active mgr: %w", context.Cause(ctx))
		}
	}
}

// ping sends an MPing to the mon named name and waits for its answer.
func (cc *cmdClient) ping(ctx context.Context, name string) (string, error) {
	addrs, typ, err := cc.monTarget(name).resolve(ctx)
	if err != nil {
		return "", err
	}
	conn, err := cc.m.GetConnection(addrs, typ)
	if err != nil {
		return "", err
	}
	ch := make(chan string, 1)
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return "", ErrShutdown
	}
	if cc.pings == nil {
		cc.pings = map[*msgr.Conn][]chan string{}
	}
	cc.pings[conn] = append(cc.pings[conn], ch)
	cc.mu.Unlock()
	if err := conn.Send(&messages.MPing{}); err != nil {
		return "", err
	}
	select {
	case s := <-ch:
		return s, nil
	case <-ctx.Done():
		cc.mu.Lock()
		if ws := cc.pings[conn]; len(ws) > 0 {
			cc.pings[conn] = slices.DeleteFunc(ws, func(c chan string) bool { return c == ch })
		}
		cc.mu.Unlock()
		return "", fmt.Errorf("rados: ping mon.%s: %w", name, context.Cause(ctx))
	}
}

// handlePing answers the oldest PingMonitor waiting on c.
func (cc *cmdClient) handlePing(c *msgr.Conn, m *messages.MPing) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	ws := cc.pings[c]
	if len(ws) == 0 {
		return
	}
	ws[0] <- m.Status
	cc.pings[c] = ws[1:]
}

func (cc *cmdClient) close() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.closed = true
	for tid, p := range cc.pending {
		delete(cc.pending, tid)
		close(p.done)
	}
	close(cc.mgrCh)
	cc.mgrCh = make(chan struct{})
}

// osdTarget: osd.id, up in the current map.
func (cc *cmdClient) osdTarget(id int) cmdTarget {
	return cmdTarget{name: "osd." + strconv.Itoa(id), resolve: func(ctx context.Context) (encoding.EntityAddrVec, uint8, error) {
		m, err := cc.o.WaitForMap(ctx, 0)
		if err != nil {
			return nil, 0, err
		}
		if !m.IsUp(int32(id)) {
			return nil, 0, fmt.Errorf("rados: osd.%d is not up: %w", id, syscall.ENXIO)
		}
		return m.Addrs(int32(id)), encoding.EntityTypeOSD, nil
	}}
}

// pgTarget: the primary of pg ("1.a").
func (cc *cmdClient) pgTarget(pg string) (cmdTarget, error) {
	pool, seed, ok := strings.Cut(pg, ".")
	p, err1 := strconv.ParseInt(pool, 10, 64)
	s, err2 := strconv.ParseUint(seed, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return cmdTarget{}, fmt.Errorf("%w: pg id %q", ErrInvalidInput, pg)
	}
	return cmdTarget{name: "pg " + pg, resolve: func(ctx context.Context) (encoding.EntityAddrVec, uint8, error) {
		m, err := cc.o.WaitForMap(ctx, 0)
		if err != nil {
			return nil, 0, err
		}
		pool := m.Pool(p)
		if pool == nil {
			return nil, 0, fmt.Errorf("rados: pg %s: %w", pg, ErrNotFound)
		}
		// A seed past pg_num folds onto its parent PG, as Objecter's
		// target calculation does.
		_, primary := m.PGToActing(pool.RawPGToPG(osdmap.PG{Pool: p, Seed: uint32(s)}))
		if primary < 0 {
			return nil, 0, fmt.Errorf("rados: pg %s has no primary: %w", pg, syscall.EAGAIN)
		}
		return m.Addrs(primary), encoding.EntityTypeOSD, nil
	}}, nil
}

// monTarget: the mon named name (or of rank name). Since Octopus a
// command to one mon is a "tell" (MCommand), as MonClient sends it.
func (cc *cmdClient) monTarget(name string) cmdTarget {
	return cmdTarget{name: "mon." + name, resolve: func(ctx context.Context) (encoding.EntityAddrVec, uint8, error) {
		mm := cc.mc.MonMap()
		if mm == nil {
			return nil, 0, ErrNotConnected
		}
		if mi, ok := mm.Mon(name); ok {
			return mi.PublicAddrs, encoding.EntityTypeMon, nil
		}
		if r, err := strconv.Atoi(name); err == nil && r >= 0 && r < len(mm.Ranks) {
			if mi, ok := mm.Mon(mm.Ranks[r]); ok {
				return mi.PublicAddrs, encoding.EntityTypeMon, nil
			}
		}
		return nil, 0, fmt.Errorf("rados: mon %q: %w", name, ErrNotFound)
	}}
}

func strs(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func (c *Conn) daemonCommand(ctx context.Context, t func(*cmdClient) (cmdTarget, error), args [][]byte, in []byte) ([]byte, string, error) {
	cl, err := c.connected()
	if err != nil {
		return nil, "", err
	}
	cli, ok := cl.(*client)
	if !ok {
		return nil, "", ErrNotSupported
	}
	target, err := t(cli.cmds)
	if err != nil {
		return nil, "", err
	}
	return cli.cmds.run(ctx, target, strs(args), in)
}

// PingMonitor asks the mon named id how it is, and returns its answer:
// JSON with its health and status (librados' rados_ping_monitor).
func (c *Conn) PingMonitor(ctx context.Context, id string) (string, error) {
	cl, err := c.connected()
	if err != nil {
		return "", err
	}
	cli, ok := cl.(*client)
	if !ok {
		return "", ErrNotSupported
	}
	return cli.cmds.ping(ctx, id)
}

// MgrCommand sends a command (JSON strings, usually one) to the active
// mgr and returns its output and status text.
func (c *Conn) MgrCommand(ctx context.Context, args [][]byte) ([]byte, string, error) {
	return c.MgrCommandWithInputBuffer(ctx, args, nil)
}

// MgrCommandWithInputBuffer is MgrCommand with an input buffer.
func (c *Conn) MgrCommandWithInputBuffer(ctx context.Context, args [][]byte, inputBuffer []byte) ([]byte, string, error) {
	return c.daemonCommand(ctx, func(cc *cmdClient) (cmdTarget, error) {
		return cmdTarget{name: "mgr", resolve: cc.activeMgr}, nil
	}, args, inputBuffer)
}

// OsdCommand sends a command to osd.osd (what `ceph tell osd.N` does).
func (c *Conn) OsdCommand(ctx context.Context, osd int, args [][]byte) ([]byte, string, error) {
	return c.OsdCommandWithInputBuffer(ctx, osd, args, nil)
}

// OsdCommandWithInputBuffer is OsdCommand with an input buffer.
func (c *Conn) OsdCommandWithInputBuffer(ctx context.Context, osd int, args [][]byte, inputBuffer []byte) ([]byte, string, error) {
	return c.daemonCommand(ctx, func(cc *cmdClient) (cmdTarget, error) { return cc.osdTarget(osd), nil }, args, inputBuffer)
}

// PGCommand sends a command to the primary OSD of pgid ("1.a"; the
// command names the pg too, as `ceph pg 1.a query` sends it).
func (c *Conn) PGCommand(ctx context.Context, pgid []byte, args [][]byte) ([]byte, string, error) {
	return c.PGCommandWithInputBuffer(ctx, pgid, args, nil)
}

// PGCommandWithInputBuffer is PGCommand with an input buffer.
func (c *Conn) PGCommandWithInputBuffer(ctx context.Context, pgid []byte, args [][]byte, inputBuffer []byte) ([]byte, string, error) {
	return c.daemonCommand(ctx, func(cc *cmdClient) (cmdTarget, error) { return cc.pgTarget(string(pgid)) }, args, inputBuffer)
}

// MonCommandTarget sends a command to the mon named name (or of that
// rank) rather than to whichever one the session is with.
func (c *Conn) MonCommandTarget(ctx context.Context, name string, args [][]byte) ([]byte, string, error) {
	return c.MonCommandTargetWithInputBuffer(ctx, name, args, nil)
}

// MonCommandTargetWithInputBuffer is MonCommandTarget with an input
// buffer.
func (c *Conn) MonCommandTargetWithInputBuffer(ctx context.Context, name string, args [][]byte, inputBuffer []byte) ([]byte, string, error) {
	return c.daemonCommand(ctx, func(cc *cmdClient) (cmdTarget, error) { return cc.monTarget(name), nil }, args, inputBuffer)
}

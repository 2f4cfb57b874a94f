package mon

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/monmap"
)

// fakeConn is a Conn that records what the Client sends; the test plays
// the monitor by calling the Client's handlers.
type fakeConn struct {
	addrs encoding.EntityAddrVec

	mu     sync.Mutex
	sent   []message.Message
	down   bool
	done   chan struct{}
	closed error
}

func (f *fakeConn) Send(m message.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return msgr.ErrConnClosed
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeConn) SendKeepalive() error              { return nil }
func (f *fakeConn) LastKeepaliveAck() time.Time       { return time.Time{} }
func (f *fakeConn) Done() <-chan struct{}             { return f.done }
func (f *fakeConn) PeerAddrs() encoding.EntityAddrVec { return f.addrs }
func (f *fakeConn) IsMsgr1() bool                     { return false }

func (f *fakeConn) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func (f *fakeConn) MarkDown() { f.close(msgr.ErrMarkedDown) }

// close ends the connection as msgr does: Done closes, Err says why.
func (f *fakeConn) close(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		f.down, f.closed = true, err
		close(f.done)
	}
}

func (f *fakeConn) isDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down
}

// sentOf returns the messages of type T sent so far.
func sentOf[T message.Message](f *fakeConn) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []T
	for _, m := range f.sent {
		if t, ok := m.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// fakeMessenger hands out fakeConns and remembers them in order.
type fakeMessenger struct {
	mu    sync.Mutex
	conns []*fakeConn
	name  encoding.EntityName
}

func (m *fakeMessenger) GetConnection(addrs encoding.EntityAddrVec, peerType uint8) (Conn, error) {
	if peerType != encoding.EntityTypeMon {
		return nil, errors.New("not a mon")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &fakeConn{addrs: addrs, done: make(chan struct{})}
	m.conns = append(m.conns, c)
	return c, nil
}

func (m *fakeMessenger) Name() encoding.EntityName {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.name
}

func (m *fakeMessenger) SetMyName(n encoding.EntityName) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.name = n
}

func (m *fakeMessenger) dialled() []*fakeConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.conns)
}

// newFakeClient is a Client on a fakeMessenger for a cluster of three
// mons (never dialled for real), hunting two at a time; its hunt timer
// and tick are far off so that only the test moves it. The caller closes
// it (inside its synctest bubble).
func newFakeClient(t *testing.T) (*Client, *fakeMessenger) {
	t.Helper()
	cfg := config.New(config.NewFile(), config.DefaultName)
	cfg.Set("mon_host", "v2:127.0.0.1:3300/0 v2:127.0.0.2:3300/0 v2:127.0.0.3:3300/0")
	cfg.Set("fsid", testFSID.String())
	cfg.Set("auth_client_required", "none")
	cred, err := Credentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fm := &fakeMessenger{name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: -1}}
	c, err := newClient(fm, cfg, cred, Options{HuntParallel: 2, HuntInterval: time.Hour, Tick: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return c, fm
}

// startHunt runs Start in a goroutine (its result comes on the channel)
// and returns the connections of the first hunt, once made.
func startHunt(t *testing.T, ctx context.Context, c *Client, fm *fakeMessenger) (<-chan error, []*fakeConn) {
	t.Helper()
	started := make(chan error, 1)
	go func() { started <- c.Start(ctx) }()
	synctest.Wait()
	hunt := fm.dialled()
	if len(hunt) != 2 {
		t.Fatalf("%d connections in the hunt", len(hunt))
	}
	return started, hunt
}

func fakeMonMap(t *testing.T) *messages.MMonMap {
	t.Helper()
	mm := &monmap.MonMap{FSID: testFSID, Epoch: 3, MinMonRelease: 16, Strategy: monmap.StrategyClassic}
	m, err := messages.NewMMonMap(mm, encoding.FeaturesAll)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClientOnFakes drives the MonClient through a hunt, a command, a
// session reset with the command in flight, and a late reply from the
// lost session, with no socket: the test is the monitor. In a synctest
// bubble, Wait lets the Client's goroutines act.
func TestClientOnFakes(t *testing.T) { synctest.Test(t, testClientOnFakes) }

func testClientOnFakes(t *testing.T) {
	c, fm := newFakeClient(t)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The hunt: two mons at once, each asked for the monmap first.
	started, hunt := startHunt(t, ctx, c, fm)
	for i, conn := range hunt {
		if got := sentOf[*messages.MMonGetMap](conn); len(got) != 1 {
			t.Fatalf("hunting conn %d: %d MMonGetMap", i, len(got))
		}
	}
	if hunt[0].addrs.String() == hunt[1].addrs.String() {
		t.Fatalf("both hunting conns to %v", hunt[0].addrs)
	}
	// The second one's session opens first: it wins, the other goes.
	c.connected(hunt[1])
	if !hunt[0].isDown() || hunt[1].isDown() {
		t.Fatalf("after the race: loser down %v, winner down %v", hunt[0].isDown(), hunt[1].isDown())
	}
	if a, ok := c.ActiveMon(); !ok || a.String() != hunt[1].addrs.String() {
		t.Fatalf("active mon %v %v", a, ok)
	}
	if subs := sentOf[*messages.MMonSubscribe](hunt[1]); len(subs) != 1 {
		t.Fatalf("%d subscriptions on the new session", len(subs))
	}
	if !c.handleMessage(hunt[1], fakeMonMap(t)) {
		t.Fatal("monmap not taken")
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if mm := c.MonMap(); mm == nil || mm.Epoch != 3 {
		t.Fatalf("monmap %v", mm)
	}

	// A command, answered.
	type result struct {
		r   *CommandResult
		err error
	}
	run := func(cmd string) chan result {
		ch := make(chan result, 1)
		go func() {
			r, err := c.Command(ctx, []string{cmd}, nil)
			ch <- result{r, err}
		}()
		return ch
	}
	waitCmd := func(conn *fakeConn, n int) *messages.MMonCommand {
		t.Helper()
		synctest.Wait()
		cmds := sentOf[*messages.MMonCommand](conn)
		if len(cmds) != n {
			t.Fatalf("%d commands sent, want %d", len(cmds), n)
		}
		return cmds[n-1]
	}
	done := run("status")
	m := waitCmd(hunt[1], 1)
	if m.FSID != testFSID || m.Cmd[0] != "status" {
		t.Fatalf("command %+v", m)
	}
	c.handleMessage(hunt[1], &messages.MMonCommandAck{Tid: m.Tid, Cmd: m.Cmd, Data: []byte("ok")})
	if r := <-done; r.err != nil || string(r.r.Data) != "ok" {
		t.Fatalf("command: %+v %v", r.r, r.err)
	}

	// A command in flight when the session resets: a new hunt, and the
	// command goes again, same tid, on the new session.
	done = run("df")
	m = waitCmd(hunt[1], 2)
	hunt[1].close(msgr.ErrConnClosed)
	if !c.lost(hunt[1]) {
		t.Fatal("reset of the active session not taken")
	}
	if _, ok := c.ActiveMon(); ok {
		t.Fatal("still a session after the reset")
	}
	rehunt := fm.dialled()[2:]
	if len(rehunt) != 2 {
		t.Fatalf("%d connections in the new hunt", len(rehunt))
	}
	c.connected(rehunt[0])
	again := waitCmd(rehunt[0], 1)
	if again.Tid != m.Tid || again.Cmd[0] != "df" {
		t.Fatalf("resent %+v, sent first %+v", again, m)
	}
	// The lost session's late answer is not the command's.
	c.handleMessage(hunt[1], &messages.MMonCommandAck{Tid: m.Tid, Cmd: m.Cmd, Data: []byte("stale")})
	c.handleMessage(rehunt[0], &messages.MMonCommandAck{Tid: m.Tid, Cmd: m.Cmd, Data: []byte("fresh")})
	if r := <-done; r.err != nil || string(r.r.Data) != "fresh" {
		t.Fatalf("command after the reset: %+v %v", r.r, r.err)
	}
}

// TestClientHuntFailsOver: hunting connections that close before a
// session opens are forgotten, and the reason is what Start reports when
// its context ends.
func TestClientHuntFailsOver(t *testing.T) { synctest.Test(t, testClientHuntFailsOver) }

func testClientHuntFailsOver(t *testing.T) {
	c, fm := newFakeClient(t)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	started, hunt := startHunt(t, ctx, c, fm)
	refused := errors.New("connection refused (fake)")
	for _, conn := range hunt {
		conn.close(refused)
		c.lost(conn)
	}
	c.mu.Lock()
	left := len(c.hunting)
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d hunting conns left", left)
	}
	cancel()
	if err := <-started; !errors.Is(err, ErrNoMonitor) || !errors.Is(err, refused) {
		t.Fatalf("Start: %v", err)
	}
}

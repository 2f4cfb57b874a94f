package mon

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/config"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/messages"
	"github.com/gomsgr/msgr/monmap"
)

// fakeMon is a monitor made of a msgr server and a dispatcher that
// answers what MonClient sends, so that the client is tested without Ceph.
type fakeMon struct {
	t    *testing.T
	m    *msgr.Messenger
	fsid encoding.UUID
	name string

	mu       sync.Mutex
	peers    []encoding.EntityAddrVec // every mon of the fake cluster
	names    []string
	commands []string
	subs     []map[string]messages.SubscribeItem
}

var testFSID = encoding.UUID{0xa6, 0xc7, 0xf4, 0x51, 0xea, 0x9b, 0x45, 0x8a, 0xbd, 0xe4, 0x13, 0xfe, 0x4e, 0x02, 0x54, 0xd7}

func startFakeMon(t *testing.T, name string) *fakeMon {
	t.Helper()
	reg := message.NewRegistry()
	if err := messages.RegisterMon(reg); err != nil {
		t.Fatal(err)
	}
	m, err := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}, Nonce: 7, Registry: reg}, msgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetPolicy(encoding.EntityTypeClient, msgr.StatelessServer(0))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Bind(ctx, netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	f := &fakeMon{t: t, m: m, fsid: testFSID, name: name}
	m.AddDispatcherHead(f)
	t.Cleanup(f.stop)
	return f
}

func (f *fakeMon) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.m.Shutdown(ctx)
}

func (f *fakeMon) monMap() *messages.MMonMap {
	f.mu.Lock()
	defer f.mu.Unlock()
	mm := &monmap.MonMap{FSID: f.fsid, Epoch: 2, MinMonRelease: 16, Strategy: monmap.StrategyClassic}
	for i, a := range f.peers {
		mm.Mons = append(mm.Mons, monmap.MonInfo{Name: f.names[i], PublicAddrs: a})
		mm.Ranks = append(mm.Ranks, f.names[i])
	}
	m, err := messages.NewMMonMap(mm, encoding.FeaturesAll)
	if err != nil {
		f.t.Error(err)
	}
	return m
}

func (f *fakeMon) Dispatch(c *msgr.Conn, m message.Message) bool {
	switch m := m.(type) {
	case *messages.MMonGetMap:
		c.Send(f.monMap())
	case *messages.MMonSubscribe:
		f.mu.Lock()
		f.subs = append(f.subs, m.What)
		f.mu.Unlock()
		if _, ok := m.What[messages.SubMonMap]; ok {
			c.Send(f.monMap())
		}
		if it, ok := m.What[messages.SubOSDMap]; ok {
			if it.Start <= 5 {
				c.Send(&messages.MOSDMap{FSID: f.fsid, Maps: map[uint32][]byte{5: {8, 7, 0, 0, 0, 0}},
					IncrementalMaps: map[uint32][]byte{}, OldestMap: 1, NewestMap: 5})
			}
		}
	case *messages.MMonCommand:
		f.mu.Lock()
		f.commands = append(f.commands, m.Cmd[0])
		f.mu.Unlock()
		ack := &messages.MMonCommandAck{Tid: m.Tid, Cmd: m.Cmd, Data: []byte(f.name + ":" + m.Cmd[0])}
		if m.FSID != f.fsid { // as Monitor::handle_command
			ack.Result, ack.Status = -int32(syscall.EPERM), "wrong fsid"
			c.Send(ack)
			return true
		}
		switch m.Cmd[0] {
		case "hang":
			return true
		case "fail":
			ack.Result, ack.Status = -int32(syscall.EINVAL), "bad thing"
		}
		c.Send(ack)
	case *messages.MMonGetVersion:
		c.Send(&messages.MMonGetVersionReply{Handle: m.Handle, MapVersion: 5, OldestVersion: 1})
	default:
		return false
	}
	return true
}

func (f *fakeMon) sawCommand(cmd string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.commands {
		if c == cmd {
			n++
		}
	}
	return n
}

// fakeCluster wires mons into one monmap and returns a client config.
func fakeCluster(t *testing.T, mons ...*fakeMon) *config.Config {
	var addrs []encoding.EntityAddrVec
	var names []string
	host := ""
	for _, f := range mons {
		addrs = append(addrs, f.m.Addrs())
		names = append(names, f.name)
		host += f.m.Addrs().String() + " "
	}
	for _, f := range mons {
		f.mu.Lock()
		f.peers, f.names = addrs, names
		f.mu.Unlock()
	}
	cfg := config.New(config.NewFile(), config.DefaultName)
	cfg.Set("mon_host", host)
	cfg.Set("fsid", testFSID.String())
	cfg.Set("auth_client_required", "none")
	return cfg
}

func dialOffline(t *testing.T, cfg *config.Config, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientOffline(t *testing.T) {
	f := startFakeMon(t, "a")
	cfg := fakeCluster(t, f)
	c := dialOffline(t, cfg, Options{Tick: 20 * time.Millisecond, PingInterval: 20 * time.Millisecond})
	if mm := c.MonMap(); mm == nil || mm.Epoch != 2 || mm.FSID != testFSID || c.FSID() != testFSID {
		t.Fatalf("monmap %v", mm)
	}
	if c.GlobalID() == 0 || c.Messenger().Name().Num != int64(c.GlobalID()) {
		t.Errorf("global id %d, messenger named %v", c.GlobalID(), c.Messenger().Name())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r, err := c.Command(ctx, []string{"status"}, nil)
	if err != nil || string(r.Data) != "a:status" {
		t.Fatalf("command: %+v %v", r, err)
	}
	r, err = c.Command(ctx, []string{"fail"}, nil)
	var re *ResultError
	if !errors.As(err, &re) || !errors.Is(err, syscall.EINVAL) || r.Result != -22 || err.Error() != "Error EINVAL: bad thing" {
		t.Errorf("failing command: %+v %v", r, err)
	}
	short, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := c.Command(short, []string{"hang"}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("command timeout: %v", err)
	}
	c.mu.Lock()
	left := len(c.cmds)
	c.mu.Unlock()
	if left != 0 {
		t.Errorf("%d commands still pending after their context ended", left)
	}

	acked := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return !c.active.LastKeepaliveAck().IsZero()
	}
	for !acked() {
		select {
		case <-ctx.Done():
			t.Fatal("no keepalive answered")
		case <-time.After(10 * time.Millisecond):
		}
	}

	newest, oldest, err := c.GetVersion(ctx, messages.SubOSDMap)
	if err != nil || newest != 5 || oldest != 1 {
		t.Errorf("get_version: %d %d %v", newest, oldest, err)
	}

	maps := make(chan *messages.MOSDMap, 1)
	c.OnOSDMap(func(m *messages.MOSDMap) { maps <- m })
	c.Subscribe(messages.SubOSDMap, 0, false)
	select {
	case m := <-maps:
		if m.Last() != 5 {
			t.Errorf("osdmap %v", m)
		}
	case <-ctx.Done():
		t.Fatal("no osdmap")
	}
	c.mu.Lock()
	next := c.subs[messages.SubOSDMap].Start
	c.mu.Unlock()
	if next != 6 {
		t.Errorf("osdmap subscription should continue from 6, not %d", next)
	}
}

// TestClientHunting: the first configured mon is dead; the client finds
// the live one. When that one goes away mid-command, the client hunts to
// another and the command is sent again there.
func TestClientHunting(t *testing.T) {
	a, b := startFakeMon(t, "a"), startFakeMon(t, "b")
	cfg := fakeCluster(t, a, b)
	cfg.Set("mon_host", "v2:127.0.0.1:1 "+a.m.Addrs().String())
	// Built by hand (a shared messenger, as package rados would) so that
	// the dead mon is certainly tried first.
	cred, err := Credentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMessenger(cred, nil, msgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	c, err := NewClient(m, cfg, cred, Options{HuntParallel: 1, HuntInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.next = 0
	m.AddDispatcherHead(c)
	start := time.Now()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := c.Start(sctx); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	lastErr := c.lastErr
	c.mu.Unlock()
	t.Logf("session after %v; the dead mon failed with: %v", time.Since(start), lastErr)
	if lastErr == nil {
		t.Error("the dead mon was not tried")
	}
	active, _ := c.ActiveMon()
	if active.String() != a.m.Addrs().String() {
		t.Fatalf("active mon %v, want %v", active, a.m.Addrs())
	}
	// Now the monmap knows a and b; a answers nothing and then dies.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		r, err := c.Command(ctx, []string{"hang"}, nil)
		if err == nil && string(r.Data) != "b:hang" {
			err = errors.New("answered by " + string(r.Data))
		}
		done <- err
	}()
	for a.sawCommand("hang") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	b.mu.Lock()
	b.commands = nil
	b.mu.Unlock()
	// b answers "hang"; a dies with the command unanswered.
	b.m.AddDispatcherHead(&hangOnce{fakeMon: b})
	a.stop()
	if err := <-done; err != nil {
		t.Fatalf("command across the failover: %v", err)
	}
	if active, _ := c.ActiveMon(); active.String() != b.m.Addrs().String() {
		t.Errorf("active mon %v after failover, want %v", active, b.m.Addrs())
	}
}

// hangOnce makes a fake mon answer "hang" (a command the first mon sat on).
type hangOnce struct{ *fakeMon }

func (h *hangOnce) Dispatch(c *msgr.Conn, m message.Message) bool {
	if cmd, ok := m.(*messages.MMonCommand); ok && cmd.Cmd[0] == "hang" {
		c.Send(&messages.MMonCommandAck{Tid: cmd.Tid, Cmd: cmd.Cmd, Data: []byte("b:hang")})
		return true
	}
	return false
}

func TestClientFailures(t *testing.T) {
	f := startFakeMon(t, "a")
	cfg := fakeCluster(t, f)

	wrong := config.New(config.NewFile(), config.DefaultName)
	wrong.Set("mon_host", f.m.Addrs().String())
	wrong.Set("fsid", "00000000-0000-0000-0000-000000000001")
	wrong.Set("auth_client_required", "none")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Dial(ctx, wrong, Options{}); !errors.Is(err, ErrWrongFSID) {
		t.Errorf("wrong fsid: %v", err)
	}

	c := dialOffline(t, cfg, Options{})
	res := make(chan error, 1)
	go func() {
		_, err := c.Command(context.Background(), []string{"hang"}, nil)
		res <- err
	}()
	for f.sawCommand("hang") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	c.Close()
	if err := <-res; !errors.Is(err, ErrClosed) {
		t.Errorf("pending command at Close: %v", err)
	}
	if _, err := c.Command(ctx, []string{"status"}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("command after Close: %v", err)
	}

}

// TestClientCommandBeforeSession: a command issued before the session and
// the monmap exist waits for them and then goes out with the right fsid.
func TestClientCommandBeforeSession(t *testing.T) {
	f := startFakeMon(t, "a")
	cfg := fakeCluster(t, f)
	cred, err := Credentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMessenger(cred, nil, msgr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	c, err := NewClient(m, cfg, cred, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m.AddDispatcherHead(c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		r, err := c.Command(ctx, []string{"early"}, nil)
		if err == nil && string(r.Data) != "a:early" {
			err = errors.New(string(r.Data))
		}
		res <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSession(ctx); err != nil {
		t.Fatal(err)
	}
}

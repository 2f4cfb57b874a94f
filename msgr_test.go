package msgr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testMsgType is a message type of our own (not one of Ceph's).
const testMsgType = 0x7e01

// testMsg carries a sender id, a per-sender sequence number and an opaque
// data segment.
type testMsg struct {
	From uint64
	Seq  uint64
	Data []byte
}

func (*testMsg) Type() uint16              { return testMsgType }
func (*testMsg) Version() (uint16, uint16) { return 1, 1 }

func (t *testMsg) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	p.Front = binary.LittleEndian.AppendUint64(p.Front, t.From)
	p.Front = binary.LittleEndian.AppendUint64(p.Front, t.Seq)
	p.Data = t.Data
	return nil
}

func (t *testMsg) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	if len(p.Front) != 16 {
		return fmt.Errorf("front of %d bytes", len(p.Front))
	}
	t.From = binary.LittleEndian.Uint64(p.Front)
	t.Seq = binary.LittleEndian.Uint64(p.Front[8:])
	t.Data = append([]byte(nil), p.Data...)
	return nil
}

func testRegistry(t testing.TB) *message.Registry {
	r := message.NewRegistry()
	if err := r.Register(testMsgType, func() message.Message { return &testMsg{} }); err != nil {
		t.Fatal(err)
	}
	return r
}

var loopback = netip.MustParseAddr("127.0.0.1")

// testStack, when set, is the transport of the messengers tests make
// (nil: the shared event-loop pool). Tests in this package do not run in
// parallel, so a test may set it for its duration with useGoNet.
var testStack Stack

// useGoNet runs the rest of t's messengers on a goroutine-per-connection
// stack, closed after them.
func useGoNet(t *testing.T) {
	s := NewGoNetStack()
	testStack = s
	t.Cleanup(func() {
		testStack = nil
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("MSGR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newTestMessenger makes a started messenger; bind says whether it listens
// (on a port the kernel picks).
func newTestMessenger(t testing.TB, name encoding.EntityName, bind bool, opts Options, d Dispatcher) *Messenger {
	t.Helper()
	var addr netip.AddrPort
	if bind {
		addr = netip.AddrPortFrom(loopback, 0)
	}
	return startMessenger(t, name, uint32(time.Now().UnixNano()), addr, opts, d)
}

// startMessenger makes a started messenger listening on addr when valid;
// t's cleanup shuts it down.
func startMessenger(t testing.TB, name encoding.EntityName, nonce uint32, addr netip.AddrPort, opts Options, d Dispatcher) *Messenger {
	t.Helper()
	return startMessengerAt(t, Config{Name: name, Nonce: nonce}, addr, opts, d)
}

// startMessengerCfg is newTestMessenger with a whole Config.
func startMessengerCfg(t testing.TB, cfg Config, bind bool, opts Options, d Dispatcher) *Messenger {
	t.Helper()
	var addr netip.AddrPort
	if bind {
		addr = netipLoopback0()
	}
	return startMessengerAt(t, cfg, addr, opts, d)
}

func startMessengerAt(t testing.TB, cfg Config, addr netip.AddrPort, opts Options, d Dispatcher) *Messenger {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.InitialBackoff == 0 {
		opts.InitialBackoff = 10 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 100 * time.Millisecond
	}
	if cfg.Registry == nil {
		cfg.Registry = testRegistry(t)
	}
	cfg.Stack = testStack
	m, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if addr.IsValid() {
		if err := m.Bind(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	if d != nil {
		m.AddDispatcherHead(d)
	}
	t.Cleanup(func() { shutdown(t, m) })
	return m
}

func shutdown(t testing.TB, m *Messenger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil {
		t.Errorf("shutdown %v: %v", m.Name(), err)
	}
}

// recorder is a Dispatcher that records what it gets.
type recorder struct {
	mu       sync.Mutex
	msgs     []*testMsg
	conns    []*Conn
	connects int
	accepts  int
	resets   int
	remote   int
	refused  int
	changed  chan struct{} // signalled on every event
	echo     bool          // reply to every message on its connection
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Dispatch(c *Conn, m message.Message) bool {
	tm, ok := m.(*testMsg)
	if !ok {
		return false
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, tm)
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	if r.echo {
		if err := c.Send(&testMsg{From: tm.From, Seq: tm.Seq, Data: tm.Data}); err != nil && !errors.Is(err, ErrConnClosed) {
			panic(err)
		}
	}
	r.signal()
	return true
}

func (r *recorder) HandleConnect(*Conn)      { r.bump(&r.connects) }
func (r *recorder) HandleAccept(*Conn)       { r.bump(&r.accepts) }
func (r *recorder) HandleReset(*Conn) bool   { r.bump(&r.resets); return true }
func (r *recorder) HandleRemoteReset(*Conn)  { r.bump(&r.remote) }
func (r *recorder) HandleRefused(*Conn) bool { r.bump(&r.refused); return true }
func (r *recorder) bump(p *int)              { r.mu.Lock(); *p++; r.mu.Unlock(); r.signal() }
func (r *recorder) count() int               { r.mu.Lock(); defer r.mu.Unlock(); return len(r.msgs) }
func (r *recorder) get(p *int) int           { r.mu.Lock(); defer r.mu.Unlock(); return *p }

// waitFor waits until cond holds, re-checking on every event; it fails
// the test after the deadline.
func (r *recorder) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-r.changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// echoHellos sends n messages "hello i" as sender 1 on c, to a peer that
// echoes, and checks that rec gets them back in order and intact.
func echoHellos(t *testing.T, c *Conn, rec *recorder, n int) {
	t.Helper()
	for i := range n {
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: []byte(fmt.Sprintf("hello %d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	rec.waitFor(t, "echoes", func() bool { return rec.count() == n })
	for i, m := range rec.msgs {
		if m.Seq != uint64(i) || string(m.Data) != fmt.Sprintf("hello %d", i) {
			t.Fatalf("echo %d: got seq %d data %q", i, m.Seq, m.Data)
		}
	}
}

// echoSizes sends a message of each size as sender 1 on c (byte j of
// message i is i+j), to a peer that echoes, and checks that rec gets them
// back in order and intact.
func echoSizes(t *testing.T, c *Conn, rec *recorder, sizes []int) {
	t.Helper()
	for i, n := range sizes {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(i + j)
		}
		if err := c.Send(&testMsg{From: 1, Seq: uint64(i), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	rec.waitFor(t, "echoes", func() bool { return rec.countFrom(1) == len(sizes) })
	checkInOrder(t, rec, 1, 0, uint64(len(sizes)))
	for i, m := range rec.msgs {
		if len(m.Data) != sizes[i] {
			t.Fatalf("message %d: %d bytes, want %d", i, len(m.Data), sizes[i])
		}
		for j, b := range m.Data {
			if b != byte(i+j) {
				t.Fatalf("message %d byte %d corrupted", i, j)
			}
		}
	}
}

var (
	osdName    = func(n int64) encoding.EntityName { return encoding.EntityName{Type: encoding.EntityTypeOSD, Num: n} }
	clientName = func(n int64) encoding.EntityName { return encoding.EntityName{Type: encoding.EntityTypeClient, Num: n} }
)

func TestBasicExchange(t *testing.T) {
	srvRec := newRecorder()
	srvRec.echo = true
	srv := newTestMessenger(t, osdName(0), true, Options{}, srvRec)
	srv.SetDefaultPolicy(StatelessServer(0))
	cliRec := newRecorder()
	cli := newTestMessenger(t, clientName(1), false, Options{}, cliRec)
	cli.SetDefaultPolicy(LossyClient(0))

	c, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}
	echoHellos(t, c, cliRec, 100)
	if got := cliRec.get(&cliRec.connects); got != 1 {
		t.Errorf("connects = %d, want 1", got)
	}
	if got := srvRec.get(&srvRec.accepts); got != 1 {
		t.Errorf("accepts = %d, want 1", got)
	}
	if !c.IsConnected() || c.PeerName() != osdName(0) {
		t.Errorf("conn: connected %v peer %v", c.IsConnected(), c.PeerName())
	}
}

func netipLoopback0() netip.AddrPort { return netip.AddrPortFrom(loopback, 0) }

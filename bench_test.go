package msgr

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomsgr/msgr/auth"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
)

const benchMsgType = 0x7e02

// benchMsg carries its send time; its data is sent from the sender's
// buffer without a copy and not kept by the receiver.
type benchMsg struct {
	Sent    int64 // nanoseconds since the benchmark's base time
	Data    []byte
	DataLen int
}

func (*benchMsg) Type() uint16              { return benchMsgType }
func (*benchMsg) Version() (uint16, uint16) { return 1, 1 }

func (m *benchMsg) Encode(h *message.Header, _ uint64, p *message.Payload) error {
	p.Front = binary.LittleEndian.AppendUint64(p.Front, uint64(m.Sent))
	p.Data = m.Data
	return nil
}

func (m *benchMsg) Decode(h *message.Header, _ uint64, p *message.Payload) error {
	if len(p.Front) != 8 {
		return fmt.Errorf("front of %d bytes", len(p.Front))
	}
	m.Sent = int64(binary.LittleEndian.Uint64(p.Front))
	m.DataLen = len(p.Data)
	return nil
}

// benchSink records one-way latencies (both messengers share the clock)
// on the server's loops, by fast dispatch as Ceph's perf_msgr_server does.
type benchSink struct {
	base time.Time
	mu   sync.Mutex
	lat  []time.Duration
	want int
	done chan struct{}
}

func (s *benchSink) Dispatch(*Conn, message.Message) bool { return false }

func (s *benchSink) CanFastDispatch(m message.Message) bool { _, ok := m.(*benchMsg); return ok }

func (s *benchSink) FastDispatch(c *Conn, m message.Message) {
	bm := m.(*benchMsg)
	d := time.Since(s.base) - time.Duration(bm.Sent)
	s.mu.Lock()
	s.lat = append(s.lat, d)
	if len(s.lat) == s.want {
		close(s.done)
	}
	s.mu.Unlock()
}

// BenchmarkMessenger measures messages/s and one-way latency between two
// messengers on loopback (lossless client to stateful server, crc mode,
// auth none) with a window of messages in flight: the outbound queue
// bound, which on a lossless connection counts messages until the peer
// acknowledges them. window=1 is a ping-pong; window=64 a stream.
func BenchmarkMessenger(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 4 << 20} {
		windows := []int{64, 1}
		if size > 1<<20 {
			windows = []int{8, 1} // 64 x 4 MiB in flight only measures queueing
		}
		for _, window := range windows {
			name := fmt.Sprintf("size=%dKiB/window=%d", size>>10, window)
			b.Run(name, func(b *testing.B) { benchMessenger(b, size, window, 0) })
		}
	}
}

// BenchmarkMessengerSecure is BenchmarkMessenger's streams in cephx
// secure mode (AES-128-GCM frames).
func BenchmarkMessengerSecure(b *testing.B) {
	for _, sw := range [][2]int{{4 << 10, 64}, {4 << 20, 8}} {
		b.Run(fmt.Sprintf("size=%dKiB/window=%d", sw[0]>>10, sw[1]), func(b *testing.B) {
			benchMessenger(b, sw[0], sw[1], auth.ModeSecure)
		})
	}
}

// benchMessenger runs one measurement; mode 0 is auth none in crc mode,
// otherwise cephx in that mode.
func benchMessenger(b *testing.B, size, window int, mode uint32) {
	reg := message.NewRegistry()
	if err := reg.Register(benchMsgType, func() message.Message { return &benchMsg{} }); err != nil {
		b.Fatal(err)
	}
	var srvAuth func(uint8) (auth.ServerHandler, error)
	var cliAuth func(uint8) (auth.ClientHandler, error)
	srvName := osdName(0)
	if mode != 0 {
		srvAuth, cliAuth = cephxPair(b, mode)
		srvName = encoding.EntityName{Type: encoding.EntityTypeMon, Num: 0}
	}
	mk := func(name encoding.EntityName, bind bool, d Dispatcher, opts Options) *Messenger {
		opts.Logger = testLogger(b)
		m, err := New(Config{Name: name, Nonce: uint32(time.Now().UnixNano()), Registry: reg, AuthServer: srvAuth, AuthClient: cliAuth}, opts)
		if err != nil {
			b.Fatal(err)
		}
		if bind {
			if err := m.Bind(context.Background(), netipLoopback0()); err != nil {
				b.Fatal(err)
			}
		}
		if err := m.Start(); err != nil {
			b.Fatal(err)
		}
		m.AddDispatcherHead(d)
		b.Cleanup(func() { shutdown(b, m) })
		return m
	}
	sink := &benchSink{base: time.Now(), want: b.N, done: make(chan struct{})}
	srv := mk(srvName, true, sink, Options{})
	srv.SetDefaultPolicy(StatefulServer(0))
	cli := mk(clientName(1), false, DispatcherFunc(func(*Conn, message.Message) bool { return false }), Options{OutboundQueueMessages: window})
	cli.SetDefaultPolicy(LosslessClient(0))
	c, err := cli.GetConnection(srv.Addrs(), srvName.Type)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	// Open the session before timing.
	if err := c.Connect(); err != nil {
		b.Fatal(err)
	}
	for !c.IsConnected() {
		select {
		case <-c.Done():
			b.Fatal(c.Err())
		case <-time.After(time.Millisecond):
		}
	}
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		m := &benchMsg{Sent: int64(time.Since(sink.base)), Data: data}
		if err := c.SendContext(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	<-sink.done
	elapsed := time.Since(start)
	b.StopTimer()
	lat := sink.lat
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / 1e3 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(p(0.50), "p50-µs")
	b.ReportMetric(p(0.99), "p99-µs")
}

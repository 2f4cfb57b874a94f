package prometheus

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/gomsgr/msgr"
	"github.com/gomsgr/msgr/encoding"
	"github.com/gomsgr/msgr/message"
	"github.com/gomsgr/msgr/perf"
)

type ping struct{ n uint64 }

const pingType = 0x7e11

func (*ping) Type() uint16              { return pingType }
func (*ping) Version() (uint16, uint16) { return 1, 1 }
func (p *ping) Encode(_ *message.Header, _ uint64, pl *message.Payload) error {
	pl.Front = encoding.AppendU64(pl.Front, p.n)
	return nil
}
func (p *ping) Decode(_ *message.Header, _ uint64, pl *message.Payload) error {
	d := encoding.NewDecoder(pl.Front)
	p.n = d.U64()
	return d.Err()
}

// sum adds a metric over every family whose name ends in suffix (one
// per worker).
func sum(mfs map[string]*dto.MetricFamily, prefix, suffix string) float64 {
	var n float64
	for name, mf := range mfs {
		if len(name) > len(prefix)+len(suffix) && name[:len(prefix)] == prefix && name[len(name)-len(suffix):] == suffix {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return n
}

// Two messengers exchange pings while the endpoint is scraped: the
// worker counters move between scrapes, as a Prometheus server sees them.
func TestScrapeUnderLoad(t *testing.T) {
	coll := perf.NewCollection()
	reg := message.NewRegistry()
	if err := reg.Register(pingType, func() message.Message { return &ping{} }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeOSD}, Nonce: 1, Registry: reg}, msgr.Options{Perf: coll})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetDefaultPolicy(msgr.StatelessServer(0))
	if err := srv.Bind(ctx, netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	srv.AddDispatcherHead(msgr.DispatcherFunc(func(c *msgr.Conn, m message.Message) bool {
		c.Send(m)
		return true
	}))
	defer srv.Shutdown(ctx)
	got := make(chan struct{}, 1024)
	cli, err := msgr.New(msgr.Config{Name: encoding.EntityName{Type: encoding.EntityTypeClient, Num: 4100}, Nonce: 2, Registry: reg}, msgr.Options{Perf: coll})
	if err != nil {
		t.Fatal(err)
	}
	cli.SetDefaultPolicy(msgr.LossyClient(0))
	cli.Start()
	cli.AddDispatcherHead(msgr.DispatcherFunc(func(*msgr.Conn, message.Message) bool {
		got <- struct{}{}
		return true
	}))
	defer cli.Shutdown(ctx)
	conn, err := cli.GetConnection(srv.Addrs(), encoding.EntityTypeOSD)
	if err != nil {
		t.Fatal(err)
	}

	preg := prometheus.NewPedanticRegistry()
	preg.MustRegister(NewCollector(coll, "client.4100"))
	web := httptest.NewServer(promhttp.HandlerFor(preg, promhttp.HandlerOpts{}))
	defer web.Close()

	round := func(n int) {
		for i := range n {
			if err := conn.Send(&ping{n: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		for range n {
			select {
			case <-got:
			case <-ctx.Done():
				t.Fatal("echoes did not come back")
			}
		}
	}
	const w = "ceph_AsyncMessenger_Worker_"
	round(100)
	first := scrape(t, web.URL)
	round(100)
	second := scrape(t, web.URL)
	for _, c := range []string{"_msgr_recv_messages", "_msgr_send_messages", "_msgr_recv_bytes", "_msgr_send_bytes"} {
		a, b := sum(first, w, c), sum(second, w, c)
		if a < 200 || b <= a {
			t.Errorf("%s: %v then %v, want at least 200 and moving", c, a, b)
		}
	}
	if n := sum(second, w, "_msgr_active_connections"); n != 2 {
		t.Errorf("active connections %v, want 2", n)
	}
	if mf := second["ceph_msgr_client_4100_connections"]; mf == nil || mf.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("ceph_msgr_client_4100_connections: %v", mf)
	}
}

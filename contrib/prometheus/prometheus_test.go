package prometheus

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gomsgr/msgr/perf"
)

func TestName(t *testing.T) {
	for _, tc := range []struct{ section, counter, want string }{
		{"AsyncMessenger::Worker-0", "msgr_recv_messages", "ceph_AsyncMessenger_Worker_0_msgr_recv_messages"},
		{"objecter", "op_active", "ceph_objecter_op_active"},
		{"throttle-msgr_dispatch_throttler-client", "get", "ceph_throttle_msgr_dispatch_throttler_client_get"},
		{"mds", "a+b-", "ceph_mds_a_plusb_minus"},
		{"a/b c", "d", "ceph_a_b_c_d"},
	} {
		if got := Name(tc.section, tc.counter); got != tc.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tc.section, tc.counter, got, tc.want)
		}
	}
}

// scrape fetches the endpoint and parses the text exposition format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation) // Ceph's names are classic names
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, typ dto.MetricType) float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
	if mf.GetType() != typ {
		t.Fatalf("%s is %v, want %v", name, mf.GetType(), typ)
	}
	m := mf.GetMetric()[0]
	if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "ceph_daemon" || l[0].GetValue() != "client.admin" {
		t.Fatalf("%s labels %v", name, l)
	}
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	default:
		return m.GetGauge().GetValue()
	}
}

func TestScrape(t *testing.T) {
	coll := perf.NewCollection()
	b := perf.NewBuilder("AsyncMessenger::Worker-0")
	recv := b.Add(perf.Desc{Name: "msgr_recv_messages", Description: "Network received messages", Kind: perf.Counter})
	active := b.Add(perf.Desc{Name: "msgr_active_connections", Description: "Active connection number", Kind: perf.Gauge})
	running := b.Add(perf.Desc{Name: "msgr_running_total_time", Description: "The total time of thread running", Kind: perf.Time})
	lat := b.Add(perf.Desc{Name: "msgr_send_messages_queue_lat", Description: "Network sent messages lat", Kind: perf.TimeAvg})
	oplen := b.Add(perf.Desc{Name: "oplen_avg", Description: "Average length of operation vector", Kind: perf.U64Avg})
	l := b.Logger()
	coll.Add(l)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(coll, "client.admin"))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	l.Inc(recv, 3)
	l.Inc(active, 2)
	l.TInc(running, 1500*time.Millisecond)
	l.TInc(lat, 2*time.Second)
	l.AvgAdd(oplen, 4)
	mfs := scrape(t, srv.URL)
	p := "ceph_AsyncMessenger_Worker_0_"
	for _, tc := range []struct {
		name string
		typ  dto.MetricType
		want float64
	}{
		{p + "msgr_recv_messages", dto.MetricType_COUNTER, 3},
		{p + "msgr_active_connections", dto.MetricType_GAUGE, 2},
		{p + "msgr_running_total_time", dto.MetricType_GAUGE, 1.5},
		{p + "msgr_send_messages_queue_lat_sum", dto.MetricType_COUNTER, 2},
		{p + "msgr_send_messages_queue_lat_count", dto.MetricType_COUNTER, 1},
		{p + "oplen_avg_sum", dto.MetricType_COUNTER, 4},
		{p + "oplen_avg_count", dto.MetricType_COUNTER, 1},
	} {
		if got := value(t, mfs, tc.name, tc.typ); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if h := mfs[p+"msgr_recv_messages"].GetHelp(); h != "Network received messages" {
		t.Errorf("help %q", h)
	}
	// Counters move between scrapes.
	l.Inc(recv, 4)
	if got := value(t, scrape(t, srv.URL), p+"msgr_recv_messages", dto.MetricType_COUNTER); got != 7 {
		t.Errorf("after more traffic: %v", got)
	}
}

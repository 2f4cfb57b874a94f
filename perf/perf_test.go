package perf

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	lRecv = iota
	lActive
	lRunning
	lLat
	lLen
	lFunc
)

func testBuilder(name string, fn func() uint64) *Builder {
	b := NewBuilder(name)
	b.Add(Desc{Name: "recv", Description: "received", Kind: Counter, Unit: Bytes})
	b.Add(Desc{Name: "active", Description: "active", Kind: Gauge, Nick: "actv", Priority: PrioInteresting})
	b.Add(Desc{Name: "running", Description: "running time", Kind: Time})
	b.Add(Desc{Name: "lat", Description: "latency", Kind: TimeAvg})
	b.Add(Desc{Name: "len", Description: "length", Kind: U64Avg})
	b.Add(Desc{Name: "fn", Description: "read at dump", Kind: Gauge, Read: fn})
	return b
}

func TestDumpShapes(t *testing.T) {
	l := testBuilder("sec", func() uint64 { return 42 }).Logger()
	l.Inc(lRecv, 100)
	l.Inc(lActive, 3)
	l.Dec(lActive, 1)
	l.TInc(lRunning, 931152*time.Nanosecond)
	l.TInc(lLat, 2*time.Second)
	l.TInc(lLat, time.Second)
	l.AvgAdd(lLen, 4)
	l.AvgAdd(lLen, 2)
	c := NewCollection()
	if err := c.Add(l); err != nil {
		t.Fatal(err)
	}
	got := string(AppendDump(nil, c.Read(), "", ""))
	want := `{"sec":{"recv":100,"active":2,"running":0.000931152,"lat":{"avgcount":2,"sum":3.0,"avgtime":1.5},"len":{"avgcount":2,"sum":6},"fn":42}}`
	if got != want {
		t.Fatalf("dump\n got %s\nwant %s", got, want)
	}
	for _, tc := range []struct{ logger, counter, want string }{
		{"sec", "recv", `{"sec":{"recv":100}}`},
		{"nosuch", "", `{}`},
		{"", "active", `{"sec":{"active":2}}`},
	} {
		if got := string(AppendDump(nil, c.Read(), tc.logger, tc.counter)); got != tc.want {
			t.Errorf("dump %q %q = %s, want %s", tc.logger, tc.counter, got, tc.want)
		}
	}
	var v map[string]map[string]any
	if err := json.Unmarshal([]byte(c.String()), &v); err != nil {
		t.Fatalf("String is not JSON: %v", err)
	}
}

func TestSchema(t *testing.T) {
	c := NewCollection()
	c.Add(testBuilder("sec", nil).Logger())
	var s map[string]map[string]struct {
		Type        int    `json:"type"`
		MetricType  string `json:"metric_type"`
		ValueType   string `json:"value_type"`
		Description string `json:"description"`
		Nick        string `json:"nick"`
		Priority    int    `json:"priority"`
		Units       string `json:"units"`
	}
	if err := json.Unmarshal(AppendSchema(nil, c.Read()), &s); err != nil {
		t.Fatal(err)
	}
	// Type numbers as the real OSD's perf schema prints them.
	for _, tc := range []struct {
		name, metric, value, units string
		typ                        int
	}{
		{"recv", "counter", "integer", "bytes", 10},
		{"active", "gauge", "integer", "none", 2},
		{"running", "gauge", "real", "none", 1},
		{"lat", "gauge", "real-integer-pair", "none", 5},
		{"len", "gauge", "integer-integer-pair", "none", 6},
	} {
		d := s["sec"][tc.name]
		if d.Type != tc.typ || d.MetricType != tc.metric || d.ValueType != tc.value || d.Units != tc.units {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
	if d := s["sec"]["active"]; d.Nick != "actv" || d.Priority != PrioInteresting {
		t.Errorf("active: %+v", d)
	}
}

func TestAppendSeconds(t *testing.T) {
	for _, tc := range []struct {
		ns   uint64
		want string
	}{{0, "0.0"}, {931152, "0.000931152"}, {1500000000, "1.5"}, {12e9, "12.0"}, {1, "0.000000001"}} {
		if got := string(AppendSeconds(nil, tc.ns)); got != tc.want {
			t.Errorf("%d: %s, want %s", tc.ns, got, tc.want)
		}
	}
}

func TestLoggersPerWorker(t *testing.T) {
	ls := testBuilder("W", nil).Loggers(3)
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 * (i + 1) {
				l.Inc(lRecv, 2)
			}
		}()
	}
	wg.Wait()
	c := NewCollection()
	for _, l := range ls {
		if err := c.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	rs := c.Read()
	for i, r := range rs {
		if want := fmt.Sprintf("W-%d", i); r.Name != want || r.Values[lRecv].Sum != uint64(2000*(i+1)) {
			t.Errorf("section %d: %s %+v", i, r.Name, r.Values[lRecv])
		}
	}
}

// A reader sees an average's sum and count from the same updates.
func TestAvgConsistent(t *testing.T) {
	l := testBuilder("a", nil).Logger()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20000 {
			l.AvgAdd(lLen, 5)
		}
	}()
	for {
		v := l.Get(lLen)
		if v.Sum != 5*v.Count {
			t.Fatalf("torn read: %+v", v)
		}
		select {
		case <-done:
			return
		default:
		}
	}
}

func TestNilIgnores(t *testing.T) {
	var l *Logger
	l.Inc(0, 1)
	l.Dec(0, 1)
	l.Set(0, 1)
	l.TInc(0, time.Second)
	l.AvgAdd(0, 1)
	var c *Collection
	if err := c.Add(testBuilder("x", nil).Logger()); err != nil || c.Read() != nil {
		t.Fatal("nil collection")
	}
}

func TestCollectionNames(t *testing.T) {
	c := NewCollection()
	a := testBuilder("m", nil).Logger()
	if err := c.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(testBuilder("m", nil).Logger()); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if n := c.UniqueName("m"); n != "m-2" {
		t.Fatalf("UniqueName = %q", n)
	}
	c.Remove(testBuilder("m", nil).Logger()) // another section of that name: kept
	if len(c.Read()) != 1 {
		t.Fatal("removed a section that was not registered")
	}
	c.Remove(a)
	if len(c.Read()) != 0 {
		t.Fatal("not removed")
	}
}

func TestUpdatesDoNotAllocate(t *testing.T) {
	l := testBuilder("z", nil).Logger()
	ws := testBuilder("z", nil).Loggers(2)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Inc", func() { l.Inc(lRecv, 1) }},
		{"Dec", func() { l.Dec(lActive, 1) }},
		{"Set", func() { l.Set(lActive, 1) }},
		{"TInc", func() { l.TInc(lRunning, time.Microsecond) }},
		{"TIncAvg", func() { l.TInc(lLat, time.Microsecond) }},
		{"AvgAdd", func() { l.AvgAdd(lLen, 3) }},
		{"worker Inc", func() { ws[1].Inc(lRecv, 1) }},
		{"nil", func() { (*Logger)(nil).Inc(lRecv, 1) }},
	} {
		if n := testing.AllocsPerRun(1000, tc.f); n != 0 {
			t.Errorf("%s: %v allocations per update", tc.name, n)
		}
	}
}

func TestExpvar(t *testing.T) {
	c := NewCollection()
	l := testBuilder("ev", nil).Logger()
	c.Add(l)
	l.Inc(lRecv, 5)
	var v expvar.Var = c
	var m map[string]map[string]any
	if err := json.Unmarshal([]byte(v.String()), &m); err != nil {
		t.Fatal(err)
	}
	if m["ev"]["recv"].(float64) != 5 {
		t.Fatalf("expvar view %v", m)
	}
}

func BenchmarkInc(b *testing.B) {
	l := testBuilder("b", nil).Logger()
	for b.Loop() {
		l.Inc(lRecv, 1)
	}
}

// Each goroutine has its own Logger: no cache line is shared.
func BenchmarkPerWorkerIncParallel(b *testing.B) {
	ls := testBuilder("b", nil).Loggers(64)
	var id atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		l := ls[id.Add(1)]
		for pb.Next() {
			l.Inc(lRecv, 1)
		}
	})
}

func BenchmarkSharedIncParallel(b *testing.B) {
	l := testBuilder("b", nil).Logger()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Inc(lRecv, 1)
		}
	})
}

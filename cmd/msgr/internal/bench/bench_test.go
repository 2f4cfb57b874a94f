package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	if h.Count() != 1000 {
		t.Fatalf("count %d", h.Count())
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.04 {
			t.Errorf("q%.3f = %v, want %v within 4%%", c.q, got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v = v*2 + 1 {
		i := bucketOf(v)
		if bucketUpper(i) < v || (i > 0 && bucketUpper(i-1) >= v) {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, i, bucketUpper(i-1)+1, bucketUpper(i))
		}
	}
	var o Histogram
	o.Record(-time.Second)
	h.Merge(&o)
	if h.Count() != 1001 || h.Quantile(0.0001) != 0 {
		t.Fatalf("after merge: count %d, min %v", h.Count(), h.Quantile(0.0001))
	}
}

func TestStatusField(t *testing.T) {
	b := []byte("Name:\tx\nVmRSS:\t  1234 kB\nThreads:\t3\n")
	if v, err := statusField(b, "VmRSS:"); err != nil || v != 1234<<10 {
		t.Fatalf("VmRSS = %d, %v", v, err)
	}
	if _, err := statusField(b, "VmSwap:"); err == nil {
		t.Fatal("missing field parsed")
	}
}

func TestRawCount(t *testing.T) {
	srv, err := ListenRaw("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, spec := range []Spec{
		{Stack: "raw", Mode: "-", Size: 4096, Conns: 3, Depth: 4, Count: 301},
		{Stack: "raw", Mode: "-", Size: 1 << 20, Conns: 2, Depth: 2, Count: 10},
		{Stack: "raw", Mode: "-", Size: 100, Conns: 2, Depth: 1, Duration: 50 * time.Millisecond},
		{Stack: "raw", Mode: "-", Size: 4096, Conns: 3, Rate: 20000, Count: 500},
		{Stack: "raw", Mode: "-", Size: 4096, Conns: 2, Rate: 5000, Duration: 50 * time.Millisecond},
	} {
		r, err := RunRaw(ctx, srv.Addr(), spec, nil)
		if err != nil {
			t.Fatalf("%s: %v", spec.Key(), err)
		}
		if spec.Count > 0 && (r.Messages != spec.Count || r.Sent != spec.Count) {
			t.Errorf("%s: %d answered, %d sent, want %d", spec.Key(), r.Messages, r.Sent, spec.Count)
		}
		if r.Messages == 0 || r.Bytes != r.Messages*int64(spec.Size) || r.MsgsPerSec <= 0 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.P999 {
			t.Errorf("%s: implausible result %+v", spec.Key(), r)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	for _, s := range []Spec{{Size: 0, Conns: 1, Depth: 1, Count: 1}, {Size: 1, Conns: 0, Depth: 1, Count: 1}, {Size: 1, Conns: 1, Depth: 0, Count: 1}, {Size: 1, Conns: 1, Depth: 1}, {Size: 1, Conns: 1, Rate: -1, Count: 1}} {
		if err := s.Validate(); !errors.Is(err, ErrSpec) {
			t.Errorf("%+v: %v", s, err)
		}
	}
}

func sampleResults() []Result {
	var rs []Result
	for _, st := range []string{"eventloop", "gonet", "raw"} {
		for i, size := range []int{4096, 65536, 4 << 20} {
			r := Result{Spec: Spec{Stack: st, Mode: "crc", Size: size, Conns: 1, Depth: 1}, Messages: 1000, Sent: 1000, Bytes: 1000 * int64(size), Elapsed: time.Second}
			var h Histogram
			h.Record(time.Duration(50*(i+1)) * time.Microsecond)
			r.Finish(&h, ProcSample{}, ProcSample{CPU: time.Second})
			rs = append(rs, r)
		}
	}
	return rs
}

func TestTableAndRatios(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleResults(), []string{"eventloop", "gonet", "raw"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"eventloop", "gonet", "raw", "4K", "64K", "4M", "eventloop/gonet 1.00x", "eventloop 100% of raw"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestPlotIsSVG(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlot(&b, sampleResults(), "test <plot>"); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	lines := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not XML: %v", err)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 6 { // 3 stacks x 2 panels
		t.Fatalf("%d lines drawn, want 6", lines)
	}
}

func TestMedian(t *testing.T) {
	rs := sampleResults()[:3]
	for i := range rs {
		rs[i].Size = 4096
		rs[i].MsgsPerSec = float64(i + 1)
	}
	m := Median(rs)
	if m.MsgsPerSec != 2 || m.Repetitions != 3 || m.Messages != 3000 {
		t.Fatalf("median %+v", m)
	}
}

func TestParseCPUTimes(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       cpuTimes
	}{
		{"kernel 6", "cpu  100 2 30 400 5 6 7 80 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n", cpuTimes{total: 630, steal: 80}},
		{"no guest fields", "cpu  1 1 1 1 1 1 1 3\n", cpuTimes{total: 10, steal: 3}},
		{"too short", "cpu  1 2 3 4 5 6 7\n", cpuTimes{}},
		{"not the cpu line", "intr 1 2 3 4 5 6 7 8 9\n", cpuTimes{}},
		{"not a number", "cpu  1 2 3 4 5 6 7 x\n", cpuTimes{}},
		{"empty", "", cpuTimes{}},
	} {
		if got := parseCPUTimes(tc.stat); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestStealSince(t *testing.T) {
	for _, tc := range []struct {
		name   string
		t0, t1 cpuTimes
		want   float64
	}{
		{"a quarter stolen", cpuTimes{total: 1000, steal: 10}, cpuTimes{total: 1400, steal: 110}, 25},
		{"none stolen", cpuTimes{total: 1000, steal: 10}, cpuTimes{total: 1200, steal: 10}, 0},
		{"no first reading", cpuTimes{}, cpuTimes{total: 1200, steal: 10}, -1},
		{"no second reading", cpuTimes{total: 1000}, cpuTimes{}, -1},
		{"no time passed", cpuTimes{total: 1000}, cpuTimes{total: 1000}, -1},
	} {
		if got := tc.t1.stealSince(tc.t0); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	var b strings.Builder
	rs := []Result{
		{Spec: Spec{Stack: "eventloop", Mode: "crc", Size: 4096, Conns: 1, Depth: 1}, Steal: 12.5, Runq: 0.75, IdleP: 0.25},
		{Spec: Spec{Stack: "raw", Mode: "-", Size: 4096, Conns: 1, Depth: 1}, Steal: -1, Runq: -1},
	}
	if err := WriteTable(&b, rs, []string{"eventloop"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, want := range []string{"steal runq idleP", "12.5% 0.75 0.25", "- - 0.00"} {
		f := strings.Fields(lines[i])
		if got := strings.Join(f[len(f)-3:], " "); got != want {
			t.Errorf("table line %d ends %q, want %q:\n%s", i, got, want, b.String())
		}
	}
}

func TestParseRunDelay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"123456 7890 12\n", 7890, true},
		{"1 2", 2, true},
		{"1\n", 0, false},
		{"", 0, false},
		{"1 x 3", 0, false},
		{"1 -5 3", 0, false},
	} {
		got, ok := parseRunDelay([]byte(tc.in))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRunDelay(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFinishRunqIdleP(t *testing.T) {
	t0 := time.Unix(100, 0)
	for _, tc := range []struct {
		name          string
		before, after ProcSample
		runq, idleP   float64
	}{
		{"half a thread waiting, a quarter P idle",
			ProcSample{At: t0, RunqWait: time.Second, IdleP: time.Second},
			ProcSample{At: t0.Add(2 * time.Second), RunqWait: 2 * time.Second, IdleP: 1500 * time.Millisecond}, 0.5, 0.25},
		{"no schedstat", ProcSample{At: t0, RunqWait: -1}, ProcSample{At: t0.Add(time.Second), RunqWait: -1}, -1, 0},
		{"no time passed", ProcSample{At: t0}, ProcSample{At: t0, RunqWait: time.Second}, -1, 0},
	} {
		var r Result
		r.Finish(nil, tc.before, tc.after)
		if r.Runq != tc.runq || r.IdleP != tc.idleP {
			t.Errorf("%s: runq %v idleP %v, want %v %v", tc.name, r.Runq, r.IdleP, tc.runq, tc.idleP)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gomsgr/msgr/cmd/msgr/internal/bench"
)

// The idle measurement starts `msgr bench serve --control` as a child
// process from os.Executable(): under `go test` that is this test binary,
// which then acts as the msgr command.
func init() {
	if os.Getenv("MSGR_BENCH_TEST_CHILD") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
}

// TestBenchTiny runs a tiny bench on both stacks and raw TCP, and checks
// the table, the JSON and the plot: every case on every stack answered
// exactly the messages sent, and the figures are sane.
func TestBenchTiny(t *testing.T) {
	defer goleak.VerifyNone(t)
	t.Setenv("MSGR_BENCH_TEST_CHILD", "1")
	dir := t.TempDir()
	jsonPath, plotPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "p.svg")
	const count = 300
	var out, errb bytes.Buffer
	code := run([]string{"bench", "--stack", "eventloop,gonet", "--mode", "crc,secure", "--size", "4K,64K", "--conns", "1,3", "--depth", "2",
		"--count", strconv.Itoa(count), "--reps", "1", "--idle", "30", "--json", jsonPath, "--plot", plotPath}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	table := out.String()
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 16 || (f[0] != "eventloop" && f[0] != "gonet" && f[0] != "raw") {
			continue
		}
		rows++
		if f[5] != strconv.Itoa(count) {
			t.Errorf("row %q: %s messages, want %d", line, f[5], count)
		}
	}
	// 2 modes x 2 sizes x 2 connection counts, 3 stacks each (raw TCP
	// is measured once per shape and shown with each mode).
	if rows != 2*2*2*3 {
		t.Errorf("%d result rows, want 24:\n%s", rows, table)
	}
	for _, want := range []string{"ratios:", "eventloop/gonet", "% of raw", "idle sessions", "goroutines/session", " secure "} {
		if !strings.Contains(table, want) {
			t.Errorf("output lacks %q:\n%s", want, table)
		}
	}

	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 20 || len(rep.Runs) != 20 {
		t.Fatalf("JSON has %d results, %d runs; want 20 each", len(rep.Results), len(rep.Runs))
	}
	for _, r := range rep.Results {
		if r.Messages != count || r.Sent != count || r.Bytes != int64(count*r.Size) {
			t.Errorf("%s %s: %d sent, %d answered, %d bytes", r.Stack, r.Key(), r.Sent, r.Messages, r.Bytes)
		}
		if r.MsgsPerSec <= 0 || r.MBPerSec <= 0 || r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.P999 || r.CPUPer1k <= 0 || r.Goroutines <= 0 || r.RSS <= 0 {
			t.Errorf("%s %s: implausible figures %+v", r.Stack, r.Key(), r)
		}
	}
	if len(rep.Idle) != 2 {
		t.Fatalf("idle results for %d stacks, want 2", len(rep.Idle))
	}
	for _, r := range rep.Idle {
		if r.Sessions != 30 || r.RSSAfter <= 0 || r.GoroutinesAfter < r.GoroutinesBefore {
			t.Errorf("idle %s: %+v", r.Stack, r)
		}
	}

	svg, err := os.ReadFile(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(svg))
	polylines := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
		}
	}
	// (2 stacks x 2 modes + raw) x 2 connection counts, in 2 panels.
	if polylines != 20 {
		t.Errorf("plot has %d lines, want 20", polylines)
	}
}

func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{{"4096", 4096}, {"4K", 4096}, {"64KiB", 64 << 10}, {"4M", 4 << 20}, {"4mb", 4 << 20}} {
		if got, err := parseBenchSize(c.in); err != nil || got != c.want {
			t.Errorf("parseBenchSize(%q) = %d, %v", c.in, got, err)
		}
	}
	for _, bad := range []string{"", "0", "-1", "4X", "9G"} {
		if _, err := parseBenchSize(bad); err == nil {
			t.Errorf("parseBenchSize(%q) accepted", bad)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "--stack", "epoll"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "unknown stack") {
		t.Errorf("unknown stack: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"bench", "--mode", "plain", "--count", "1"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "mode") {
		t.Errorf("unknown mode: exit %d, %q", code, errb.String())
	}
}

// TestBenchTargets: each case is judged against its issue's goal.
func TestBenchTargets(t *testing.T) {
	res := func(stack, mode string, size, conns int, msgs, mb float64) bench.Result {
		return bench.Result{Spec: bench.Spec{Stack: stack, Mode: mode, Size: size, Conns: conns, Depth: 1}, MsgsPerSec: msgs, MBPerSec: mb}
	}
	// cpu sets CPU per 1k messages and latencies (ms) where a target
	// needs them.
	cpu := func(x bench.Result, per1k float64, p50, p99 int) bench.Result {
		x.CPUPer1k, x.P50, x.P99 = per1k, time.Duration(p50)*time.Millisecond, time.Duration(p99)*time.Millisecond
		return x
	}
	r := &bench.Report{Results: []bench.Result{
		cpu(res("eventloop", "crc", 4<<10, 1, 105, 0), 0.9, 0, 0), cpu(res("gonet", "crc", 4<<10, 1, 100, 0), 1, 0, 0),
		cpu(res("eventloop", "crc", 4<<10, 16, 160, 0), 0.5, 0, 0), cpu(res("gonet", "crc", 4<<10, 16, 100, 0), 1, 0, 0),
		res("eventloop", "crc", 4<<10, 8000, 120, 0), res("gonet", "crc", 4<<10, 8000, 100, 0),
		cpu(res("eventloop", "crc", 64<<10, 1, 0, 71), 1, 1, 3), res("raw", "-", 64<<10, 1, 0, 100),
		cpu(res("eventloop", "crc", 4<<20, 1, 0, 84), 14, 2, 7), cpu(res("eventloop", "secure", 4<<20, 1, 0, 61), 16, 0, 0),
		cpu(res("raw", "-", 4<<20, 1, 0, 100), 10, 1, 1),
	}}
	want := []string{
		"crc    4K    1 conns: eventloop/gonet msgs/s 1.05x (target >= 1.1x)  SHORT",
		"crc    4K    1 conns: eventloop/gonet CPU per msg 0.90x (target <= 0.8x)  SHORT",
		"crc    4K   16 conns: eventloop/gonet msgs/s 1.60x (target >= 1.5x)  met",
		"crc    4K   16 conns: eventloop/gonet CPU per msg 0.50x (target <= 0.8x)  met",
		"crc    4K 8000 conns: eventloop/gonet msgs/s 1.20x (target >= 1.3x)  SHORT",
		"crc    64K    1 conns: p99/p50 3.0 (target <= 3)  met",
		"crc    64K    1 conns: eventloop 71% of raw TCP bandwidth (target >= 70%)  met",
		"crc    4M     1 conns: p99/p50 3.5 (target <= 3)  SHORT",
		"crc    4M     1 conns: eventloop 84% of raw TCP bandwidth (target >= 85%)  SHORT",
		"crc    4M     1 conns: CPU per message 1.40x raw's (target <= 1.5x)  met",
		"secure 4M     1 conns: eventloop 61% of raw TCP bandwidth (target >= 60%)  met",
		"secure 4M     1 conns: CPU per message 1.60x raw's (target <= 1.5x)  SHORT",
	}
	if got := targets(r); !slices.Equal(got, want) {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

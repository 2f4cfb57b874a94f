package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Spec describes one measured case: Conns connections, each keeping
// Depth messages of Size bytes in flight (a closed loop, like Ceph's
// perf_msgr_client), for Duration or until Count messages were answered.
type Spec struct {
	Stack    string        `json:"stack"` // "eventloop", "gonet" or "raw"
	Mode     string        `json:"mode"`  // "crc", "secure" (msgr2), "v1" (msgr1); "-" for raw TCP
	Size     int           `json:"size"`
	Conns    int           `json:"conns"`
	Depth    int           `json:"depth"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Count    int64         `json:"count,omitempty"`
	// Rate, when > 0, makes the run open-loop: messages are offered at
	// Rate per second in all (spread evenly over the connections) whatever
	// the answers, and latency counts from when each message was due, so
	// that a stalled sender cannot hide its queueing (coordinated
	// omission). Depth is ignored.
	Rate float64 `json:"rate,omitempty"`
	// Lossless runs the clients as lossless clients of a stateful server
	// (msgr.LosslessClient, msgr.StatefulServer): every message is kept
	// until the peer acks it, and resent after a fault, as between Ceph
	// daemons. Otherwise clients are lossy, as librados'.
	Lossless bool `json:"lossless,omitempty"`
}

// Shape names connections and depth (or rate) for tables: "16x1",
// "16@20000/s".
func (s Spec) Shape() string {
	if s.Rate > 0 {
		return fmt.Sprintf("%d@%.0f/s", s.Conns, s.Rate)
	}
	return fmt.Sprintf("%dx%d", s.Conns, s.Depth)
}

// Key names the case without its stack, so that stacks line up in tables.
func (s Spec) Key() string {
	k := fmt.Sprintf("%s/%d/%s", s.Mode, s.Size, s.Shape())
	if s.Lossless {
		k += "/lossless"
	}
	return k
}

func (s Spec) Validate() error {
	switch {
	case s.Size <= 0:
		return fmt.Errorf("%w: size %d", ErrSpec, s.Size)
	case s.Conns <= 0:
		return fmt.Errorf("%w: %d connections", ErrSpec, s.Conns)
	case s.Depth <= 0 && s.Rate <= 0:
		return fmt.Errorf("%w: depth %d", ErrSpec, s.Depth)
	case s.Rate < 0:
		return fmt.Errorf("%w: rate %g", ErrSpec, s.Rate)
	case s.Duration <= 0 && s.Count <= 0:
		return fmt.Errorf("%w: neither a duration nor a count", ErrSpec)
	}
	return nil
}

// Result is what one run of a Spec measured. Process figures (CPU,
// allocations, goroutines, RSS) cover the whole process: with the server
// in the same process they include both ends.
type Result struct {
	Spec
	Messages   int64         `json:"messages"` // answered in the timed window
	Sent       int64         `json:"sent"`     // sent in the timed window
	Bytes      int64         `json:"bytes"`    // payload bytes of the answered messages
	Elapsed    time.Duration `json:"elapsed_ns"`
	MsgsPerSec float64       `json:"msgs_per_sec"`
	MBPerSec   float64       `json:"mb_per_sec"` // 10^6 bytes of payload per second
	P50        time.Duration `json:"p50_ns"`
	P99        time.Duration `json:"p99_ns"`
	P999       time.Duration `json:"p999_ns"`
	MaxLat     time.Duration `json:"max_ns"`
	CPU        time.Duration `json:"cpu_ns"`              // process CPU time in the window
	CPUPer1k   float64       `json:"cpu_sec_per_1k_msgs"` // CPU seconds per 1000 messages
	AllocsPer  float64       `json:"allocs_per_msg"`
	AllocBPer  float64       `json:"alloc_bytes_per_msg"`
	Goroutines int           `json:"goroutines_peak"`
	RSS        int64         `json:"rss_peak_bytes"`
	// Steal is the percentage of the machine's CPU time the hypervisor
	// gave to others during the run (-1 where /proc/stat is missing).
	Steal float64 `json:"cpu_steal_percent"`
	// Runq is how many of the process's threads were, on average over
	// the window, runnable but waiting for a CPU (-1 where unknown);
	// IdleP how many of its GOMAXPROCS Ps had nothing to run. CPUs used
	// + Runq is what the process would have used on a machine of its
	// own; IdleP is CPU it left unused by itself.
	Runq        float64 `json:"runq_threads"`
	IdleP       float64 `json:"idle_ps"`
	Repetitions int     `json:"repetitions"` // runs this result is the median of
	// MsgsPerSecMin and MsgsPerSecMax bound the repetitions' rates: how
	// noisy the machine was.
	MsgsPerSecMin float64 `json:"msgs_per_sec_min"`
	MsgsPerSecMax float64 `json:"msgs_per_sec_max"`
}

// Spread is (max - min) / median of the repetitions' messages/s.
func (r Result) Spread() float64 {
	if r.MsgsPerSec <= 0 {
		return 0
	}
	return (r.MsgsPerSecMax - r.MsgsPerSecMin) / r.MsgsPerSec
}

// Finish fills the derived fields from the raw counters.
func (r *Result) Finish(h *Histogram, before, after ProcSample) {
	secs := r.Elapsed.Seconds()
	if secs > 0 {
		r.MsgsPerSec = float64(r.Messages) / secs
		r.MBPerSec = float64(r.Bytes) / secs / 1e6
	}
	if h != nil {
		r.P50, r.P99, r.P999, r.MaxLat = h.Quantile(0.50), h.Quantile(0.99), h.Quantile(0.999), h.Max()
	}
	r.CPU = after.CPU - before.CPU
	if r.Messages > 0 {
		r.CPUPer1k = r.CPU.Seconds() / float64(r.Messages) * 1000
		r.AllocsPer = float64(after.Allocs-before.Allocs) / float64(r.Messages)
		r.AllocBPer = float64(after.AllocBytes-before.AllocBytes) / float64(r.Messages)
	}
	r.Steal = after.Machine.stealSince(before.Machine)
	r.Runq = -1
	if el := after.At.Sub(before.At).Seconds(); el > 0 {
		if before.RunqWait >= 0 && after.RunqWait >= 0 {
			r.Runq = max(after.RunqWait-before.RunqWait, 0).Seconds() / el
		}
		r.IdleP = max(after.IdleP-before.IdleP, 0).Seconds() / el
	}
	if r.Repetitions == 0 {
		r.Repetitions = 1
	}
	r.MsgsPerSecMin, r.MsgsPerSecMax = r.MsgsPerSec, r.MsgsPerSec
}

// Median combines repetitions of one Spec: each figure is the median of
// the runs' figures (counts are summed).
func Median(rs []Result) Result {
	if len(rs) == 0 {
		return Result{}
	}
	if len(rs) == 1 {
		return rs[0]
	}
	out := rs[0]
	out.Messages, out.Sent, out.Bytes, out.Elapsed = 0, 0, 0, 0
	for _, r := range rs {
		out.Messages += r.Messages
		out.Sent += r.Sent
		out.Bytes += r.Bytes
		out.Elapsed += r.Elapsed
	}
	f := func(get func(Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	d := func(get func(Result) time.Duration) time.Duration {
		return time.Duration(f(func(r Result) float64 { return float64(get(r)) }))
	}
	out.MsgsPerSec = f(func(r Result) float64 { return r.MsgsPerSec })
	out.MBPerSec = f(func(r Result) float64 { return r.MBPerSec })
	out.P50 = d(func(r Result) time.Duration { return r.P50 })
	out.P99 = d(func(r Result) time.Duration { return r.P99 })
	out.P999 = d(func(r Result) time.Duration { return r.P999 })
	out.MaxLat = d(func(r Result) time.Duration { return r.MaxLat })
	out.CPU = d(func(r Result) time.Duration { return r.CPU })
	out.CPUPer1k = f(func(r Result) float64 { return r.CPUPer1k })
	out.AllocsPer = f(func(r Result) float64 { return r.AllocsPer })
	out.AllocBPer = f(func(r Result) float64 { return r.AllocBPer })
	out.Goroutines = int(f(func(r Result) float64 { return float64(r.Goroutines) }))
	out.RSS = int64(f(func(r Result) float64 { return float64(r.RSS) }))
	out.Steal = f(func(r Result) float64 { return r.Steal })
	out.Runq = f(func(r Result) float64 { return r.Runq })
	out.IdleP = f(func(r Result) float64 { return r.IdleP })
	out.Repetitions = len(rs)
	out.MsgsPerSecMin, out.MsgsPerSecMax = rs[0].MsgsPerSec, rs[0].MsgsPerSec
	for _, r := range rs {
		out.MsgsPerSecMin = min(out.MsgsPerSecMin, r.MsgsPerSec)
		out.MsgsPerSecMax = max(out.MsgsPerSecMax, r.MsgsPerSec)
	}
	return out
}

// IdleResult is the cost of idle sessions on one stack, measured in the
// server process (one messenger holding Sessions accepted sessions).
type IdleResult struct {
	Stack             string        `json:"stack"`
	Sessions          int           `json:"sessions"`
	RSSBefore         int64         `json:"rss_before_bytes"`
	RSSAfter          int64         `json:"rss_after_bytes"`
	GoroutinesBefore  int           `json:"goroutines_before"`
	GoroutinesAfter   int           `json:"goroutines_after"`
	RSSPerSession     float64       `json:"rss_per_session_bytes"`
	GoroutinesPerSess float64       `json:"goroutines_per_session"`
	HeapPerSession    float64       `json:"heap_per_session_bytes"`
	Setup             time.Duration `json:"setup_ns"`
}

// Report is everything one invocation measured, as written by --json.
type Report struct {
	Started    time.Time `json:"started"`
	GoVersion  string    `json:"go_version"`
	GOOS       string    `json:"goos"`
	GOARCH     string    `json:"goarch"`
	CPUs       int       `json:"cpus"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	LoadBefore string    `json:"load_before,omitempty"` // /proc/loadavg at the start
	LoadAfter  string    `json:"load_after,omitempty"`
	// Steal is the share of the machine's CPU time the hypervisor gave
	// to others over the whole invocation (/proc/stat), "" where unknown:
	// a loaded host slows every stack, raw TCP included, without showing
	// in the load average.
	Steal      string `json:"cpu_steal,omitempty"`
	stealStart cpuTimes
	Results    []Result      `json:"results"`
	Runs       []Result      `json:"runs,omitempty"` // every repetition, before medians
	Idle       []IdleResult  `json:"idle,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
}

// NewReport starts a report describing this machine.
func NewReport() *Report {
	return &Report{
		Started:    time.Now().UTC(),
		GoVersion:  runtime.Version(),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		LoadBefore: LoadAvg(),
		stealStart: readCPUTimes(),
	}
}

// Finish records what is measured at the end of the invocation.
func (r *Report) Finish() {
	r.LoadAfter = LoadAvg()
	if p := readCPUTimes().stealSince(r.stealStart); p >= 0 {
		r.Steal = fmt.Sprintf("%.1f%%", p)
	}
}

// cpuTimes is the machine's "cpu" line of /proc/stat: all jiffies, and
// the stolen ones.
type cpuTimes struct{ total, steal uint64 }

// stealSince is the stolen share of the CPU time from t0 to t, in
// percent; -1 where either reading is missing or no time passed.
func (t cpuTimes) stealSince(t0 cpuTimes) float64 {
	if t0.total == 0 || t.total <= t0.total || t.steal < t0.steal {
		return -1
	}
	return 100 * float64(t.steal-t0.steal) / float64(t.total-t0.total)
}

// readCPUTimes reads /proc/stat; zero where there is none.
func readCPUTimes() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	return parseCPUTimes(string(b))
}

// parseCPUTimes reads the first line of a /proc/stat; zero if it is not
// the "cpu" line with at least the eight fields up to steal.
func parseCPUTimes(stat string) cpuTimes {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return cpuTimes{}
		}
		// user nice system idle iowait irq softirq steal; guest time
		// is already counted in user.
		if i < 8 {
			t.total += n
		}
		if i == 7 {
			t.steal = n
		}
	}
	return t
}

// LoadAvg returns the first three fields of /proc/loadavg, or "".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	var a, b1, c string
	if _, err := fmt.Sscan(string(b), &a, &b1, &c); err != nil {
		return ""
	}
	return a + " " + b1 + " " + c
}

// WriteJSON writes the report to path, indented.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

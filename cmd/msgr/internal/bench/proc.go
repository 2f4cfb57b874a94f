package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ProcSample is one reading of this process's resource use.
type ProcSample struct {
	At         time.Time
	CPU        time.Duration // user + system time since the process started
	RSS        int64         // resident set size in bytes (0 where unknown)
	Allocs     uint64        // heap objects allocated since the process started
	AllocBytes uint64        // heap bytes allocated since the process started
	Goroutines int
	Machine    cpuTimes // the whole machine's CPU time, for the steal
	// RunqWait is how long the process's threads have waited, runnable,
	// for a CPU the kernel gave to something else (schedstat run_delay,
	// summed over its threads); -1 where unknown. On a shared machine
	// this, not the loops, is where a busy process's missing CPU goes.
	RunqWait time.Duration
	// IdleP is the Go runtime's estimate of the time its Ps (GOMAXPROCS
	// slots) had no goroutine to run: loops parked with nothing to do.
	IdleP time.Duration
}

var procMetrics = []metrics.Sample{
	{Name: "/gc/heap/allocs:objects"},
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/sched/goroutines:goroutines"},
	{Name: "/cpu/classes/idle:cpu-seconds"},
}

var procMu sync.Mutex // guards procMetrics

// ReadProc samples the process now. It does not stop the world.
func ReadProc() ProcSample {
	s := ProcSample{At: time.Now(), CPU: cpuTime(), RSS: ReadRSS(os.Getpid()), Machine: readCPUTimes(), RunqWait: runqWait()}
	procMu.Lock()
	metrics.Read(procMetrics)
	if v := procMetrics[0].Value; v.Kind() == metrics.KindUint64 {
		s.Allocs = v.Uint64()
	}
	if v := procMetrics[1].Value; v.Kind() == metrics.KindUint64 {
		s.AllocBytes = v.Uint64()
	}
	if v := procMetrics[2].Value; v.Kind() == metrics.KindUint64 {
		s.Goroutines = int(v.Uint64())
	} else {
		s.Goroutines = runtime.NumGoroutine()
	}
	if v := procMetrics[3].Value; v.Kind() == metrics.KindFloat64 {
		s.IdleP = time.Duration(v.Float64() * float64(time.Second))
	}
	procMu.Unlock()
	return s
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runqWait sums run_delay (the second field of /proc/PID/task/TID/
// schedstat, in ns) over this process's threads; -1 without schedstat.
// A thread that exited takes its share along: Go seldom ends threads.
func runqWait() time.Duration {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue // exited meanwhile
		}
		d, ok := parseRunDelay(b)
		if !ok {
			return -1
		}
		sum += d
	}
	return sum
}

// parseRunDelay reads run_delay from a schedstat line ("cpu_ns
// run_delay_ns timeslices").
func parseRunDelay(b []byte) (time.Duration, bool) {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return time.Duration(n), true
}

// ReadRSS returns the resident set size of process pid in bytes, from
// /proc/PID/status (VmRSS); 0 where there is no procfs.
func ReadRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	v, err := statusField(b, "VmRSS:")
	if err != nil {
		return 0
	}
	return v
}

// statusField parses a "Name:   123 kB" line of /proc/PID/status.
func statusField(b []byte, name string) (int64, error) {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0, fmt.Errorf("bench: no %s in status", name)
	}
	line := b[i+len(name):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0, fmt.Errorf("bench: empty %s", name)
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: %s: %w", name, err)
	}
	if len(f) > 1 && bytes.EqualFold(f[1], []byte("kB")) {
		n <<= 10
	}
	return n, nil
}

// Sampler reads the process every interval while running and keeps the
// peaks of RSS and goroutines.
type Sampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak ProcSample
}

// StartSampler starts sampling every interval (> 0).
func StartSampler(interval time.Duration) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.observe(ReadProc())
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.observe(ReadProc())
			}
		}
	}()
	return s
}

func (s *Sampler) observe(p ProcSample) {
	s.mu.Lock()
	s.peak.RSS = max(s.peak.RSS, p.RSS)
	s.peak.Goroutines = max(s.peak.Goroutines, p.Goroutines)
	s.mu.Unlock()
}

// Stop ends sampling (taking one last sample) and returns the peaks.
// The sampler's own goroutine is not counted.
func (s *Sampler) Stop() (peakRSS int64, peakGoroutines int) {
	close(s.stop)
	<-s.done
	s.observe(ReadProc())
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak.RSS, max(s.peak.Goroutines-1, 0)
}

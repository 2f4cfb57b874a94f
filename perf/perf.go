// Package perf holds perf counters with Ceph's names, kinds and dump
// shapes (src/common/perf_counters.cc): a Logger is one section of
// `perf dump` (Ceph's PerfCounters), a Collection is every section of a
// process (PerfCountersCollection).
//
// Updates are one atomic add on memory owned by the Logger (padded to
// its own cache lines) and never allocate. Counters of an event loop
// pool are one Logger per loop (Builder.Loggers), each written by its
// loop only, so no two loops share a cache line. A nil *Logger ignores every update: counters off cost one nil check.
package perf

import (
	"strconv"
	"sync/atomic"
	"time"
)

// Kind is what a counter measures; it fixes the dump shape.
type Kind uint8

const (
	// Counter only goes up (PERFCOUNTER_U64|PERFCOUNTER_COUNTER).
	Counter Kind = iota
	// Gauge goes up and down (PERFCOUNTER_U64).
	Gauge
	// Time is accumulated seconds (PERFCOUNTER_TIME).
	Time
	// TimeAvg is a sum of durations and a count (PERFCOUNTER_TIME|
	// PERFCOUNTER_LONGRUNAVG); dumped as avgcount, sum, avgtime.
	TimeAvg
	// U64Avg is a sum and a count (PERFCOUNTER_U64|PERFCOUNTER_LONGRUNAVG).
	U64Avg
)

// Ceph's perfcounter_type_d bits, as `perf schema` prints them.
const (
	typeTime       = 1
	typeU64        = 2
	typeLongRunAvg = 4
	typeCounter    = 8
)

// cephType is the "type" field of perf schema.
func (k Kind) cephType() int {
	switch k {
	case Counter:
		return typeU64 | typeCounter
	case Gauge:
		return typeU64
	case Time:
		return typeTime
	case TimeAvg:
		return typeTime | typeLongRunAvg
	default:
		return typeU64 | typeLongRunAvg
	}
}

// metricType and valueType are perf schema's words for the kind.
func (k Kind) metricType() string {
	if k == Counter {
		return "counter"
	}
	return "gauge"
}

func (k Kind) valueType() string {
	switch k {
	case Counter, Gauge:
		return "integer"
	case Time:
		return "real"
	case TimeAvg:
		return "real-integer-pair"
	default:
		return "integer-integer-pair"
	}
}

// Unit is perf schema's "units".
type Unit uint8

const (
	None Unit = iota
	Bytes
)

func (u Unit) String() string {
	if u == Bytes {
		return "bytes"
	}
	return "none"
}

// Ceph's priorities (PerfCountersBuilder::PRIO_*): the mgr exports
// counters at Useful and above.
const (
	PrioDebugOnly     = 0
	PrioUninteresting = 2
	PrioUseful        = 5
	PrioInteresting   = 8
	PrioCritical      = 10
)

// Desc describes one counter.
type Desc struct {
	Name        string // Ceph's name, e.g. "msgr_recv_messages"
	Description string
	Nick        string
	Kind        Kind
	Unit        Unit
	Priority    int
	// Read, when set, gives the value at dump time instead of the
	// stored one: for values some other structure already keeps.
	Read func() uint64
}

// Value is one counter's reading. For Time and TimeAvg, Sum is in
// nanoseconds; for Counter and Gauge the value is in Sum.
type Value struct {
	Sum   uint64
	Count uint64 // TimeAvg and U64Avg only
}

// slot holds one counter. count and count2 bracket an average's update
// so that a reader sees sum and count of the same updates (Ceph's
// avgcount/avgcount2).
type slot struct {
	sum, count, count2 atomic.Uint64
}

// pad is how many slots on each side keep a Logger's slots off any
// other allocation's cache lines (3*24 bytes >= 64).
const pad = 3

// Logger is one section of counters (Ceph's PerfCounters). Its methods
// are safe from any goroutine; a nil Logger ignores updates.
type Logger struct {
	name  string
	descs []Desc // immutable, shared by the Loggers of one Builder
	slots []slot
}

func newLogger(name string, descs []Desc) *Logger {
	buf := make([]slot, len(descs)+2*pad)
	return &Logger{name: name, descs: descs, slots: buf[pad : pad+len(descs) : pad+len(descs)]}
}

// Name is the section name in perf dump.
func (l *Logger) Name() string { return l.name }

// Descs are the counters' descriptions, in dump order.
func (l *Logger) Descs() []Desc { return l.descs }

// Inc adds n to counter i (a Counter, Gauge or Time in nanoseconds).
func (l *Logger) Inc(i int, n uint64) {
	if l == nil {
		return
	}
	l.slots[i].sum.Add(n)
}

// Dec subtracts n from gauge i.
func (l *Logger) Dec(i int, n uint64) {
	if l == nil {
		return
	}
	l.slots[i].sum.Add(^(n - 1))
}

// Set sets gauge i.
func (l *Logger) Set(i int, v uint64) {
	if l == nil {
		return
	}
	l.slots[i].sum.Store(v)
}

// TInc adds d to Time counter i, or one sample to TimeAvg counter i.
func (l *Logger) TInc(i int, d time.Duration) {
	if l == nil {
		return
	}
	if d < 0 {
		d = 0
	}
	if l.descs[i].Kind == TimeAvg {
		l.AvgAdd(i, uint64(d))
		return
	}
	l.slots[i].sum.Add(uint64(d))
}

// AvgAdd adds one sample v to average i (U64Avg, or TimeAvg in ns).
func (l *Logger) AvgAdd(i int, v uint64) {
	if l == nil {
		return
	}
	s := &l.slots[i]
	s.count.Add(1)
	s.sum.Add(v)
	s.count2.Add(1)
}

// Get reads counter i.
func (l *Logger) Get(i int) Value {
	if d := l.descs[i]; d.Read != nil {
		return Value{Sum: d.Read()}
	}
	s := &l.slots[i]
	switch l.descs[i].Kind {
	case TimeAvg, U64Avg:
		// count2 first, count last (Ceph's read_avg): equal, no update
		// was under way between them, so sum is theirs.
		for {
			c := s.count2.Load()
			sum := s.sum.Load()
			if s.count.Load() == c {
				return Value{Sum: sum, Count: c}
			}
		}
	}
	return Value{Sum: s.sum.Load()}
}

// Read returns every counter's value, in Descs order.
func (l *Logger) Read() []Value {
	vs := make([]Value, len(l.descs))
	for i := range l.descs {
		vs[i] = l.Get(i)
	}
	return vs
}

// Builder collects counter descriptions (Ceph's PerfCountersBuilder).
// Counters are indexed in the order added, from 0.
type Builder struct {
	name  string
	descs []Desc
}

// NewBuilder starts a section named name.
func NewBuilder(name string) *Builder { return &Builder{name: name} }

// Add appends d and returns its index.
func (b *Builder) Add(d Desc) int {
	b.descs = append(b.descs, d)
	return len(b.descs) - 1
}

// Logger returns the section's Logger.
func (b *Builder) Logger() *Logger { return newLogger(b.name, b.descs) }

// Loggers returns n Loggers of the section, named name-0 .. name-(n-1):
// one per event loop, each written by its own loop only, as Ceph keeps
// AsyncMessenger::Worker-N.
func (b *Builder) Loggers(n int) []*Logger {
	ls := make([]*Logger, n)
	for i := range ls {
		ls[i] = newLogger(b.name+"-"+strconv.Itoa(i), b.descs)
	}
	return ls
}

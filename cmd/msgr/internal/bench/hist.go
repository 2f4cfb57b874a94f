package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations in log-linear buckets: values below 64 ns
// exactly, larger ones with 32 sub-buckets per power of two, so a
// quantile is off by at most about 3%. Record is safe from any goroutine
// (one atomic add); the zero value is ready to use.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
}

const (
	subBits     = 5
	subCount    = 1 << subBits // sub-buckets per power of two
	histBuckets = (64 - subBits) * subCount
)

func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // shift keeping the top subBits+1 bits
	return (e+1)*subCount + int(v>>uint(e))&(subCount-1)
}

// bucketUpper is the largest value that falls in bucket i.
func bucketUpper(i int) uint64 {
	if i < 2*subCount {
		return uint64(i)
	}
	e := i/subCount - 1
	sub := uint64(i%subCount) | subCount
	return (sub+1)<<uint(e) - 1
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
}

// Quantile returns the upper bound of the bucket holding the q-th
// quantile (0 < q <= 1), or 0 without observations.
func (h *Histogram) Quantile(q float64) time.Duration {
	total := h.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > total {
		rank = total
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(bucketUpper(i))
		}
	}
	return time.Duration(bucketUpper(histBuckets - 1))
}

// Max returns the upper bound of the highest non-empty bucket.
func (h *Histogram) Max() time.Duration {
	for i := histBuckets - 1; i >= 0; i-- {
		if h.counts[i].Load() > 0 {
			return time.Duration(bucketUpper(i))
		}
	}
	return 0
}

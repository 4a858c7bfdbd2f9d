package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's resolution: 2^subBits buckets per power of
// two, about 3% relative error.
const subBits = 5

// histBuckets covers values up to 2^41 ns (about 36 minutes).
const histBuckets = (41 - subBits + 1) << subBits

// hist is a log-linear histogram of durations in nanoseconds. It is not
// safe for concurrent use; each receiver owns one and they are merged at
// the end.
type hist struct {
	counts [histBuckets]uint32
	n      uint64
	max    int64
}

func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	i := (shift+1)<<subBits + int(v>>shift) - 1<<subBits
	return min(i, histBuckets-1)
}

// bucketMid is the middle of bucket i's range of values.
func bucketMid(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	shift := i>>subBits - 1
	low := int64(i&(1<<subBits-1)+1<<subBits) << shift
	return low + (int64(1)<<shift)/2
}

func (h *hist) add(d time.Duration) {
	v := int64(d)
	h.counts[bucketOf(v)]++
	h.n++
	h.max = max(h.max, v)
}

// summary is a merged histogram.
type summary struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

func (s *summary) merge(h *hist) {
	for i, c := range h.counts {
		s.counts[i] += uint64(c)
	}
	s.n += h.n
	s.max = max(s.max, h.max)
}

// quantile returns the value below which a fraction q of the samples lie
// (to the bucket's resolution); the maximum is exact.
func (s *summary) quantile(q float64) time.Duration {
	if s.n == 0 {
		return 0
	}
	rank := uint64(q*float64(s.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketMid(i), s.max))
		}
	}
	return time.Duration(s.max)
}

// Latency summarises one kind of latency.
type Latency struct {
	Count uint64  `json:"count"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	Maxms float64 `json:"max_ms"`
}

func (s *summary) latency() Latency {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Latency{Count: s.n, P50ms: ms(s.quantile(0.50)), P99ms: ms(s.quantile(0.99)), Maxms: ms(time.Duration(s.max))}
}

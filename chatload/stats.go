package chatload

import (
	"math"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Summary is the httperf-style digest of one latency distribution, in
// milliseconds: min, avg, max, median and stddev as httperf prints them, plus
// the percentiles httperf lacks. Min, Avg, Max and Stddev are exact; the
// median and percentiles come from an HDR histogram with 3 significant
// digits (error below 0.1%).
type Summary struct {
	Count  int64   `json:"count"`
	Min    float64 `json:"min_ms"`
	Avg    float64 `json:"avg_ms"`
	Max    float64 `json:"max_ms"`
	Median float64 `json:"median_ms"`
	Stddev float64 `json:"stddev_ms"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	P999   float64 `json:"p99_9_ms"`
}

// histogram range: 1 µs to 1 hour. A longer value is clamped to the top and
// counted, never dropped, so the count always matches the events.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
)

// Recorder accumulates durations. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	h       *hdrhistogram.Histogram
	n       int64
	sum     float64 // µs
	sumSq   float64 // µs²
	min     int64   // µs
	max     int64   // µs
	clamped int64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{h: hdrhistogram.New(histLowest, histHighest, histDigits)}
}

// Record adds one duration. Negative durations (a clock step) count as 0.
func (r *Recorder) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := us
	if v > histHighest {
		v = histHighest
		r.clamped++
	}
	// RecordValue only fails above the highest trackable value, excluded above.
	_ = r.h.RecordValue(v)
	if r.n == 0 || us < r.min {
		r.min = us
	}
	if us > r.max {
		r.max = us
	}
	r.n++
	f := float64(us)
	r.sum += f
	r.sumSq += f * f
}

// Merge adds all values of o into r.
func (r *Recorder) Merge(o *Recorder) {
	if o == nil || o == r {
		return
	}
	o.mu.Lock()
	h := o.h.Clone()
	n, sum, sumSq, mn, mx, cl := o.n, o.sum, o.sumSq, o.min, o.max, o.clamped
	o.mu.Unlock()
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.h.Merge(h)
	if r.n == 0 || mn < r.min {
		r.min = mn
	}
	if mx > r.max {
		r.max = mx
	}
	r.n += n
	r.sum += sum
	r.sumSq += sumSq
	r.clamped += cl
}

// Count returns the number of recorded values.
func (r *Recorder) Count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Summary digests the recorded values. Stddev is the sample standard
// deviation (n-1), as httperf computes it.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return Summary{}
	}
	ms := func(us float64) float64 { return us / 1000 }
	q := func(p float64) float64 { return ms(float64(r.h.ValueAtQuantile(p))) }
	s := Summary{
		Count:  r.n,
		Min:    ms(float64(r.min)),
		Avg:    ms(r.sum / float64(r.n)),
		Max:    ms(float64(r.max)),
		Median: q(50),
		P50:    q(50),
		P90:    q(90),
		P99:    q(99),
		P999:   q(99.9),
	}
	if r.n > 1 {
		v := (r.sumSq - r.sum*r.sum/float64(r.n)) / float64(r.n-1)
		if v > 0 {
			s.Stddev = ms(math.Sqrt(v))
		}
	}
	return s
}

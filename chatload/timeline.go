package chatload

import (
	"math"
	"sync"
	"time"
)

// TimelineBin counts events in one interval of a run, for throughput plots
// and httperf's sampled reply rate.
type TimelineBin struct {
	StartS  float64 `json:"t_s"`
	Started int64   `json:"started,omitempty"`
	Errors  int64   `json:"errors,omitempty"`
	Replies int64   `json:"replies,omitempty"`
	// Chat runs: messages sent, delivered live, replayed from history,
	// and connections lost.
	Sent        int64 `json:"sent,omitempty"`
	Delivered   int64 `json:"delivered,omitempty"`
	Replayed    int64 `json:"replayed,omitempty"`
	Disconnects int64 `json:"disconnects,omitempty"`
}

type timeline struct {
	mu    sync.Mutex
	t0    time.Time
	width time.Duration
	b     []TimelineBin
}

func newTimeline(t0 time.Time, width time.Duration) *timeline {
	return &timeline{t0: t0, width: width}
}

// start sets t0 for a timeline created before its run's start is known.
func (t *timeline) start(t0 time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.t0 = t0
}

// since returns the seconds from t0 to at (negative before it), or 0 before
// the run started. Readers use it instead of the run's t0 field, which
// they could otherwise read while it is being set.
func (t *timeline) since(at time.Time) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t0.IsZero() {
		return 0
	}
	return at.Sub(t.t0).Seconds()
}

func (t *timeline) add(at time.Time, fn func(*TimelineBin)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.t0.IsZero() {
		return // before the run: setup traffic is not part of it
	}
	i := int(at.Sub(t.t0) / t.width)
	if i < 0 {
		i = 0
	}
	for len(t.b) <= i {
		t.b = append(t.b, TimelineBin{StartS: (time.Duration(len(t.b)) * t.width).Seconds()})
	}
	fn(&t.b[i])
}

func (t *timeline) bins() []TimelineBin {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TimelineBin(nil), t.b...)
}

// replyRate groups per-second bins into windows of per seconds, like
// httperf's 5-second reply-rate samples. Only complete windows count: the
// last, partial one would understate the rate.
func replyRate(bins []TimelineBin, per int) RateStats {
	var rates []float64
	for i := 0; i+per <= len(bins); i += per {
		var n int64
		for _, b := range bins[i : i+per] {
			n += b.Replies
		}
		rates = append(rates, float64(n)/float64(per))
	}
	return rateStats(rates)
}

func rateStats(xs []float64) RateStats {
	rs := RateStats{Samples: len(xs)}
	if len(xs) == 0 {
		return rs
	}
	rs.Min, rs.Max = xs[0], xs[0]
	var sum float64
	for _, x := range xs {
		sum += x
		rs.Min = math.Min(rs.Min, x)
		rs.Max = math.Max(rs.Max, x)
	}
	rs.Avg = sum / float64(len(xs))
	if len(xs) > 1 {
		var ss float64
		for _, x := range xs {
			ss += (x - rs.Avg) * (x - rs.Avg)
		}
		rs.Stddev = math.Sqrt(ss / float64(len(xs)-1))
	}
	return rs
}

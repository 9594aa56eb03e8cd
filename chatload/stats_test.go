package chatload

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRecorderKnownInputs(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		want   Summary
	}{
		{name: "empty", want: Summary{}},
		{
			name:   "single value has no stddev",
			values: []time.Duration{7 * time.Millisecond},
			want:   Summary{Count: 1, Min: 7, Avg: 7, Max: 7, Median: 7, P50: 7, P90: 7, P99: 7, P999: 7},
		},
		{
			// 1..100 ms: mean 50.5, sample stddev sqrt(841.666...) = 29.0115.
			name:   "1 to 100 ms",
			values: seqMillis(1, 100),
			want: Summary{Count: 100, Min: 1, Avg: 50.5, Max: 100, Median: 50, Stddev: 29.0115,
				P50: 50, P90: 90, P99: 99, P999: 100},
		},
		{
			name:   "negative clamps to zero",
			values: []time.Duration{-time.Second, 2 * time.Millisecond},
			want: Summary{Count: 2, Min: 0, Avg: 1, Max: 2, Median: 0, Stddev: math.Sqrt2,
				P50: 0, P90: 2, P99: 2, P999: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder()
			for _, v := range tt.values {
				r.Record(v)
			}
			// HDR buckets at 3 digits are within 0.1%: compare with that slack.
			opt := cmpopts.EquateApprox(0.001, 0.0005)
			if diff := cmp.Diff(tt.want, r.Summary(), opt); diff != "" {
				t.Errorf("Summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecorderMergeEqualsSingle(t *testing.T) {
	a, b, all := NewRecorder(), NewRecorder(), NewRecorder()
	for i, v := range seqMillis(1, 1000) {
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		all.Record(v)
	}
	m := NewRecorder()
	m.Merge(a)
	m.Merge(b)
	m.Merge(m) // self-merge is a no-op, not a doubling
	if diff := cmp.Diff(all.Summary(), m.Summary(), cmpopts.EquateApprox(1e-9, 1e-9)); diff != "" {
		t.Errorf("merged summary differs (-single +merged):\n%s", diff)
	}
}

func TestRecorderClampsHuge(t *testing.T) {
	r := NewRecorder()
	r.Record(3 * time.Hour)
	s := r.Summary()
	if s.Count != 1 || s.Max != float64(3*time.Hour/time.Millisecond) {
		t.Errorf("got count %d max %v, want the exact 3h max kept", s.Count, s.Max)
	}
	if s.P99 > float64(time.Hour/time.Millisecond)*1.001 {
		t.Errorf("p99 %v beyond the histogram range", s.P99)
	}
}

func seqMillis(from, to int) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Millisecond)
	}
	return out
}

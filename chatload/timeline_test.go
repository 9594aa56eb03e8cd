package chatload

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestReplyRateKnownInputs(t *testing.T) {
	var bins []TimelineBin
	for i, n := range []int64{5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 3} {
		bins = append(bins, TimelineBin{StartS: float64(i), Replies: n})
	}
	// Two complete 5-second windows (5/s and 10/s); the last partial one
	// is left out, as httperf samples only whole intervals.
	want := RateStats{Min: 5, Avg: 7.5, Max: 10, Stddev: 3.5355339, Samples: 2}
	if diff := cmp.Diff(want, replyRate(bins, 5), cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := replyRate(bins[:4], 5); got.Samples != 0 {
		t.Errorf("short run: %+v, want no samples", got)
	}
}

func TestNetIOKnownInputs(t *testing.T) {
	got := netIO(3*1024, 1024, 2*time.Second)
	want := NetIO{SentBytes: 3072, RecvBytes: 1024, KBPerSec: 2, Mbps: 4096 * 8 / 1e6 / 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if z := netIO(10, 10, 0); z.KBPerSec != 0 {
		t.Errorf("zero duration gave %v KB/s", z.KBPerSec)
	}
}

func TestTimelineBins(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tl := newTimeline(time.Time{}, time.Second)
	tl.add(t0, func(b *TimelineBin) { b.Sent++ }) // before start: ignored
	tl.start(t0)
	tl.add(t0.Add(-time.Millisecond), func(b *TimelineBin) { b.Sent++ }) // clamps into bin 0
	tl.add(t0.Add(2500*time.Millisecond), func(b *TimelineBin) { b.Delivered += 2 })
	want := []TimelineBin{{StartS: 0, Sent: 1}, {StartS: 1}, {StartS: 2, Delivered: 2}}
	if diff := cmp.Diff(want, tl.bins()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

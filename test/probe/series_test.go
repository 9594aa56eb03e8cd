package probe

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mk builds a series from a pattern: '+' ok, 't' timeout, 'r' refused, one
// probe every 5 ms from t0.
func mk(t0 time.Time, pattern string) Series {
	var s Series
	for i, c := range pattern {
		r := Result{Start: t0.Add(time.Duration(i) * 5 * time.Millisecond)}
		switch c {
		case '+':
			r.OK, r.Responder = true, "lb1"
		case 't':
			r.Reason = ReasonTimeout
		case 'r':
			r.Reason = ReasonRefused
		}
		s.Results = append(s.Results, r)
	}
	return s
}

func TestOutageIsLongestRunFirstFailToNextOK(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name    string
		pattern string
		want    time.Duration
		failed  int
		reasons map[Reason]int
		unrec   bool
	}{
		{"no failure", "+++++", 0, 0, nil, false},
		{"single lost probe", "++t++", ms(5), 1, map[Reason]int{ReasonTimeout: 1}, false},
		{"longest of two", "+tt+tttt+", ms(20), 4, map[Reason]int{ReasonTimeout: 4}, false},
		{"mixed reasons", "+ttrr+", ms(20), 4, map[Reason]int{ReasonTimeout: 2, ReasonRefused: 2}, false},
		{"starts failing", "ttt+", ms(15), 3, map[Reason]int{ReasonTimeout: 3}, false},
		{"never recovers", "++ttt", ms(10), 3, map[Reason]int{ReasonTimeout: 3}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mk(t0, tt.pattern).Outage()
			if g.Duration() != tt.want || g.Failed != tt.failed || g.Unrecovered != tt.unrec {
				t.Errorf("Outage = %v (failed %d, unrecovered %v), want %v (failed %d, unrecovered %v)",
					g.Duration(), g.Failed, g.Unrecovered, tt.want, tt.failed, tt.unrec)
			}
			if tt.reasons == nil {
				tt.reasons = map[Reason]int(nil)
			}
			if diff := cmp.Diff(tt.reasons, g.Reasons); diff != "" && !(len(tt.reasons) == 0 && len(g.Reasons) == 0) {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWindowSelectsByStart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := mk(t0, "tt++tt++")
	s.Marks = []Mark{{At: t0.Add(10 * time.Millisecond), Label: "x"}}
	w := s.Window(t0.Add(10*time.Millisecond), t0.Add(35*time.Millisecond))
	if len(w.Results) != 5 || w.Failed() != 2 || len(w.Marks) != 1 {
		t.Fatalf("window has %d results, %d failed, %d marks; want 5, 2, 1", len(w.Results), w.Failed(), len(w.Marks))
	}
	if got := w.Outage().Duration(); got != 10*time.Millisecond {
		t.Errorf("window outage = %v, want 10ms", got)
	}
	if got := w.Responders(); !cmp.Equal(got, map[string]int{"lb1": 3}) {
		t.Errorf("Responders = %v", got)
	}
}

func TestGapReportsClientStall(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := mk(t0, "++t+")
	s.Results[3].Start = s.Results[2].Start.Add(300 * time.Millisecond) // nobody probed for 300 ms
	g := s.Outage()
	if g.MaxSpacing != 300*time.Millisecond || !strings.Contains(g.String(), "client stalled 300ms") {
		t.Errorf("gap = %v (max spacing %v), want a 300ms client stall reported", g, g.MaxSpacing)
	}
	if g := mk(t0, "++t++").Outage(); g.MaxSpacing != 5*time.Millisecond || strings.Contains(g.String(), "stalled") {
		t.Errorf("regular probing reported as %v", g)
	}
}

func TestOutageInKeepsTheTrueEndOfAGap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := mk(t0, "++ttttt+++")
	cut := t0.Add(20 * time.Millisecond) // inside the gap
	if got := s.Window(t0, cut).Outage(); !got.Unrecovered {
		t.Fatalf("Window cuts the gap: %v", got)
	}
	g := s.OutageIn(t0, cut)
	if g.Unrecovered || g.Duration() != 25*time.Millisecond || g.Failed != 5 {
		t.Errorf("OutageIn = %v, want the whole 25ms gap of 5 probes", g)
	}
	if g := s.OutageIn(cut, time.Time{}); g.Failed != 0 {
		t.Errorf("a gap that started before the window was counted: %v", g)
	}
}

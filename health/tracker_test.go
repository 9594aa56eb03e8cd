package health

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type step struct {
	ok      bool
	changed bool
	state   State
}

func TestTrackerRiseFall(t *testing.T) {
	const (
		T = true
		F = false
	)
	tests := []struct {
		name       string
		rise, fall int
		initial    State
		steps      []step
	}{
		{
			name: "alpha: starts down, needs rise successes", rise: 3, fall: 2, initial: Down,
			steps: []step{{T, F, Down}, {T, F, Down}, {T, T, Up}, {T, F, Up}},
		},
		{
			name: "a failure resets the success run", rise: 2, fall: 2, initial: Down,
			steps: []step{{T, F, Down}, {F, F, Down}, {T, F, Down}, {T, T, Up}},
		},
		{
			name: "starts up, needs fall failures", rise: 2, fall: 3, initial: Up,
			steps: []step{{F, F, Up}, {F, F, Up}, {F, T, Down}, {F, F, Down}},
		},
		{
			name: "a success resets the failure run", rise: 1, fall: 2, initial: Up,
			steps: []step{{F, F, Up}, {T, F, Up}, {F, F, Up}, {F, T, Down}},
		},
		{
			name: "unknown: first success decides at once", rise: 5, fall: 5, initial: Unknown,
			steps: []step{{T, T, Up}, {F, F, Up}},
		},
		{
			name: "unknown: first failure decides at once", rise: 5, fall: 5, initial: Unknown,
			steps: []step{{F, T, Down}, {T, F, Down}},
		},
		{
			name: "rise and fall of 1 follow every result", rise: 1, fall: 1, initial: Down,
			steps: []step{{T, T, Up}, {F, T, Down}, {F, F, Down}, {T, T, Up}},
		},
		{
			name: "zero rise and fall mean 1", rise: 0, fall: 0, initial: Up,
			steps: []step{{F, T, Down}, {T, T, Up}},
		},
		{
			name: "flapping never crosses rise 2", rise: 2, fall: 2, initial: Down,
			steps: []step{{T, F, Down}, {F, F, Down}, {T, F, Down}, {F, F, Down}},
		},
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(tc.rise, tc.fall, tc.initial, t0)
			var got, want []step
			for i, s := range tc.steps {
				changed, state := tr.Result(t0.Add(time.Duration(i+1)*time.Second), s.ok)
				got = append(got, step{s.ok, changed, state})
				want = append(want, s)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrackerBookkeeping(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := NewTracker(2, 2, Down, t0)
	if got := tr.LastChange(); !got.Equal(t0) {
		t.Fatalf("LastChange before any result = %v, want %v", got, t0)
	}
	if at, _ := tr.LastResult(); !at.IsZero() {
		t.Fatalf("LastResult before any result = %v, want zero", at)
	}
	t1, t2, t3 := t0.Add(time.Second), t0.Add(2*time.Second), t0.Add(3*time.Second)
	tr.Result(t1, true)
	tr.Result(t2, true) // rises here
	tr.Result(t3, false)
	if got := tr.LastChange(); !got.Equal(t2) {
		t.Errorf("LastChange = %v, want %v (the rise)", got, t2)
	}
	if at, ok := tr.LastResult(); !at.Equal(t3) || ok {
		t.Errorf("LastResult = %v, %v; want %v, false", at, ok, t3)
	}
	if ok, fail := tr.Consecutive(); ok != 0 || fail != 1 {
		t.Errorf("Consecutive = %d, %d; want 0, 1", ok, fail)
	}
	if !tr.IsUp() || tr.State() != Up || tr.Results() != 3 {
		t.Errorf("state %v, results %d; want up after 3 results", tr.State(), tr.Results())
	}
}

// TestTrackerBounds checks the promise in tracker terms: with one
// result per interval, a server that starts failing is down after exactly
// fall results, and one that recovers is up after exactly rise results.
func TestTrackerBounds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for rise := 1; rise <= 5; rise++ {
		for fall := 1; fall <= 5; fall++ {
			tr := NewTracker(rise, fall, Up, t0)
			n := 0
			for tr.State() == Up {
				n++
				tr.Result(t0, false)
			}
			if n != fall {
				t.Errorf("rise %d fall %d: down after %d failures, want %d", rise, fall, n, fall)
			}
			n = 0
			for tr.State() == Down {
				n++
				tr.Result(t0, true)
			}
			if n != rise {
				t.Errorf("rise %d fall %d: up after %d successes, want %d", rise, fall, n, rise)
			}
		}
	}
}

func TestStateJSON(t *testing.T) {
	in := map[string]State{"a": Unknown, "b": Down, "c": Up}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"unknown","b":"down","c":"up"}`; string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
	var out map[string]State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`"sideways"`), new(State)); err == nil {
		t.Error("unmarshal of a bad state succeeded")
	}
	if _, err := json.Marshal(State(9)); err == nil {
		t.Error("marshal of a bad state succeeded")
	}
}

// FuzzTracker steps a tracker through arbitrary result sequences and checks
// the rise/fall invariants: a target is never down after rise consecutive
// successes nor up after fall consecutive failures, it changes state only
// on the result that completes such a run (or on its first result when
// Unknown), and at most one of the consecutive counters is non-zero.
func FuzzTracker(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(0), []byte{1, 1, 0, 0, 1, 1, 1})
	f.Add(uint8(1), uint8(1), uint8(1), []byte{0, 1, 0, 1})
	f.Add(uint8(5), uint8(5), uint8(2), []byte{0, 0, 0, 0, 0, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, rise, fall, initial uint8, results []byte) {
		r, fl := int(rise%8)+1, int(fall%8)+1
		tr := NewTracker(r, fl, State(initial%3), time.Time{})
		var hist []bool
		runOf := func(n int, want bool) bool { // the last n results all equal want
			if len(hist) < n {
				return false
			}
			for _, ok := range hist[len(hist)-n:] {
				if ok != want {
					return false
				}
			}
			return true
		}
		for i, b := range results {
			ok := b&1 == 1
			before := tr.State()
			hist = append(hist, ok)
			changed, state := tr.Result(time.Time{}, ok)
			if changed != (state != before) || state != tr.State() {
				t.Fatalf("step %d: changed %v but %v -> %v", i, changed, before, state)
			}
			if state == Down && runOf(r, true) {
				t.Fatalf("step %d: down after %d successes (rise %d)", i, r, r)
			}
			if state == Up && runOf(fl, false) {
				t.Fatalf("step %d: up after %d failures (fall %d)", i, fl, fl)
			}
			if changed && before != Unknown {
				n, want := fl, false
				if state == Up {
					n, want = r, true
				}
				if !runOf(n, want) {
					t.Fatalf("step %d: %v -> %v without a full run of %d", i, before, state, n)
				}
			}
			if okRun, failRun := tr.Consecutive(); okRun != 0 && failRun != 0 {
				t.Fatalf("step %d: both counters non-zero: %d, %d", i, okRun, failRun)
			}
			if state == Unknown {
				t.Fatalf("step %d: still unknown after a result", i)
			}
		}
	})
}

package health

import (
	"fmt"
	"time"
)

// State is a target's health as the tracker sees it.
type State int

// The states. The zero value is Unknown.
const (
	Unknown State = iota // no verdict yet: the first result decides
	Down
	Up
)

func (s State) String() string {
	switch s {
	case Unknown:
		return "unknown"
	case Down:
		return "down"
	case Up:
		return "up"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText renders the state as "unknown", "down" or "up", for JSON
// status output.
func (s State) MarshalText() ([]byte, error) {
	if s < Unknown || s > Up {
		return nil, fmt.Errorf("health: marshal %v: %w", s, ErrInvalidTarget)
	}
	return []byte(s.String()), nil
}

// UnmarshalText parses what MarshalText renders.
func (s *State) UnmarshalText(b []byte) error {
	for _, c := range []State{Unknown, Down, Up} {
		if string(b) == c.String() {
			*s = c
			return nil
		}
	}
	return fmt.Errorf("health: state %q is not unknown, down or up: %w", b, ErrInvalidTarget)
}

// Tracker is the rise/fall state of one target: keepalived's checker
// "rise"/"fall" (and "retry", which is fall-1 retries) and vrrp_script's
// rise/fall. It is pure: it does no I/O and reads no clock, so it steps
// deterministically in tests. It is not safe for concurrent use.
//
// A target in Down goes Up after Rise consecutive successes; a target in Up
// goes Down after Fall consecutive failures. A target in Unknown takes the
// verdict of its first result at once, so a daemon that starts with no
// opinion converges after one interval.
type Tracker struct {
	rise, fall int
	state      State

	okRun, failRun int // consecutive successes / failures, one is always 0
	lastResult     time.Time
	lastChange     time.Time
	lastOK         bool
	results        int // results seen, for "has it been checked yet"
}

// NewTracker returns a tracker in state initial. Rise and fall below 1 are
// taken as 1. The last change time starts at now.
func NewTracker(rise, fall int, initial State, now time.Time) *Tracker {
	return &Tracker{rise: max(rise, 1), fall: max(fall, 1), state: initial, lastChange: now}
}

// Result records one check result at now and reports whether the state
// changed and the state after the result.
func (t *Tracker) Result(now time.Time, ok bool) (changed bool, state State) {
	t.results++
	t.lastResult = now
	t.lastOK = ok
	if ok {
		t.okRun++
		t.failRun = 0
	} else {
		t.failRun++
		t.okRun = 0
	}
	next := t.state
	switch t.state {
	case Unknown:
		next = Down
		if ok {
			next = Up
		}
	case Down:
		if t.okRun >= t.rise {
			next = Up
		}
	case Up:
		if t.failRun >= t.fall {
			next = Down
		}
	}
	if next == t.state {
		return false, t.state
	}
	t.state = next
	t.lastChange = now
	return true, t.state
}

// State returns the current state.
func (t *Tracker) State() State { return t.state }

// IsUp reports whether the state is Up; Unknown counts as not up.
func (t *Tracker) IsUp() bool { return t.state == Up }

// Consecutive returns the current run of successes and of failures; at
// most one of them is non-zero.
func (t *Tracker) Consecutive() (ok, fail int) { return t.okRun, t.failRun }

// LastChange returns when the state last changed (or when the tracker was
// made).
func (t *Tracker) LastChange() time.Time { return t.lastChange }

// LastResult returns the time and verdict of the last result; the time is
// zero before the first result.
func (t *Tracker) LastResult() (at time.Time, ok bool) { return t.lastResult, t.lastOK }

// Results returns how many results the tracker has seen.
func (t *Tracker) Results() int { return t.results }

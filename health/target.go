package health

import (
	"fmt"
	"time"
)

// DefaultTimeout caps the default probe timeout, like keepalived's
// connect_timeout.
const DefaultTimeout = 5 * time.Second

// Target is one thing to check: a real server of a virtual service, or one
// of vrrpd's tracked scripts.
type Target struct {
	// ID names the target in updates, snapshots and metrics; unique within
	// a monitor. Something like "vs 198.18.0.10:6667/tcp rs 198.18.1.2:6667".
	ID string
	// Prober performs the check.
	Prober Prober
	// Interval is the time between the starts of two probes (keepalived's
	// delay_loop, vrrp_script's interval). Required.
	Interval time.Duration
	// Timeout bounds one probe (connect_timeout, vrrp_script's timeout).
	// Zero means the smaller of Interval and DefaultTimeout. It may
	// exceed Interval, as keepalived allows (a vrrp_script with interval 1
	// and timeout 10): probes of one target never overlap, a tick that
	// finds the previous probe running waits for it (see Monitor).
	Timeout time.Duration
	// RetryInterval, when set, replaces Interval while an up target is
	// failing but has not yet failed Fall times (keepalived's
	// delay_before_retry): the next probe runs RetryInterval after the
	// failed one ends, so detection takes about
	// Interval + (Fall-1)×RetryInterval instead of Fall×Interval. Zero
	// means no retries. It may not exceed Interval.
	RetryInterval time.Duration
	// Rise is the number of consecutive successes that bring a down
	// target up; Fall the number of consecutive failures that bring an up
	// target down. Zero means 1.
	Rise, Fall int
	// Initial is the state before the first verdict: Down for keepalived's
	// "alpha", Up for its default, Unknown to let the first result decide.
	Initial State
}

// normalize fills defaults and validates. It returns a copy.
func (t Target) normalize() (Target, error) {
	switch {
	case t.ID == "":
		return t, fmt.Errorf("health target: empty ID: %w", ErrInvalidTarget)
	case t.Prober == nil:
		return t, fmt.Errorf("health target %q: no prober: %w", t.ID, ErrInvalidTarget)
	case t.Interval <= 0:
		return t, fmt.Errorf("health target %q: interval %v must be positive: %w", t.ID, t.Interval, ErrInvalidTarget)
	case t.Timeout < 0:
		return t, fmt.Errorf("health target %q: timeout %v is negative: %w", t.ID, t.Timeout, ErrInvalidTarget)
	case t.RetryInterval < 0 || t.RetryInterval > t.Interval:
		return t, fmt.Errorf("health target %q: retry interval %v must be between 0 and the interval %v: %w",
			t.ID, t.RetryInterval, t.Interval, ErrInvalidTarget)
	case t.Rise < 0 || t.Fall < 0:
		return t, fmt.Errorf("health target %q: rise %d and fall %d must not be negative: %w", t.ID, t.Rise, t.Fall, ErrInvalidTarget)
	case t.Initial < Unknown || t.Initial > Up:
		return t, fmt.Errorf("health target %q: bad initial state %v: %w", t.ID, t.Initial, ErrInvalidTarget)
	}
	if t.Timeout == 0 {
		t.Timeout = min(t.Interval, DefaultTimeout)
	}
	t.Rise = max(t.Rise, 1)
	t.Fall = max(t.Fall, 1)
	return t, nil
}

// Update reports a state change of one target.
type Update struct {
	ID    string
	State State // Up or Down
	// Reason says why, for logs and notify scripts: the run of results
	// that crossed the threshold and, going down, the last error.
	Reason string
	// Kind is the last failure's kind when going down, "" going up.
	Kind FailureKind
	At   time.Time
}

// Status is a snapshot of one target for status displays.
type Status struct {
	ID              string
	State           State
	Checks          uint64 // probes that finished with a verdict
	Failures        uint64
	ConsecutiveOK   int
	ConsecutiveFail int
	LastCheck       time.Time // zero before the first verdict
	LastOK          bool
	LastError       string
	LastKind        FailureKind
	LastDuration    time.Duration
	LastChange      time.Time
	NextCheck       time.Time
	InFlight        bool
}

// Stats are the monitor's counters for metrics; all are totals since the
// monitor was made, except InFlight and Targets.
type Stats struct {
	Checks      uint64
	Failures    map[FailureKind]uint64
	Ups, Downs  uint64 // state changes
	Deferred    uint64 // ticks that found the previous probe still running and waited for it
	Overruns    uint64 // ticks dropped because a deferred probe was already waiting
	Missed      uint64 // ticks dropped because the scheduler woke up late (suspend, overload)
	Abandoned   uint64 // probes whose verdict was dropped because the target was removed or the monitor stopped
	InFlight    int
	Targets     int
	Concurrency int // the limit on probes running at once
}

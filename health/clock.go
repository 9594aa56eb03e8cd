package health

import "time"

// Clock is the time source of a [Monitor]. Tests inject a fake one
// (healthtest.FakeClock) so that intervals pass without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends on its channel once d has
	// passed; d <= 0 fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the monitor uses.
//
// A fake timer should also implement [DeadlineTimer]: a test that advances
// its clock between the monitor reading the time and arming the timer would
// otherwise shift the deadline by the advance and lose a tick.
type Timer interface {
	C() <-chan time.Time
	// Reset rearms the timer to fire after d. A value sent before Reset
	// is not received afterwards (Go 1.23 timer semantics).
	Reset(d time.Duration)
	// Stop stops the timer; it reports whether the timer was still armed.
	Stop() bool
}

// DeadlineTimer is a Timer that can be armed for an absolute time. The
// monitor uses ResetAt when a timer offers it; a deadline that has passed
// fires at once.
type DeadlineTimer interface {
	Timer
	ResetAt(t time.Time)
}

// ArmAt arms t to fire at deadline: with ResetAt when t is a
// DeadlineTimer, else with Reset(deadline - c.Now()). Code that sleeps
// until a computed deadline on an injected clock should use it, so that
// its tests with a fake clock cannot lose a tick.
func ArmAt(c Clock, t Timer, deadline time.Time) {
	if dt, ok := t.(DeadlineTimer); ok {
		dt.ResetAt(deadline)
		return
	}
	t.Reset(deadline.Sub(c.Now()))
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer returns a real timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) }
func (s sysTimer) Stop() bool            { return s.t.Stop() }

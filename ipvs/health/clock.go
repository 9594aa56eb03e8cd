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
type Timer interface {
	C() <-chan time.Time
	// Reset rearms the timer to fire after d. A value sent before Reset
	// is not received afterwards (Go 1.23 timer semantics).
	Reset(d time.Duration)
	// Stop stops the timer; it reports whether the timer was still armed.
	Stop() bool
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

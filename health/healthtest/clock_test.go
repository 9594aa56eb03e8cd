package healthtest

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fired(tm interface{ C() <-chan time.Time }) (time.Time, bool) {
	select {
	case at := <-tm.C():
		return at, true
	default:
		return time.Time{}, false
	}
}

func TestFakeClockTimers(t *testing.T) {
	c := NewFakeClock(t0)
	a := c.NewTimer(2 * time.Second)
	b := c.NewTimer(time.Second)
	if c.Armed() != 2 {
		t.Fatalf("armed = %d, want 2", c.Armed())
	}
	if next, ok := c.NextDeadline(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Fatalf("next deadline %v %v, want t0+1s", next, ok)
	}
	c.Advance(999 * time.Millisecond)
	if _, ok := fired(b); ok {
		t.Fatal("timer fired before its deadline")
	}
	c.Advance(time.Millisecond)
	if at, ok := fired(b); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("timer b: fired %v at %v, want at t0+1s", ok, at)
	}
	if a.Stop() != true || c.Armed() != 0 {
		t.Fatalf("Stop of an armed timer: armed now %d", c.Armed())
	}
	c.Advance(time.Hour)
	if _, ok := fired(a); ok {
		t.Fatal("stopped timer fired")
	}
	if a.Stop() {
		t.Error("second Stop reported an armed timer")
	}
}

func TestFakeClockResetDropsStaleValue(t *testing.T) {
	c := NewFakeClock(t0)
	tm := c.NewTimer(time.Second)
	c.Advance(time.Second) // fires, value not received
	tm.Reset(time.Second)
	if _, ok := fired(tm); ok {
		t.Fatal("a value sent before Reset was received after it")
	}
	c.Advance(time.Second)
	if at, ok := fired(tm); !ok || !at.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("fired %v at %v, want t0+2s", ok, at)
	}
	tm.Reset(0)
	if _, ok := fired(tm); !ok {
		t.Fatal("Reset(0) did not fire at once")
	}
}

func TestFakeClockWaitArmed(t *testing.T) {
	c := NewFakeClock(t0)
	go func() { c.NewTimer(5 * time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.WaitArmed(ctx, func(next time.Time, ok bool) bool { return ok && next.Equal(t0.Add(5*time.Second)) })
	if err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := c.WaitArmed(short, func(_ time.Time, ok bool) bool { return !ok }); err == nil {
		t.Fatal("WaitArmed for a condition that never holds returned nil")
	}
}

// TestFakeClockResetAtPastFires is the race the monitor relies on
// DeadlineTimer for: the clock moves past a deadline before the timer is
// armed for it, and the tick must still come.
func TestFakeClockResetAtPastFires(t *testing.T) {
	c := NewFakeClock(t0)
	tm := c.NewTimer(time.Hour).(interface {
		C() <-chan time.Time
		ResetAt(time.Time)
	})
	deadline := c.Now().Add(time.Second)
	c.Advance(2 * time.Second)
	tm.ResetAt(deadline)
	if _, ok := fired(tm); !ok {
		t.Fatal("a deadline already passed did not fire on ResetAt")
	}
	tm.ResetAt(c.Now().Add(time.Second))
	c.Advance(time.Second)
	if at, ok := fired(tm); !ok || !at.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("fired %v at %v, want t0+3s", ok, at)
	}
}

// Package healthtest provides a test double for package health: a fake
// clock whose time moves only when the test says so. Its timers implement
// health.DeadlineTimer, so a monitor driven by it never loses a tick to a
// clock advanced while it arms its timer.
package healthtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hachat/hachat/health"
)

var _ health.DeadlineTimer = (*fakeTimer)(nil)

// FakeClock is a health.Clock whose time only moves on Advance. Timers fire
// during Advance, in deadline order, by a non-blocking send on a channel of
// capacity 1, like Go's timers.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*fakeTimer]struct{} // armed timers
	changed chan struct{}           // closed and replaced whenever timers change
}

// NewFakeClock returns a fake clock that reads start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, timers: make(map[*fakeTimer]struct{}), changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the fake time reaches now+d.
func (c *FakeClock) NewTimer(d time.Duration) health.Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

// Advance moves the time forward by d and fires every timer whose deadline
// is reached, earliest first.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for {
		var first *fakeTimer
		for t := range c.timers {
			if !t.when.After(c.now) && (first == nil || t.when.Before(first.when)) {
				first = t
			}
		}
		if first == nil {
			break
		}
		c.fireLocked(first)
	}
}

// Armed returns how many timers are armed.
func (c *FakeClock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDeadline returns the earliest deadline of the armed timers.
func (c *FakeClock) NextDeadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for t := range c.timers {
		if first.IsZero() || t.when.Before(first) {
			first = t.when
		}
	}
	return first, !first.IsZero()
}

// WaitArmed waits until cond holds for the armed timers' earliest deadline
// (ok false when none is armed), or fails after the real-time limit. A
// scheduler that has armed its timer for the next due probe is idle, which
// is how a test knows that nothing more happens until it advances the clock.
func (c *FakeClock) WaitArmed(ctx context.Context, cond func(next time.Time, ok bool) bool) error {
	for {
		c.mu.Lock()
		ch := c.changed
		var first time.Time
		for t := range c.timers {
			if first.IsZero() || t.when.Before(first) {
				first = t.when
			}
		}
		c.mu.Unlock()
		if cond(first, !first.IsZero()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fake clock: waiting for armed timers (next %v): %w", first, ctx.Err())
		}
	}
}

func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *FakeClock) fireLocked(t *fakeTimer) {
	delete(c.timers, t)
	select {
	case t.ch <- c.now:
	default:
	}
	c.notifyLocked()
}

type fakeTimer struct {
	c    *FakeClock
	ch   chan time.Time
	when time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.resetAtLocked(t.c.now.Add(d))
}

// ResetAt arms the timer for an absolute fake time (health.DeadlineTimer),
// so that an Advance between the caller reading the time and arming the
// timer cannot push the deadline back.
func (t *fakeTimer) ResetAt(when time.Time) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.resetAtLocked(when)
}

func (t *fakeTimer) resetAtLocked(when time.Time) {
	c := t.c
	// Go 1.23 semantics: no stale value survives a Reset.
	select {
	case <-t.ch:
	default:
	}
	t.when = when
	c.timers[t] = struct{}{}
	if !when.After(c.now) {
		c.fireLocked(t)
		return
	}
	c.notifyLocked()
}

func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	_, armed := c.timers[t]
	delete(c.timers, t)
	if armed {
		c.notifyLocked()
	}
	return armed
}

package health

import (
	"testing"
	"time"
)

type stubClock struct{ now time.Time }

func (c stubClock) Now() time.Time               { return c.now }
func (c stubClock) NewTimer(time.Duration) Timer { return &stubTimer{} }

type stubTimer struct {
	reset   time.Duration
	resetAt time.Time
}

func (t *stubTimer) C() <-chan time.Time   { return nil }
func (t *stubTimer) Reset(d time.Duration) { t.reset = d }
func (t *stubTimer) Stop() bool            { return false }

type stubDeadlineTimer struct{ stubTimer }

func (t *stubDeadlineTimer) ResetAt(at time.Time) { t.resetAt = at }

func TestArmAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := stubClock{now: t0}
	plain := &stubTimer{}
	ArmAt(c, plain, t0.Add(3*time.Second))
	if plain.reset != 3*time.Second {
		t.Errorf("plain timer Reset(%v), want 3s", plain.reset)
	}
	dl := &stubDeadlineTimer{}
	ArmAt(c, dl, t0.Add(3*time.Second))
	if !dl.resetAt.Equal(t0.Add(3*time.Second)) || dl.reset != 0 {
		t.Errorf("deadline timer: ResetAt(%v), Reset(%v); want ResetAt(t0+3s) only", dl.resetAt, dl.reset)
	}

	real := SystemClock{}.NewTimer(time.Hour)
	ArmAt(SystemClock{}, real, time.Now().Add(time.Millisecond))
	select {
	case <-real.C():
	case <-time.After(10 * time.Second):
		t.Fatal("system timer armed 1ms ahead did not fire within 10s")
	}
}

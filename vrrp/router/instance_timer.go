package router

import "time"

// loopTimer wakes the instance loop. The default is a Go timer; with a
// realtime priority on Linux it is a timerfd read by a SCHED_RR thread, so
// that a busy host cannot delay the wake-up: a Go timer's expiry is noticed
// by whichever runtime thread polls the timers, and that thread runs at
// normal priority.
type loopTimer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
	Stop()
}

type goTimer struct{ t *time.Timer }

func newGoTimer() *goTimer               { return &goTimer{time.NewTimer(time.Hour)} }
func (g *goTimer) C() <-chan time.Time   { return g.t.C }
func (g *goTimer) Reset(d time.Duration) { g.t.Reset(d) }
func (g *goTimer) Stop()                 { g.t.Stop() }

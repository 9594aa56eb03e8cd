package chatload

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a live snapshot handed to a Progress callback. Libraries never
// log: the command renders these as a bar or as plain lines.
type Progress struct {
	Phase   string        `json:"phase"`
	Elapsed time.Duration `json:"elapsed"`
	// Total is the planned number of units (connections or messages); 0 when
	// unknown.
	Total    int64   `json:"total"`
	Started  int64   `json:"started"`
	Done     int64   `json:"done"`
	Errors   int64   `json:"errors"`
	Open     int64   `json:"open"`
	Rate     float64 `json:"rate"` // units done per second over the last interval
	KBPerSec float64 `json:"kb_per_s"`
}

// counters are the live figures a run updates and a ticker samples.
type counters struct {
	started, done, errors, open, maxOpen atomic.Int64
}

func (c *counters) opened() {
	n := c.open.Add(1)
	for {
		m := c.maxOpen.Load()
		if n <= m || c.maxOpen.CompareAndSwap(m, n) {
			return
		}
	}
}

// ticker calls fn every interval until stop is called; stop waits for the
// goroutine so no callback runs after the run returns.
func ticker(interval time.Duration, fn func(now time.Time)) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fn(now)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// progressSampler turns counters into Progress events with a live rate.
type progressSampler struct {
	phase    string
	start    time.Time
	total    int64
	c        *counters
	io       *IOCount
	lastDone int64
	lastIO   int64
	lastT    time.Time
	fn       func(Progress)
}

func (p *progressSampler) sample(now time.Time) {
	done := p.c.done.Load()
	io := p.io.Sent() + p.io.Recv()
	ev := Progress{
		Phase: p.phase, Elapsed: now.Sub(p.start), Total: p.total,
		Started: p.c.started.Load(), Done: done, Errors: p.c.errors.Load(), Open: p.c.open.Load(),
	}
	if p.lastT.IsZero() {
		p.lastT = p.start
	}
	if dt := now.Sub(p.lastT).Seconds(); dt > 0 {
		ev.Rate = float64(done-p.lastDone) / dt
		ev.KBPerSec = float64(io-p.lastIO) / 1024 / dt
	}
	p.lastDone, p.lastIO, p.lastT = done, io, now
	p.fn(ev)
}

package chatd

import (
	"sync"
	"time"
)

// liveYieldMax bounds how long one chunk of a history reply waits for live
// work (so constant live traffic slows history down, never stops it), and
// liveYieldStep is how often it looks again.
const (
	liveYieldMax  = 10 * time.Millisecond
	liveYieldStep = 250 * time.Microsecond
)

// paceHistory is a CHATHISTORY reply's pace (response.pace): live work
// first, then the node's history byte rate.
func (s *Server) paceHistory(n int) {
	if s.liveInFlight.Load() > 0 {
		start := time.Now()
		for s.liveInFlight.Load() > 0 && time.Since(start) < liveYieldMax {
			time.Sleep(liveYieldStep)
		}
		s.m.historyPaced.WithLabelValues("live").Add(time.Since(start).Seconds())
	}
	s.histPace.wait(n)
}

// History pacing. A CHATHISTORY storm is CPU work end to end: rendering
// the page, copying it into the kernel, and the kernel's TCP work for every
// byte (on loopback, the receiver's too). history_concurrency bounds how
// many replies are built at once, but one builder still runs as fast as a
// core allows, and with the writers of the replies it keeps the machine
// busy: live delivery (commit, tailer, fan-out, writers) then waits in the
// run queues behind it. Go's scheduler has no priorities, so live work
// cannot be put first; instead history is metered. Every node has one
// token bucket of history bytes (history_bytes_rate per second, up to
// history_bytes_burst at once): one client's page of 1000 lines fits the
// burst and goes at once, a storm of them is spread out, and the cores it
// would have taken are left to live delivery. And between two chunks of a
// reply, history waits while a live event is between its commit and its
// delivery (liveInFlight), up to liveYieldMax: the tailer and the fan-out
// go first.

// historyPacer is the node's history byte bucket. sleep is time.Sleep
// (a test replaces it to count the waits without waiting).
type historyPacer struct {
	mu     sync.Mutex
	bucket tokenBucket
	sleep  func(time.Duration)
	paced  func(time.Duration) // records a wait (chatd_history_paced_seconds_total)
}

func newHistoryPacer(l Limits, paced func(time.Duration)) *historyPacer {
	return &historyPacer{
		bucket: tokenBucket{rate: float64(l.HistoryBytesRate), burst: float64(l.HistoryBytesBurst),
			tokens: float64(l.HistoryBytesBurst), last: time.Now()},
		sleep: time.Sleep, paced: paced,
	}
}

// wait charges n history bytes and waits while the bucket is in debt.
// Concurrent repliers share the debt, so the node as a whole keeps to the
// rate. A rate <= 0 never waits.
func (p *historyPacer) wait(n int) {
	if p.bucket.rate <= 0 || n <= 0 {
		return
	}
	p.mu.Lock()
	d := p.bucket.takeN(time.Now(), float64(n))
	sleep := p.sleep
	p.mu.Unlock()
	if d > 0 {
		p.paced(d)
		sleep(d)
	}
}

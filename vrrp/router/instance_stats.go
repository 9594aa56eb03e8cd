package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// LatenessBuckets are the upper bounds of the timer lateness histogram: how
// long after Machine.Deadline the loop delivered TimerExpired. A Backup
// whose timers run later than about one advert interval is at risk of a
// false failover (keepalived's "thread timer expired" problem).
var LatenessBuckets = []time.Duration{
	100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond,
	5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, time.Second,
}

// Histogram is a fixed-bucket histogram updated without locks.
type Histogram struct {
	counts [16]atomic.Uint64 // len(LatenessBuckets)+1, last is +Inf
	sum    atomic.Int64      // nanoseconds
	max    atomic.Int64
}

// Observe records d.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(LatenessBuckets) && d > LatenessBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// Snapshot returns cumulative counts per bucket (as Prometheus wants them),
// the total count, the sum and the maximum.
func (h *Histogram) Snapshot() (cumulative []uint64, count uint64, sum, maxSeen time.Duration) {
	cumulative = make([]uint64, len(LatenessBuckets))
	var c uint64
	for i := range LatenessBuckets {
		c += h.counts[i].Load()
		cumulative[i] = c
	}
	c += h.counts[len(LatenessBuckets)].Load()
	return cumulative, c, time.Duration(h.sum.Load()), time.Duration(h.max.Load())
}

// InstanceStats are the counters of one instance, safe to read while it runs.
type InstanceStats struct {
	AdvertsSent     atomic.Uint64
	AdvertsReceived atomic.Uint64 // accepted and given to the state machine
	SendErrors      atomic.Uint64
	AddrErrors      atomic.Uint64 // VIP add/remove/verify failures
	AnnounceErrors  atomic.Uint64
	// TakeoversDeferred counts Master_Down_Timer expiries that waited for
	// queued packets instead of taking over at once (a starved loop).
	TakeoversDeferred atomic.Uint64
	// DualMaster counts adverts from another Master received while Master:
	// a split brain (healing), or a Backup that did not hear us in time.
	DualMaster atomic.Uint64
	Drops      DropCounts // drops decided by the instance (peer list, own echo, queue full)
	Lateness   Histogram

	mu          sync.Mutex
	transitions map[[2]vrrp.State]uint64
}

func (s *InstanceStats) countTransition(from, to vrrp.State) {
	s.mu.Lock()
	if s.transitions == nil {
		s.transitions = map[[2]vrrp.State]uint64{}
	}
	s.transitions[[2]vrrp.State{from, to}]++
	s.mu.Unlock()
}

// Transitions returns the transition counts by (from, to).
func (s *InstanceStats) Transitions() map[[2]vrrp.State]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[[2]vrrp.State]uint64, len(s.transitions))
	for k, v := range s.transitions {
		m[k] = v
	}
	return m
}

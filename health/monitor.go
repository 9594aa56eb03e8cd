package health

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// DefaultConcurrency bounds the probes a monitor runs at once. It is large
// on purpose: a probe of a black-holed server holds its slot for its whole
// timeout, and a small pool would let a few dead servers delay the checks of
// all the others.
const DefaultConcurrency = 512

// MonitorConfig configures a [Monitor]. The zero value is usable.
type MonitorConfig struct {
	// Clock is the time source; nil means SystemClock. Probe timeouts are
	// always in real time: they bound real I/O.
	Clock Clock
	// OnUpdate receives every state change. Calls are serialized (never
	// concurrent), and for one target they come in order. It must not
	// block for long: it holds up the completion of other probes.
	OnUpdate func(Update)
	// Jitter spreads the first probe of a target over
	// [0, Jitter×Interval). Zero means 1 (a full interval); negative means
	// the first probe runs at once.
	Jitter float64
	// Seed seeds the jitter; zero picks a random seed.
	Seed uint64
	// Concurrency bounds the probes running at once; zero means
	// DefaultConcurrency.
	Concurrency int
}

// Monitor runs the probes of many targets on their intervals, steps their
// trackers and reports state changes. Targets can be added, replaced and
// removed while it runs. All methods are safe for concurrent use.
type Monitor struct {
	clock    Clock
	onUpdate func(Update)
	jitter   float64
	sem      chan struct{}
	wake     chan struct{}
	updMu    sync.Mutex // serializes onUpdate

	mu      sync.Mutex
	rng     *rand.Rand
	targets map[string]*target
	sched   schedHeap
	runCtx  context.Context // nil until Run
	stopped bool
	wg      sync.WaitGroup
	stats   Stats
}

type target struct {
	cfg     Target
	tr      *Tracker
	due     time.Time
	index   int // in the heap; -1 when not in it
	removed bool

	inflight bool
	pending  bool // a tick came while inflight; run again at once
	cancel   context.CancelFunc

	checks, failures uint64
	lastErr          string
	lastKind         FailureKind
	lastDuration     time.Duration
}

// NewMonitor returns a monitor with no targets. Call Run to start it.
func NewMonitor(cfg MonitorConfig) *Monitor {
	m := &Monitor{
		clock:    cfg.Clock,
		onUpdate: cfg.OnUpdate,
		jitter:   cfg.Jitter,
		wake:     make(chan struct{}, 1),
		targets:  make(map[string]*target),
	}
	if m.clock == nil {
		m.clock = SystemClock{}
	}
	if m.jitter == 0 {
		m.jitter = 1
	}
	n := cfg.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	m.sem = make(chan struct{}, n)
	m.stats.Concurrency = n
	m.stats.Failures = make(map[FailureKind]uint64)
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	m.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return m
}

// Add adds a target, or replaces the configuration of the target with the
// same ID. A replaced target keeps its state and counters (as keepalived
// keeps checker state across a reload); its new rise and fall apply from
// the next result, and its next probe is no later than one new interval
// from now.
func (m *Monitor) Add(t Target) error {
	t, err := t.normalize()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return fmt.Errorf("health: add %q: %w", t.ID, ErrStopped)
	}
	now := m.clock.Now()
	if old, ok := m.targets[t.ID]; ok {
		old.cfg = t
		old.tr.rise, old.tr.fall = t.Rise, t.Fall
		if limit := now.Add(t.Interval); old.due.After(limit) {
			old.due = limit
			heap.Fix(&m.sched, old.index)
		}
		m.kick()
		return nil
	}
	tg := &target{cfg: t, tr: NewTracker(t.Rise, t.Fall, t.Initial, now)}
	tg.due = now
	if m.jitter > 0 {
		if span := int64(float64(t.Interval) * min(m.jitter, 1)); span > 0 {
			tg.due = now.Add(time.Duration(m.rng.Int64N(span)))
		}
	}
	m.targets[t.ID] = tg
	heap.Push(&m.sched, tg)
	m.stats.Targets = len(m.targets)
	m.kick()
	return nil
}

// Remove stops checking the target and cancels its running probe. It
// reports whether the target existed.
func (m *Monitor) Remove(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	tg, ok := m.targets[id]
	if !ok {
		return false
	}
	tg.removed = true
	if tg.cancel != nil {
		tg.cancel()
	}
	if tg.index >= 0 {
		heap.Remove(&m.sched, tg.index)
	}
	delete(m.targets, id)
	m.stats.Targets = len(m.targets)
	return true
}

// ErrStopped is returned by Add and Run after Run has returned.
var ErrStopped = errors.New("health monitor stopped")

// kick wakes the scheduler; m.mu is held.
func (m *Monitor) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run schedules probes until ctx is done, then cancels the running probes,
// waits for them and returns ctx's error. It may be called once.
func (m *Monitor) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.runCtx != nil || m.stopped {
		m.mu.Unlock()
		return fmt.Errorf("health: run: %w", ErrStopped)
	}
	m.runCtx = ctx
	m.mu.Unlock()

	timer := m.clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		next, armed := m.dispatchDue()
		if armed {
			ArmAt(m.clock, timer, next)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			m.mu.Lock()
			m.stopped = true
			m.mu.Unlock()
			m.wg.Wait()
			return ctx.Err()
		case <-timer.C():
		case <-m.wake:
		}
	}
}

// dispatchDue starts the probes that are due and returns when the next one
// is due (armed is false with no targets).
func (m *Monitor) dispatchDue() (next time.Time, armed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	for len(m.sched) > 0 && !m.sched[0].due.After(now) {
		tg := m.sched[0]
		m.tick(tg)
		// Fixed rate: the next probe is one interval after this one was
		// due, not after it ran, so lateness does not accumulate. Ticks
		// that are already past are dropped, not run in a burst.
		next := tg.due.Add(tg.cfg.Interval)
		if !next.After(now) {
			missed := now.Sub(tg.due) / tg.cfg.Interval
			m.stats.Missed += uint64(missed)
			next = tg.due.Add((missed + 1) * tg.cfg.Interval)
		}
		tg.due = next
		heap.Fix(&m.sched, 0)
	}
	if len(m.sched) == 0 {
		return time.Time{}, false
	}
	return m.sched[0].due, true
}

// tick handles one due tick of tg; m.mu is held.
func (m *Monitor) tick(tg *target) {
	if tg.inflight {
		if tg.pending {
			m.stats.Overruns++
		} else {
			tg.pending = true
			m.stats.Deferred++
		}
		return
	}
	m.start(tg)
}

// start launches a probe of tg; m.mu is held.
func (m *Monitor) start(tg *target) {
	tg.inflight = true
	m.stats.InFlight++
	pctx, cancel := context.WithCancel(m.runCtx)
	tg.cancel = cancel
	cfg := tg.cfg
	m.wg.Add(1)
	go m.probe(tg, cfg, pctx, cancel)
}

func (m *Monitor) probe(tg *target, cfg Target, ctx context.Context, cancel context.CancelFunc) {
	defer m.wg.Done()
	defer cancel()
	var (
		err error
		dur time.Duration
	)
	select {
	case m.sem <- struct{}{}:
		// The timeout starts once the probe may run, so that waiting for a
		// slot is not charged to the target.
		tctx, tcancel := context.WithTimeout(ctx, cfg.Timeout)
		start := time.Now()
		err = cfg.Prober.Probe(tctx)
		dur = time.Since(start)
		tcancel()
		<-m.sem
	case <-ctx.Done():
		err = ctx.Err()
	}
	m.finish(tg, ctx, err, dur)
}

// finish records a probe's verdict and runs a deferred tick.
func (m *Monitor) finish(tg *target, ctx context.Context, err error, dur time.Duration) {
	m.mu.Lock()
	if tg.removed || ctx.Err() != nil {
		// Removed, or the monitor stopped: a probe cut short by us says
		// nothing about the target.
		m.stats.Abandoned++
		m.stats.InFlight--
		tg.inflight, tg.pending, tg.cancel = false, false, nil
		m.mu.Unlock()
		return
	}
	now := m.clock.Now()
	kind := Classify(err)
	prev := tg.tr.State()
	changed, state := tg.tr.Result(now, err == nil)
	tg.checks++
	m.stats.Checks++
	tg.lastDuration = dur
	if err != nil {
		tg.failures++
		m.stats.Failures[kind]++
		tg.lastErr, tg.lastKind = err.Error(), kind
	} else {
		tg.lastErr, tg.lastKind = "", ""
	}
	var upd Update
	if changed {
		upd = m.update(tg, prev, state, now)
	}
	if _, failRun := tg.tr.Consecutive(); tg.cfg.RetryInterval > 0 && state == Up && failRun > 0 {
		// Retry sooner than the grid while the failure is unconfirmed.
		if retry := now.Add(tg.cfg.RetryInterval); retry.Before(tg.due) {
			tg.due = retry
			heap.Fix(&m.sched, tg.index)
			m.kick()
		}
	}
	m.mu.Unlock()

	if changed && m.onUpdate != nil {
		// Still inflight: no other result of this target can overtake the
		// callback.
		m.updMu.Lock()
		m.onUpdate(upd)
		m.updMu.Unlock()
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	tg.inflight, tg.cancel = false, nil
	m.stats.InFlight--
	if tg.pending {
		tg.pending = false
		if !tg.removed && !m.stopped && m.runCtx.Err() == nil {
			m.start(tg)
		}
	}
}

// update builds the Update for a state change; m.mu is held.
func (m *Monitor) update(tg *target, prev, state State, now time.Time) Update {
	okRun, failRun := tg.tr.Consecutive()
	u := Update{ID: tg.cfg.ID, State: state, At: now}
	switch {
	case state == Up && prev == Unknown:
		m.stats.Ups++
		u.Reason = "first check succeeded"
	case state == Up:
		m.stats.Ups++
		u.Reason = fmt.Sprintf("%d consecutive successful checks (rise %d)", okRun, tg.cfg.Rise)
	case prev == Unknown:
		m.stats.Downs++
		u.Kind = tg.lastKind
		u.Reason = "first check failed: " + tg.lastErr
	default:
		m.stats.Downs++
		u.Kind = tg.lastKind
		u.Reason = fmt.Sprintf("%d consecutive failed checks (fall %d), last: %s", failRun, tg.cfg.Fall, tg.lastErr)
	}
	return u
}

// Status returns the snapshot of one target.
func (m *Monitor) Status(id string) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	tg, ok := m.targets[id]
	if !ok {
		return Status{}, false
	}
	return tg.status(), true
}

// Snapshot returns the status of every target, sorted by ID.
func (m *Monitor) Snapshot() []Status {
	m.mu.Lock()
	out := make([]Status, 0, len(m.targets))
	for _, tg := range m.targets {
		out = append(out, tg.status())
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (tg *target) status() Status {
	okRun, failRun := tg.tr.Consecutive()
	at, ok := tg.tr.LastResult()
	return Status{
		ID: tg.cfg.ID, State: tg.tr.State(),
		Checks: tg.checks, Failures: tg.failures,
		ConsecutiveOK: okRun, ConsecutiveFail: failRun,
		LastCheck: at, LastOK: ok, LastError: tg.lastErr, LastKind: tg.lastKind,
		LastDuration: tg.lastDuration, LastChange: tg.tr.LastChange(),
		NextCheck: tg.due, InFlight: tg.inflight,
	}
}

// Stats returns a copy of the counters.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Failures = make(map[FailureKind]uint64, len(m.stats.Failures))
	for k, v := range m.stats.Failures {
		s.Failures[k] = v
	}
	return s
}

// schedHeap orders targets by due time.
type schedHeap []*target

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h schedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *schedHeap) Push(x any) {
	tg := x.(*target)
	tg.index = len(*h)
	*h = append(*h, tg)
}
func (h *schedHeap) Pop() any {
	old := *h
	tg := old[len(old)-1]
	old[len(old)-1] = nil
	tg.index = -1
	*h = old[:len(old)-1]
	return tg
}

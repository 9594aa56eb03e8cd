package health_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/health/healthtest"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// scripted is a prober whose verdict the test sets; with hold set, each
// probe waits for a release (or its context).
type scripted struct {
	mu      sync.Mutex
	fail    bool
	hold    bool
	calls   int
	release chan struct{}
	started chan struct{}
}

func newScripted() *scripted {
	return &scripted{release: make(chan struct{}, 100), started: make(chan struct{}, 100)}
}

func (s *scripted) Probe(ctx context.Context) error {
	s.mu.Lock()
	s.calls++
	fail, hold := s.fail, s.hold
	s.mu.Unlock()
	s.started <- struct{}{}
	if hold {
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail {
		return fmt.Errorf("scripted: %w", health.ErrUnexpectedStatus)
	}
	return nil
}

func (s *scripted) set(fail, hold bool) {
	s.mu.Lock()
	s.fail, s.hold = fail, hold
	s.mu.Unlock()
}

// waitFor polls cond until it holds or 10 s pass. It waits for an event
// that the code under test makes happen, it does not time the code.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// harness runs a monitor on a fake clock and collects its updates.
type harness struct {
	t       *testing.T
	clk     *healthtest.FakeClock
	m       *health.Monitor
	mu      sync.Mutex
	updates []health.Update
	done    chan error
	cancel  context.CancelFunc
}

func newHarness(t *testing.T, cfg health.MonitorConfig) *harness {
	h := &harness{t: t, clk: healthtest.NewFakeClock(t0), done: make(chan error, 1)}
	cfg.Clock = h.clk
	cfg.OnUpdate = func(u health.Update) {
		h.mu.Lock()
		h.updates = append(h.updates, u)
		h.mu.Unlock()
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = -1
	}
	h.m = health.NewMonitor(cfg)
	return h
}

func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.m.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			h.t.Error("monitor did not stop")
		}
	})
}

func (h *harness) add(tg health.Target) {
	h.t.Helper()
	if err := h.m.Add(tg); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) status(id string) health.Status {
	h.t.Helper()
	st, ok := h.m.Status(id)
	if !ok {
		h.t.Fatalf("no status for %q", id)
	}
	return st
}

// settle waits until id has finished checks probes and the scheduler is
// idle, waiting on its timer for the target's next check.
func (h *harness) settle(id string, checks uint64) {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("%s to finish check %d", id, checks), func() bool {
		st, ok := h.m.Status(id)
		return ok && st.Checks == checks && !st.InFlight
	})
	next := h.status(id).NextCheck
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.clk.WaitArmed(ctx, func(at time.Time, ok bool) bool { return ok && at.Equal(next) }); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) got() []health.Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]health.Update(nil), h.updates...)
}

// TestMonitorRiseFallTiming walks one real server through the issue's
// promise on a fake clock: with interval 1 s, fall 3 and rise 2, a server
// that starts failing right after a check is down at the third failing
// check, 3 intervals later, and back at the second good one.
func TestMonitorRiseFallTiming(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	h.add(health.Target{ID: "rs1", Prober: p, Interval: time.Second, Rise: 2, Fall: 3, Initial: health.Down})
	h.run()

	h.settle("rs1", 1) // at t0: first success, still down (rise 2)
	if st := h.status("rs1"); st.State != health.Down || st.NextCheck != t0.Add(time.Second) {
		t.Fatalf("after one success: state %v next %v; want down, next at t0+1s", st.State, st.NextCheck)
	}
	h.clk.Advance(time.Second)
	h.settle("rs1", 2) // t0+1s: up
	p.set(true, false)
	for i := uint64(3); i <= 5; i++ { // t0+2s, 3s, 4s: down at the third failure
		h.clk.Advance(time.Second)
		h.settle("rs1", i)
	}
	p.set(false, false)
	for i := uint64(6); i <= 7; i++ { // t0+5s, 6s: up at the second success
		h.clk.Advance(time.Second)
		h.settle("rs1", i)
	}

	want := []health.Update{
		{ID: "rs1", State: health.Up, At: t0.Add(1 * time.Second)},
		{ID: "rs1", State: health.Down, Kind: health.KindStatus, At: t0.Add(4 * time.Second)},
		{ID: "rs1", State: health.Up, At: t0.Add(6 * time.Second)},
	}
	got := h.got()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(health.Update{}, "Reason")); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	if len(got) == 3 && (!strings.Contains(got[1].Reason, "3 consecutive failed") || !strings.Contains(got[1].Reason, "unexpected HTTP status")) {
		t.Errorf("down reason %q does not give the run and the last error", got[1].Reason)
	}

	st := h.status("rs1")
	wantSt := health.Status{
		ID: "rs1", State: health.Up, Checks: 7, Failures: 3, ConsecutiveOK: 2,
		LastCheck: t0.Add(6 * time.Second), LastOK: true, LastChange: t0.Add(6 * time.Second),
		NextCheck: t0.Add(7 * time.Second),
	}
	if diff := cmp.Diff(wantSt, st, cmpopts.IgnoreFields(health.Status{}, "LastDuration")); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	stats := h.m.Stats()
	if stats.Checks != 7 || stats.Failures[health.KindStatus] != 3 || stats.Ups != 2 || stats.Downs != 1 || stats.Targets != 1 {
		t.Errorf("stats = %+v; want 7 checks, 3 status failures, 2 ups, 1 down, 1 target", stats)
	}
}

// TestMonitorDetectionBound checks the promise for many rise, fall
// and failure phases: a server that starts failing at any moment is
// reported down within fall × interval, and one that recovers is reported
// up within rise × interval (probes take no time on the fake clock, so the
// + Timeout term of the bound is zero here).
func TestMonitorDetectionBound(t *testing.T) {
	const interval = time.Second
	for _, n := range []int{1, 2, 3, 5} {
		for _, phase := range []time.Duration{time.Millisecond, interval / 2, interval - time.Millisecond} {
			t.Run(fmt.Sprintf("rise=fall=%d/phase=%v", n, phase), func(t *testing.T) {
				h := newHarness(t, health.MonitorConfig{})
				p := newScripted()
				h.add(health.Target{ID: "rs", Prober: p, Interval: interval, Rise: n, Fall: n, Initial: health.Up})
				h.run()
				h.settle("rs", 1)
				checks := uint64(1)
				// stepUntil advances the clock check by check until the
				// target reaches want, and returns when it did.
				stepUntil := func(want health.State) time.Time {
					for h.status("rs").State != want {
						next := h.status("rs").NextCheck
						h.clk.Advance(next.Sub(h.clk.Now()))
						checks++
						h.settle("rs", checks)
						if checks > 100 {
							t.Fatalf("never reached %v", want)
						}
					}
					return h.status("rs").LastChange
				}
				failAt := h.clk.Now().Add(phase)
				h.clk.Advance(phase)
				p.set(true, false)
				downAt := stepUntil(health.Down)
				if took := downAt.Sub(failAt); took > time.Duration(n)*interval {
					t.Errorf("down %v after the failure began, bound is fall×interval = %v", took, time.Duration(n)*interval)
				}
				recoverAt := h.clk.Now().Add(phase)
				h.clk.Advance(phase)
				p.set(false, false)
				upAt := stepUntil(health.Up)
				if took := upAt.Sub(recoverAt); took > time.Duration(n)*interval {
					t.Errorf("up %v after recovery, bound is rise×interval = %v", took, time.Duration(n)*interval)
				}
			})
		}
	}
}

// TestMonitorRetryInterval checks keepalived's delay_before_retry: with a
// 10 s interval, 1 s retries and fall 3, a failure found at t0+10s is
// confirmed at t0+12s, not t0+30s; and a success ends the retries.
func TestMonitorRetryInterval(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	h.add(health.Target{ID: "rs", Prober: p, Interval: 10 * time.Second, RetryInterval: time.Second,
		Fall: 3, Initial: health.Up})
	h.run()
	h.settle("rs", 1)
	p.set(true, false)
	h.clk.Advance(10 * time.Second) // t0+10s: first failure
	h.settle("rs", 2)
	if next := h.status("rs").NextCheck; !next.Equal(t0.Add(11 * time.Second)) {
		t.Fatalf("next check after a failure at %v, want t0+11s (retry)", next)
	}
	h.clk.Advance(time.Second) // t0+11s: second failure
	h.settle("rs", 3)
	p.set(false, false)
	h.clk.Advance(time.Second) // t0+12s: success, the run is broken
	h.settle("rs", 4)
	if st := h.status("rs"); st.State != health.Up || !st.NextCheck.Equal(t0.Add(22*time.Second)) {
		t.Fatalf("after a good retry: state %v next %v; want up, back on the interval at t0+22s", st.State, st.NextCheck)
	}
	p.set(true, false)
	for i, at := range []time.Duration{22, 23, 24} {
		h.clk.Advance(h.status("rs").NextCheck.Sub(h.clk.Now()))
		h.settle("rs", uint64(5+i))
		if now := h.clk.Now(); !now.Equal(t0.Add(at * time.Second)) {
			t.Fatalf("check %d at %v, want t0+%ds", 5+i, now, at)
		}
	}
	want := []health.Update{{ID: "rs", State: health.Down, Kind: health.KindStatus, At: t0.Add(24 * time.Second)}}
	if diff := cmp.Diff(want, h.got(), cmpopts.IgnoreFields(health.Update{}, "Reason")); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	// Down: no more retries, the interval again.
	if next := h.status("rs").NextCheck; !next.Equal(t0.Add(34 * time.Second)) {
		t.Errorf("next check of a down target %v, want t0+34s", next)
	}
}

// TestMonitorDefersOverlappingTick checks that a tick that comes while the
// previous probe runs waits for it (once), and further ticks are dropped
// and counted, so a slow target never builds a backlog.
func TestMonitorDefersOverlappingTick(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	p.set(false, true)
	h.add(health.Target{ID: "slow", Prober: p, Interval: time.Hour, Initial: health.Up})
	h.run()
	<-p.started
	h.clk.Advance(time.Hour)
	waitFor(t, "deferred tick", func() bool { return h.m.Stats().Deferred == 1 })
	h.clk.Advance(time.Hour)
	waitFor(t, "overrun", func() bool { return h.m.Stats().Overruns == 1 })
	p.mu.Lock()
	calls := p.calls
	p.mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d probes started while the first still ran, want 1", calls)
	}
	p.release <- struct{}{} // first probe ends; the deferred one starts at once
	<-p.started
	p.release <- struct{}{}
	h.settle("slow", 2)
	if s := h.m.Stats(); s.Checks != 2 || s.InFlight != 0 {
		t.Errorf("stats %+v; want 2 checks and none in flight", s)
	}
}

// TestMonitorConcurrencyLimit checks that no more than Concurrency probes
// run at once, and that the ones waiting for a slot run when one frees.
func TestMonitorConcurrencyLimit(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{Concurrency: 2})
	var (
		mu            sync.Mutex
		running, peak int
	)
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	prober := health.ProberFunc(func(ctx context.Context) error {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	for i := range 5 {
		h.add(health.Target{ID: fmt.Sprintf("rs%d", i), Prober: prober, Interval: time.Hour, Initial: health.Up})
	}
	h.run()
	<-entered
	<-entered
	waitFor(t, "five probes started or queued", func() bool { return h.m.Stats().InFlight == 5 })
	mu.Lock()
	if running != 2 {
		t.Errorf("%d probes running with a limit of 2", running)
	}
	mu.Unlock()
	for range 5 {
		release <- struct{}{}
	}
	waitFor(t, "all five checks", func() bool { return h.m.Stats().Checks == 5 })
	mu.Lock()
	defer mu.Unlock()
	if peak != 2 {
		t.Errorf("peak concurrency %d, want 2", peak)
	}
}

// TestMonitorTimeoutFails checks that a probe that outlives its timeout is
// cut off and counted as a timeout failure (timeouts run on the real clock).
func TestMonitorTimeoutFails(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	hang := health.ProberFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return fmt.Errorf("hang: %w", ctx.Err())
	})
	h.add(health.Target{ID: "blackhole", Prober: hang, Interval: time.Hour, Timeout: 50 * time.Millisecond, Initial: health.Up})
	h.run()
	h.settle("blackhole", 1)
	want := []health.Update{{ID: "blackhole", State: health.Down, Kind: health.KindTimeout, At: t0}}
	if diff := cmp.Diff(want, h.got(), cmpopts.IgnoreFields(health.Update{}, "Reason")); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	if st := h.status("blackhole"); st.LastKind != health.KindTimeout || st.LastDuration < 50*time.Millisecond {
		t.Errorf("status %+v; want a timeout that lasted at least the timeout", st)
	}
}

func TestMonitorRemoveCancelsProbe(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	p.set(true, true)
	h.add(health.Target{ID: "gone", Prober: p, Interval: time.Second, Initial: health.Up})
	h.run()
	<-p.started
	if !h.m.Remove("gone") {
		t.Fatal("Remove of an existing target returned false")
	}
	if h.m.Remove("gone") {
		t.Error("second Remove returned true")
	}
	waitFor(t, "the cancelled probe to be abandoned", func() bool { return h.m.Stats().Abandoned == 1 })
	if s := h.m.Stats(); s.Checks != 0 || s.InFlight != 0 || s.Targets != 0 {
		t.Errorf("stats %+v; want no checks, none in flight, no targets", s)
	}
	if u := h.got(); len(u) != 0 {
		t.Errorf("updates %v from a removed target", u)
	}
	if snap := h.m.Snapshot(); len(snap) != 0 {
		t.Errorf("snapshot %v after removal", snap)
	}
}

// TestMonitorReplaceKeepsState is the reload case: a target re-added with
// a new configuration keeps its state and counters.
func TestMonitorReplaceKeepsState(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	h.add(health.Target{ID: "rs", Prober: p, Interval: time.Hour, Initial: health.Down})
	h.run()
	h.settle("rs", 1)
	if st := h.status("rs"); st.State != health.Up {
		t.Fatalf("state %v after a success with rise 1, want up", st.State)
	}
	h.add(health.Target{ID: "rs", Prober: p, Interval: time.Second, Fall: 2, Initial: health.Down})
	st := h.status("rs")
	if st.State != health.Up || st.Checks != 1 || st.NextCheck != t0.Add(time.Second) {
		t.Errorf("after replace: state %v checks %d next %v; want up, 1, t0+1s", st.State, st.Checks, st.NextCheck)
	}
	p.set(true, false)
	h.clk.Advance(time.Second)
	h.settle("rs", 2)
	if st := h.status("rs"); st.State != health.Up {
		t.Errorf("down after one failure, but the new fall is 2")
	}
}

// TestMonitorUnknownFirstVerdict checks vrrp_script's start: with no
// initial opinion the first result decides, whatever rise and fall say.
func TestMonitorUnknownFirstVerdict(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			h := newHarness(t, health.MonitorConfig{})
			p := newScripted()
			p.set(fail, false)
			h.add(health.Target{ID: "chk", Prober: p, Interval: time.Second, Rise: 5, Fall: 5})
			if st := h.status("chk"); st.State != health.Unknown {
				t.Fatalf("state before the first check %v, want unknown", st.State)
			}
			h.run()
			h.settle("chk", 1)
			want := []health.Update{{ID: "chk", State: health.Up, Reason: "first check succeeded", At: t0}}
			if fail {
				want = []health.Update{{ID: "chk", State: health.Down, Kind: health.KindStatus,
					Reason: "first check failed: scripted: unexpected HTTP status", At: t0}}
			}
			if diff := cmp.Diff(want, h.got()); diff != "" {
				t.Errorf("updates (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMonitorDropsMissedTicks(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	h.add(health.Target{ID: "rs", Prober: p, Interval: time.Second, Initial: health.Up})
	h.run()
	h.settle("rs", 1)
	h.clk.Advance(5500 * time.Millisecond) // the ticks at 1..5 s are due at once
	h.settle("rs", 2)
	if s := h.m.Stats(); s.Missed != 4 {
		t.Errorf("missed %d ticks, want 4", s.Missed)
	}
	if st := h.status("rs"); st.NextCheck != t0.Add(6*time.Second) {
		t.Errorf("next check %v, want t0+6s (the fixed-rate grid)", st.NextCheck)
	}
}

func TestMonitorJitterSpreadsFirstProbes(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{Jitter: 1, Seed: 42})
	const n = 200
	for i := range n {
		h.add(health.Target{ID: fmt.Sprintf("rs%03d", i), Prober: newScripted(), Interval: 10 * time.Second})
	}
	distinct := map[time.Time]bool{}
	var firstHalf int
	for _, st := range h.m.Snapshot() {
		if st.NextCheck.Before(t0) || !st.NextCheck.Before(t0.Add(10*time.Second)) {
			t.Fatalf("%s first check at %v, outside [t0, t0+interval)", st.ID, st.NextCheck)
		}
		distinct[st.NextCheck] = true
		if st.NextCheck.Before(t0.Add(5 * time.Second)) {
			firstHalf++
		}
	}
	if len(distinct) < n/2 || firstHalf < n/4 || firstHalf > 3*n/4 {
		t.Errorf("%d distinct first checks, %d in the first half: not spread", len(distinct), firstHalf)
	}
}

func TestMonitorStop(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	p := newScripted()
	p.set(false, true)
	h.add(health.Target{ID: "rs", Prober: p, Interval: time.Second})
	h.run()
	<-p.started
	h.cancel()
	select {
	case err := <-h.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		h.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if s := h.m.Stats(); s.Abandoned != 1 || s.Checks != 0 || s.InFlight != 0 {
		t.Errorf("stats %+v; want the running probe abandoned", s)
	}
	if err := h.m.Add(health.Target{ID: "late", Prober: p, Interval: time.Second}); !errors.Is(err, health.ErrStopped) {
		t.Errorf("Add after stop = %v, want ErrStopped", err)
	}
	if err := h.m.Run(context.Background()); !errors.Is(err, health.ErrStopped) {
		t.Errorf("second Run = %v, want ErrStopped", err)
	}
}

func TestMonitorAddValidates(t *testing.T) {
	p := newScripted()
	tests := []struct {
		name string
		tg   health.Target
	}{
		{"empty ID", health.Target{Prober: p, Interval: time.Second}},
		{"no prober", health.Target{ID: "x", Interval: time.Second}},
		{"zero interval", health.Target{ID: "x", Prober: p}},
		{"negative timeout", health.Target{ID: "x", Prober: p, Interval: time.Second, Timeout: -1}},
		{"retry above interval", health.Target{ID: "x", Prober: p, Interval: time.Second, RetryInterval: 2 * time.Second}},
		{"negative retry", health.Target{ID: "x", Prober: p, Interval: time.Second, RetryInterval: -1}},
		{"negative fall", health.Target{ID: "x", Prober: p, Interval: time.Second, Fall: -1}},
		{"bad initial state", health.Target{ID: "x", Prober: p, Interval: time.Second, Initial: 7}},
	}
	m := health.NewMonitor(health.MonitorConfig{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.Add(tc.tg); !errors.Is(err, health.ErrInvalidTarget) {
				t.Errorf("Add = %v, want ErrInvalidTarget", err)
			}
		})
	}
}

// TestMonitorTCPEndToEnd runs a real TCP check on the real clock: the
// server is found up, goes down (refused) when its listener closes, and
// comes back when it listens again. It waits for states, not for an exact
// sequence of updates, because on a loaded machine a 50 ms check can time
// out now and then.
func TestMonitorTCPEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}
	go serve(ln)

	var (
		mu      sync.Mutex
		updates []health.Update
	)
	m := health.NewMonitor(health.MonitorConfig{OnUpdate: func(u health.Update) {
		mu.Lock()
		updates = append(updates, u)
		mu.Unlock()
	}})
	if err := m.Add(health.Target{ID: "rs", Prober: &health.TCP{Addr: addr}, Interval: 50 * time.Millisecond,
		Rise: 2, Fall: 2, Initial: health.Unknown}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// reached waits until the target is in want and the last update says
	// so, and returns that update.
	reached := func(want health.State, kind health.FailureKind) health.Update {
		t.Helper()
		var last health.Update
		waitFor(t, fmt.Sprintf("state %v (last failure %q)", want, kind), func() bool {
			st, _ := m.Status("rs")
			mu.Lock()
			defer mu.Unlock()
			if len(updates) == 0 {
				return false
			}
			last = updates[len(updates)-1]
			return st.State == want && last.State == want && (kind == "" || st.LastKind == kind)
		})
		return last
	}
	reached(health.Up, "")
	ln.Close()
	if u := reached(health.Down, health.KindRefused); u.Kind == "" || u.Reason == "" {
		t.Errorf("down update without kind or reason: %+v", u)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	defer ln2.Close()
	go serve(ln2)
	reached(health.Up, "")
}

// TestMonitorTimeoutAboveInterval: keepalived lets a check's timeout exceed
// its interval (a vrrp_script with interval 1 and timeout 10); the monitor
// accepts such a target and gives each probe the whole timeout, while the
// next tick waits for the running probe (TestMonitorDefersOverlappingTick).
func TestMonitorTimeoutAboveInterval(t *testing.T) {
	h := newHarness(t, health.MonitorConfig{})
	left := make(chan time.Duration, 1)
	p := health.ProberFunc(func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		left <- time.Until(dl)
		return nil
	})
	h.add(health.Target{ID: "slow-script", Prober: p, Interval: time.Second, Timeout: 10 * time.Second, Initial: health.Up})
	h.run()
	if d := <-left; d <= time.Second {
		t.Errorf("probe got %v to run, want the 10s timeout, more than the 1s interval", d)
	}
}

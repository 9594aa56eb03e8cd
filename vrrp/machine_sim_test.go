package vrrp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// A deterministic simulation of several routers on one link: each Machine
// is stepped with virtual time, SendAdvert is delivered to the others after
// a fixed latency, and TakeOver/Release track who holds the addresses. It
// checks end-to-end failover timing without sockets or sleeps.

const simLatency = 100 * time.Microsecond

type simRouter struct {
	name   string
	m      *Machine
	addr   netip.Addr
	up     bool      // false: its adverts are lost (hard failure)
	holds  bool      // holds the virtual addresses
	lastRx time.Time // when it last received an advert
}

type simMsg struct {
	at   time.Time
	to   *simRouter
	from netip.Addr
	a    *Advert
}

type sim struct {
	t        *testing.T
	now      time.Time
	rs       []*simRouter
	inflight []simMsg
	takeover map[string][]time.Time // when each router took over
	interval time.Duration
	latency  time.Duration
}

func newSim(t *testing.T, interval time.Duration, prios ...uint8) *sim {
	s := &sim{t: t, now: t0, takeover: map[string][]time.Time{}, interval: interval, latency: simLatency}
	for i, p := range prios {
		addr := netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)})
		m, err := NewMachine(MachineConfig{VRID: 51, Priority: p, AdvertInterval: interval, Preempt: true, PrimaryAddr: addr})
		if err != nil {
			t.Fatal(err)
		}
		s.rs = append(s.rs, &simRouter{name: fmt.Sprintf("r%d", i), m: m, addr: addr, up: true})
	}
	return s
}

func (s *sim) step(r *simRouter, ev Event) {
	for _, a := range r.m.Step(s.now, ev) {
		switch a := a.(type) {
		case SendAdvert:
			if !r.up {
				continue
			}
			adv := &Advert{Version: 3, Type: 1, VRID: 51, Priority: a.Priority, MaxAdvertInt: s.interval, Addresses: vips}
			for _, o := range s.rs {
				if o != r {
					s.inflight = append(s.inflight, simMsg{at: s.now.Add(s.latency), to: o, from: r.addr, a: adv})
				}
			}
		case TakeOver:
			r.holds = true
			s.takeover[r.name] = append(s.takeover[r.name], s.now)
		case Release:
			r.holds = false
		}
	}
}

// runUntil advances virtual time to end, delivering timers and messages in
// time order (messages first at equal times), and calls check after every
// event.
func (s *sim) runUntil(end time.Time, check func()) {
	for {
		next, which := end, -1
		var msg int = -1
		for i, r := range s.rs {
			if d := r.m.Deadline(); !d.IsZero() && d.Before(next) {
				next, which = d, i
			}
		}
		for i, mm := range s.inflight {
			if !mm.at.After(next) && (msg < 0 || mm.at.Before(s.inflight[msg].at)) {
				msg = i
			}
		}
		if msg >= 0 && !s.inflight[msg].at.After(next) {
			mm := s.inflight[msg]
			s.inflight = slices.Delete(s.inflight, msg, msg+1)
			s.now = mm.at
			mm.to.lastRx = s.now
			s.step(mm.to, AdvertReceived{Advert: mm.a, Src: mm.from})
		} else if which >= 0 {
			s.now = next
			s.step(s.rs[which], TimerExpired{})
		} else {
			s.now = end
			return
		}
		if check != nil {
			check()
		}
	}
}

func (s *sim) holders() []string {
	var out []string
	for _, r := range s.rs {
		if r.holds {
			out = append(out, r.name)
		}
	}
	return out
}

// settle runs for d and then requires exactly one holder, want.
func (s *sim) settle(d time.Duration, want string) {
	s.t.Helper()
	s.runUntil(s.now.Add(d), nil)
	if h := s.holders(); len(h) != 1 || h[0] != want {
		s.t.Fatalf("at t0+%v holders %v, want [%s]", s.now.Sub(t0), h, want)
	}
}

func TestSimStartupElectsHighestPriority(t *testing.T) {
	s := newSim(t, time.Second, 150, 100, 120)
	for _, r := range s.rs {
		s.step(r, Startup{})
	}
	s.settle(time.Minute, "r0")
	// r0's Master_Down_Interval is the shortest: 3 s + 106/256 s.
	if got, want := s.takeover["r0"][0].Sub(t0), 3*time.Second+106*time.Second/256; got != want {
		t.Errorf("r0 took over at %v, want %v", got, want)
	}
	if len(s.takeover["r1"])+len(s.takeover["r2"]) != 0 {
		t.Errorf("backups took over: %v", s.takeover)
	}
}

// TestSimGracefulShutdownTakesSkewTime: after a priority 0 advert the
// Backup takes over Skew_Time later (RFC 5798 §6.4.2), not
// Master_Down_Interval.
func TestSimGracefulShutdownTakesSkewTime(t *testing.T) {
	s := newSim(t, time.Second, 150, 100)
	for _, r := range s.rs {
		s.step(r, Startup{})
	}
	s.settle(10*time.Second, "r0")
	stop := s.now
	s.step(s.rs[0], Shutdown{})
	s.settle(5*time.Second, "r1")
	if got, want := s.takeover["r1"][0].Sub(stop), simLatency+skew100; got != want {
		t.Errorf("graceful takeover after %v, want latency + Skew_Time = %v", got, want)
	}
}

// TestSimHardFailureTakesMasterDownInterval: when the Master falls silent
// the Backup takes over Master_Down_Interval after the last advert.
func TestSimHardFailureTakesMasterDownInterval(t *testing.T) {
	s := newSim(t, 100*time.Millisecond, 150, 100)
	for _, r := range s.rs {
		s.step(r, Startup{})
	}
	s.settle(time.Second, "r0")
	s.rs[0].up = false
	s.runUntil(s.now.Add(time.Second), nil)
	lastHeard := s.rs[1].lastRx
	got := s.takeover["r1"][0].Sub(lastHeard)
	if want := MasterDownInterval(100, 100*time.Millisecond); got != want {
		t.Errorf("hard failover %v after the last advert, want Master_Down_Interval %v", got, want)
	}
}

// TestSimPreemptOnReturn: the higher-priority router comes back, preempts,
// and the addresses are held by exactly one router at every instant except
// the Master_Down race, which lasts at most the link latency.
func TestSimPreemptOnReturn(t *testing.T) {
	s := newSim(t, time.Second, 150, 100)
	s.step(s.rs[1], Startup{})
	s.settle(10*time.Second, "r1")
	s.step(s.rs[0], Startup{})
	var overlapStart time.Time
	var maxOverlap time.Duration
	s.runUntil(s.now.Add(20*time.Second), func() {
		switch n := len(s.holders()); {
		case n == 2 && overlapStart.IsZero():
			overlapStart = s.now
		case n < 2 && !overlapStart.IsZero():
			maxOverlap = max(maxOverlap, s.now.Sub(overlapStart))
			overlapStart = time.Time{}
		case n == 0:
			t.Fatalf("nobody holds the addresses at t0+%v", s.now.Sub(t0))
		}
	})
	if h := s.holders(); len(h) != 1 || h[0] != "r0" {
		t.Fatalf("holders %v, want [r0]", h)
	}
	if maxOverlap > simLatency {
		t.Errorf("both held the addresses for %v, want at most the latency %v", maxOverlap, simLatency)
	}
}

// TestSimEqualPriorityTieBreak: two equal routers start together, both time
// out at the same instant, and the higher address keeps the role.
func TestSimEqualPriorityTieBreak(t *testing.T) {
	s := newSim(t, time.Second, 100, 100)
	for _, r := range s.rs {
		s.step(r, Startup{})
	}
	s.settle(10*time.Second, "r1") // 198.18.0.11 > 198.18.0.10
}

// TestSimSkewSeparatesBackupsAt10ms: at the 10 ms minimum interval,
// priorities 254 and 253 differ in Skew_Time by only 39.0625 µs. With the
// skew computed in whole centiseconds both would be 0 and both Backups
// would take over together; multiply-before-divide keeps them apart.
func TestSimSkewSeparatesBackupsAt10ms(t *testing.T) {
	s := newSim(t, 10*time.Millisecond, 255, 254, 253)
	s.latency = 10 * time.Microsecond // below the 39 µs gap, or physics wins
	for _, r := range s.rs {
		s.step(r, Startup{})
	}
	s.settle(time.Second, "r0")
	s.rs[0].up = false
	s.step(s.rs[0], Shutdown{}) // its priority 0 advert is lost too: a hard failure
	s.settle(time.Second, "r1")
	if n := len(s.takeover["r2"]); n != 0 {
		t.Errorf("priority 253 took over %d times; the 39 µs skew gap was lost", n)
	}
}

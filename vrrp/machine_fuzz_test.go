package vrrp

import (
	"testing"
	"time"
)

// FuzzMachine drives a Machine with an arbitrary event sequence and checks
// invariants that must hold after every step, whatever the order:
//   - TakeOver only on entering Master, and before that Master's first
//     advert; Release only outside Master, of addresses held: a Master
//     always holds them, a resigned one until its hand-over hold ends;
//   - one Transition per state change, matching the states before and
//     after, and none without one;
//   - SendAdvert carries the effective priority, or 0 when leaving Master;
//     Announce only while staying Master;
//   - a Deadline runs in Master, in Backup outside maintenance, and while a
//     hand-over hold keeps the addresses, and it is never in the past
//     unless a Backup's takeover is due;
//   - in maintenance the machine never becomes Master.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{0, 2, 2, 2, 3, 10, 4, 20, 5, 1, 6, 1, 7, 8, 1})
	f.Add([]byte{0, 3, 0, 2, 9, 2, 1, 0, 2})
	f.Add([]byte{6, 1, 0, 2, 6, 0, 2, 7, 8, 2, 1})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 400 {
			return
		}
		cfg := MachineConfig{VRID: 1, Priority: 100, AdvertInterval: 100 * time.Millisecond, Preempt: true, PrimaryAddr: self4}
		if len(script) > 0 {
			cfg.Priority = max(1, script[0])
			cfg.Preempt = script[0]&1 == 0
			cfg.PreemptDelay = time.Duration(script[0]%4) * 100 * time.Millisecond
			script = script[1:]
		}
		m, err := NewMachine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		holds := false
		next := func() byte {
			if len(script) == 0 {
				return 0
			}
			b := script[0]
			script = script[1:]
			return b
		}
		for len(script) > 0 {
			op := next()
			arg := next()
			var ev Event
			switch op % 10 {
			case 0:
				ev = Startup{}
			case 1:
				ev = Shutdown{}
			case 2: // jump to the deadline, or a little later
				if d := m.Deadline(); !d.IsZero() {
					now = d.Add(time.Duration(arg%3) * time.Millisecond)
				}
				ev = TimerExpired{}
			case 3:
				now = now.Add(time.Duration(arg) * 7 * time.Millisecond)
				ev = TimerExpired{}
			case 4:
				src := upper4
				if arg&1 == 1 {
					src = lower4
				}
				ev = AdvertReceived{Advert: adv(arg, time.Duration(1+arg%50)*10*time.Millisecond), Src: src}
			case 5:
				ev = PriorityChanged{Priority: arg}
			case 6:
				ev = FaultChanged{Fault: arg&1 == 1}
			case 7:
				ev = MaintenanceChanged{On: arg&1 == 1}
			case 8:
				ev = ForceBackup{}
			case 9:
				ev = ForceMaster{}
			}
			before := m.State()
			acts := m.Step(now, ev)
			after := m.State()
			holds = checkActions(t, m, ev, before, after, acts, holds)
			if after == Master && !holds {
				t.Fatalf("%T: Master without its addresses: %v", ev, acts)
			}
			dl := m.Deadline()
			// A resigned Master keeps a timer while it holds (the hand-over hold).
			wantTimer := after == Master || after == Backup && !m.InMaintenance() || holds
			if dl.IsZero() == wantTimer {
				t.Fatalf("%T: deadline %v in %v (maintenance %v, holding %v)", ev, dl, after, m.InMaintenance(), holds)
			}
			// In the past only for a Backup whose deferred takeover's wait
			// ended with an advert that did not restart its timer (a lower
			// priority it preempts): it takes over at the next TimerExpired.
			if !dl.IsZero() && dl.Before(now) && !(after == Backup && dl.Equal(m.TimerDeadline())) {
				t.Fatalf("%T: deadline %v before now %v", ev, dl.Sub(t0), now.Sub(t0))
			}
			if m.InMaintenance() && before != Master && after == Master {
				t.Fatalf("%T: became Master in maintenance", ev)
			}
		}
	})
}

// checkActions checks one step's actions against the states before and
// after it and returns whether the caller now holds the addresses.
func checkActions(t *testing.T, m *Machine, ev Event, before, after State, acts []Action, holds bool) bool {
	t.Helper()
	transitions := 0
	for _, a := range acts {
		if tr, ok := a.(Transition); ok {
			transitions++
			if tr.From != before || tr.To != after || tr.Reason == "" {
				t.Fatalf("%T: %v -> %v but actions %v", ev, before, after, acts)
			}
		}
	}
	if before != after && transitions != 1 || before == after && transitions != 0 {
		t.Fatalf("%T: %v -> %v with %d transitions: %v", ev, before, after, transitions, acts)
	}
	took := false
	for _, a := range acts {
		switch a := a.(type) {
		case TakeOver:
			// Again while holding only when a resignation's hand-over
			// hold was still running.
			if holds && before == Master || after != Master {
				t.Fatalf("%T: TakeOver while holding=%v, %v -> %v: %v", ev, holds, before, after, acts)
			}
			holds, took = true, true
		case Release:
			if !holds || after == Master {
				t.Fatalf("%T: Release while holding=%v, %v -> %v: %v", ev, holds, before, after, acts)
			}
			holds = false
		case SendAdvert:
			resign := before == Master && after != Master
			if resign && a.Priority != 0 || !resign && (a.Priority != m.EffectivePriority() || after != Master) {
				t.Fatalf("%T: SendAdvert %d in %v -> %v (effective %d): %v", ev, a.Priority, before, after, m.EffectivePriority(), acts)
			}
			if a.Priority != 0 && before != Master && !took {
				t.Fatalf("%T: a new Master advertised before it took the addresses over: %v", ev, acts)
			}
		case Announce:
			if before != Master || after != Master {
				t.Fatalf("%T: Announce in %v -> %v: %v", ev, before, after, acts)
			}
		}
	}
	return holds
}

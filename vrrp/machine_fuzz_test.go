package vrrp

import (
	"testing"
	"time"
)

// FuzzMachine drives a Machine with an arbitrary event sequence and checks
// invariants that must hold after every step, whatever the order:
//   - TakeOver only on entering Master, Release only on leaving it, so the
//     caller's "holds the addresses" equals State() == Master;
//   - a Transition comes first and matches the state before and after;
//   - SendAdvert carries the effective priority, or 0 when leaving Master;
//   - a Deadline runs exactly in Master, and in Backup outside maintenance,
//     and it is never in the past;
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
			if before != after {
				tr, ok := acts[0].(Transition)
				if !ok || tr.From != before || tr.To != after || tr.Reason == "" {
					t.Fatalf("%T: %v -> %v but actions %v", ev, before, after, acts)
				}
			}
			for i, a := range acts {
				switch a := a.(type) {
				case Transition:
					if i != 0 {
						t.Fatalf("%T: Transition not first: %v", ev, acts)
					}
				case TakeOver:
					if holds || after != Master {
						t.Fatalf("%T: TakeOver while holding=%v, state %v: %v", ev, holds, after, acts)
					}
					holds = true
				case Release:
					if !holds || before != Master || after == Master {
						t.Fatalf("%T: Release while holding=%v, %v -> %v: %v", ev, holds, before, after, acts)
					}
					holds = false
				case SendAdvert:
					resign := before == Master && after != Master
					if resign && a.Priority != 0 || !resign && (a.Priority != m.EffectivePriority() || after != Master) {
						t.Fatalf("%T: SendAdvert %d in %v -> %v (effective %d): %v", ev, a.Priority, before, after, m.EffectivePriority(), acts)
					}
				}
			}
			if holds != (after == Master) {
				t.Fatalf("%T: holds=%v in %v: %v", ev, holds, after, acts)
			}
			dl := m.Deadline()
			wantTimer := after == Master || after == Backup && !m.InMaintenance()
			if dl.IsZero() == wantTimer {
				t.Fatalf("%T: deadline %v in %v (maintenance %v)", ev, dl, after, m.InMaintenance())
			}
			if !dl.IsZero() && dl.Before(now) {
				t.Fatalf("%T: deadline %v before now %v", ev, dl.Sub(t0), now.Sub(t0))
			}
			if m.InMaintenance() && before != Master && after == Master {
				t.Fatalf("%T: became Master in maintenance", ev)
			}
		}
	})
}

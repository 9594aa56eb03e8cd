package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0     = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	self4  = netip.MustParseAddr("198.18.0.10")
	lower4 = netip.MustParseAddr("198.18.0.5")  // a peer below us in the tie-break
	upper4 = netip.MustParseAddr("198.18.0.20") // a peer above us in the tie-break
	vips   = addrs("198.18.0.100")
)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

func newM(t *testing.T, mod func(*MachineConfig)) *Machine {
	t.Helper()
	// HandOverHold -1: the scripted tests check RFC 5798 as written, where
	// a resigning Master releases its addresses with its priority 0 advert;
	// machine_timing_test.go checks the hold.
	cfg := MachineConfig{VRID: 51, Priority: 100, AdvertInterval: time.Second, Preempt: true, PrimaryAddr: self4, HandOverHold: -1}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewMachine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func adv(prio uint8, interval time.Duration) *Advert {
	return &Advert{Version: 3, Type: 1, VRID: 51, Priority: prio, MaxAdvertInt: interval, Addresses: vips}
}

// step is one input of a scripted test and what it must produce.
type step struct {
	at       time.Duration
	ev       Event
	want     []Action      // nil means no action
	state    State         // state after the step
	deadline time.Duration // Deadline() - t0 after the step; -1 = zero (no timer)
	mai      time.Duration // if non-zero, MasterAdverInterval() after the step
}

const noTimer = -1

func run(t *testing.T, m *Machine, steps []step) {
	t.Helper()
	for i, s := range steps {
		got := m.Step(at(s.at), s.ev)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d (%T at %v): actions (-want +got):\n%s", i, s.ev, s.at, diff)
		}
		if m.State() != s.state {
			t.Errorf("step %d (%T at %v): state %v, want %v", i, s.ev, s.at, m.State(), s.state)
		}
		var dl time.Duration = noTimer
		if d := m.Deadline(); !d.IsZero() {
			dl = d.Sub(t0)
		}
		if dl != s.deadline {
			t.Errorf("step %d (%T at %v): deadline t0+%v, want t0+%v", i, s.ev, s.at, dl, s.deadline)
		}
		if s.mai != 0 && m.MasterAdverInterval() != s.mai {
			t.Errorf("step %d: Master_Adver_Interval %v, want %v", i, m.MasterAdverInterval(), s.mai)
		}
	}
}

// Useful timer values for priority 100 and a 1 s interval:
// Skew_Time = 156 * 1s / 256 = 609.375 ms; Master_Down_Interval = 3.609375 s.
const (
	skew100  = 609375 * time.Microsecond
	down100  = 3*time.Second + skew100
	ownerPri = 255
)

func tr(from, to State, reason string) Transition {
	return Transition{From: from, To: to, Reason: reason}
}

func TestRFC5798_6_1_Timers(t *testing.T) {
	tests := []struct {
		name               string
		prio               uint8
		interval           time.Duration
		wantSkew, wantDown time.Duration
	}{
		{"prio 254 at 10ms is 78125ns, not 0", 254, 10 * time.Millisecond, 78125 * time.Nanosecond, 30*time.Millisecond + 78125*time.Nanosecond},
		{"prio 100 at 1s", 100, time.Second, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"prio 200 at 1s (FRR doc: 218.75ms exact)", 200, time.Second, 218750 * time.Microsecond, 3218750 * time.Microsecond},
		{"prio 100 at 100ms", 100, 100 * time.Millisecond, 60937500 * time.Nanosecond, 360937500 * time.Nanosecond},
		{"prio 1 at 40.95s", 1, MaxAdvertInterval, 255 * MaxAdvertInterval / 256, 3*MaxAdvertInterval + 255*MaxAdvertInterval/256},
		{"owner 255 at 1s", 255, time.Second, time.Second / 256, 3*time.Second + time.Second/256},
		{"prio 0 (resigned) at 1s: full interval", 0, time.Second, time.Second, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SkewTime(tc.prio, tc.interval); got != tc.wantSkew {
				t.Errorf("SkewTime = %v (%d ns), want %v", got, int64(got), tc.wantSkew)
			}
			if got := MasterDownInterval(tc.prio, tc.interval); got != tc.wantDown {
				t.Errorf("MasterDownInterval = %v, want %v", got, tc.wantDown)
			}
		})
	}
}

func TestMachineGetters(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = 254; c.AdvertInterval = 10 * time.Millisecond })
	if got := m.SkewTime(); got != 78125*time.Nanosecond {
		t.Errorf("SkewTime = %v", got)
	}
	if got := m.MasterDownInterval(); got != 30*time.Millisecond+78125*time.Nanosecond {
		t.Errorf("MasterDownInterval = %v", got)
	}
	if m.State() != Initialize || !m.Deadline().IsZero() || m.EffectivePriority() != 254 || m.MasterAdverInterval() != 10*time.Millisecond {
		t.Errorf("fresh machine: %v %v %d %v", m.State(), m.Deadline(), m.EffectivePriority(), m.MasterAdverInterval())
	}
	for s, want := range map[State]string{Initialize: "INIT", Backup: "BACKUP", Master: "MASTER", Fault: "FAULT", 9: "State(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), want)
		}
	}
}

func TestNewMachineRejects(t *testing.T) {
	for name, mod := range map[string]func(*MachineConfig){
		"VRID 0":          func(c *MachineConfig) { c.VRID = 0 },
		"priority 0":      func(c *MachineConfig) { c.Priority = 0 },
		"interval 0":      func(c *MachineConfig) { c.AdvertInterval = 0 },
		"interval 15ms":   func(c *MachineConfig) { c.AdvertInterval = 15 * time.Millisecond },
		"interval 41s":    func(c *MachineConfig) { c.AdvertInterval = 41 * time.Second },
		"negative delay":  func(c *MachineConfig) { c.PreemptDelay = -time.Second },
		"no primary addr": func(c *MachineConfig) { c.PrimaryAddr = netip.Addr{} },
	} {
		cfg := MachineConfig{VRID: 51, Priority: 100, AdvertInterval: time.Second, PrimaryAddr: self4}
		mod(&cfg)
		if _, err := NewMachine(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
}

// TestRFC5798_6_1_AcceptMode: Accept_Mode, and the owner always accepts.
func TestRFC5798_6_1_AcceptMode(t *testing.T) {
	for _, tc := range []struct {
		prio   uint8
		accept bool
		want   bool
	}{{100, false, false}, {100, true, true}, {255, false, true}} {
		m := newM(t, func(c *MachineConfig) { c.Priority = tc.prio; c.Accept = tc.accept })
		if m.Accept() != tc.want {
			t.Errorf("prio %d accept %v: Accept() = %v", tc.prio, tc.accept, m.Accept())
		}
	}
}

package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// State is a state of the RFC 5798 §6.4 machine, plus Fault.
type State int

// States. Fault is not in the RFC: it is keepalived's FAULT, entered when a
// weight-0 tracker fails or a sync group sibling is in Fault.
const (
	Initialize State = iota
	Backup
	Master
	Fault
)

func (s State) String() string {
	switch s {
	case Initialize:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MachineConfig is the per-virtual-router configuration of RFC 5798 §6.1.
type MachineConfig struct {
	// Version is 3 (RFC 5798, also for zero) or 2 (RFC 3768: whole-second
	// intervals, Skew_Time in seconds, no Master_Adver_Interval to learn).
	Version        uint8
	VRID           uint8         // 1..255
	Priority       uint8         // configured priority, 1..255 (255 = address owner)
	AdvertInterval time.Duration // Advertisement_Interval; a valid Max Adver Int (10ms..40.95s, 10ms steps)
	Preempt        bool          // Preempt_Mode (the address owner always preempts)
	PreemptDelay   time.Duration // after Startup, a preempting Backup waits this long before it stops obeying a lower-priority Master
	Accept         bool          // Accept_Mode; only the runtime acts on it, see Machine.Accept
	PrimaryAddr    netip.Addr    // our advert source address, for the equal-priority tie-break

	// HandOverHold bounds how long a resigning Master keeps its addresses
	// after its priority 0 advert, waiting for the new Master's advert, so
	// that no packet finds the address on neither router (see Release).
	// Zero means 3 × AdvertInterval, at least 50 ms; negative means none:
	// the addresses go with the priority 0 advert, as RFC 5798 §6.4.3 has it.
	HandOverHold time.Duration

	// LowerPrioNoAdvert keeps the RFC 5798 behaviour of a Master that
	// silently discards a lower-priority advert. By default the Master
	// answers it at once with an advert of its own (RFC 9568 §6.4.3), so the
	// other router learns who is Master within one round trip.
	LowerPrioNoAdvert bool
}

// ErrConfig is wrapped by NewMachine errors.
var ErrConfig = errors.New("invalid VRRP machine configuration")

// Machine is the VRRP state machine of one virtual router. It is pure: no
// goroutines, no clock reads, no I/O. Drive it with Step and deliver
// TimerExpired once now >= Deadline(). It is not safe for concurrent use.
type Machine struct {
	cfg   MachineConfig
	state State
	prio  uint8         // effective priority
	mai   time.Duration // Master_Adver_Interval

	adverAt      time.Time // Adver_Timer deadline (Master), zero = stopped
	masterDownAt time.Time // Master_Down_Timer deadline (Backup), zero = stopped
	preemptAt    time.Time // before this instant a Backup does not preempt (preempt_delay)

	fault, maint bool
	forced       bool // stepped down for the sync group: obey any Master until we are Master again

	// The runtime's timing rules (machine_timing.go).
	releaseAt time.Time // a resigned Master's addresses go then at the latest; zero = none pending
	recheckAt time.Time // a deferred takeover looks again then; zero = not deferred
	graceEnd  time.Time // a late Master_Down_Timer's takeover waits until then
	lastReann time.Time // the last Announce answering another Master
}

// NewMachine validates cfg and returns a machine in Initialize.
func NewMachine(cfg MachineConfig) (*Machine, error) {
	switch {
	case cfg.VRID == 0:
		return nil, fmt.Errorf("vrrp: new machine: VRID 0: must be 1..255: %w", ErrConfig)
	case cfg.Priority == 0:
		return nil, fmt.Errorf("vrrp: new machine VRID %d: priority 0 is reserved for resigning: use 1..255: %w", cfg.VRID, ErrConfig)
	case cfg.Version != 0 && cfg.Version != Version2 && cfg.Version != Version3:
		return nil, fmt.Errorf("vrrp: new machine VRID %d: version %d: want 2 or 3: %w", cfg.VRID, cfg.Version, ErrConfig)
	case cfg.Version == Version2 && !ValidAdvertIntervalV2(cfg.AdvertInterval):
		return nil, fmt.Errorf("vrrp: new machine VRID %d: VRRPv2 advert interval %v: must be whole seconds in 1s..255s: %w", cfg.VRID, cfg.AdvertInterval, ErrConfig)
	case cfg.Version != Version2 && !ValidAdvertInterval(cfg.AdvertInterval):
		return nil, fmt.Errorf("vrrp: new machine VRID %d: advert interval %v: must be a multiple of 10ms in 10ms..40.95s: %w", cfg.VRID, cfg.AdvertInterval, ErrConfig)
	case cfg.PreemptDelay < 0:
		return nil, fmt.Errorf("vrrp: new machine VRID %d: negative preempt delay %v: %w", cfg.VRID, cfg.PreemptDelay, ErrConfig)
	case !cfg.PrimaryAddr.IsValid():
		return nil, fmt.Errorf("vrrp: new machine VRID %d: no primary address for the tie-break: %w", cfg.VRID, ErrConfig)
	}
	cfg.PrimaryAddr = cfg.PrimaryAddr.Unmap().WithZone("")
	if cfg.Version == 0 {
		cfg.Version = Version3
	}
	return &Machine{cfg: cfg, state: Initialize, prio: cfg.Priority, mai: cfg.AdvertInterval}, nil
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Config returns the configuration the machine was built with.
func (m *Machine) Config() MachineConfig { return m.cfg }

// EffectivePriority is the priority sent in adverts and used in elections.
func (m *Machine) EffectivePriority() uint8 { return m.prio }

// MasterAdverInterval is the learned Master_Adver_Interval (our own interval
// until a Master's advert is accepted, and while we are Master).
func (m *Machine) MasterAdverInterval() time.Duration { return m.mai }

// SkewTime is Skew_Time for the effective priority and learned interval
// (RFC 5798 §6.1), or VRRPv2's (RFC 3768 §6.1).
func (m *Machine) SkewTime() time.Duration {
	if m.cfg.Version == Version2 {
		return SkewTimeV2(m.prio)
	}
	return SkewTime(m.prio, m.mai)
}

// MasterDownInterval is Master_Down_Interval for the effective priority and
// learned interval: 3 × interval + Skew_Time in both versions.
func (m *Machine) MasterDownInterval() time.Duration { return 3*m.mai + m.SkewTime() }

// learn takes a Master's interval as Master_Adver_Interval (RFC 5798
// §6.4.2). VRRPv2 has no such variable: its receive check refuses adverts
// whose interval is not ours (RFC 3768 §7.1), so ours stays.
func (m *Machine) learn(a *Advert) {
	if m.cfg.Version != Version2 {
		m.mai = a.MaxAdvertInt
	}
}

// Accept reports whether the runtime should accept packets addressed to the
// virtual addresses while Master: Accept_Mode, or always for the address
// owner (RFC 5798 §6.1).
func (m *Machine) Accept() bool { return m.cfg.Accept || m.cfg.Priority == 255 }

// InMaintenance reports whether the router is in maintenance.
func (m *Machine) InMaintenance() bool { return m.maint }

// Deadline is when the next TimerExpired must be delivered; zero means no
// timer is running. Besides the RFC 5798 timers (TimerDeadline) it covers a
// resigned Master's hand-over hold and a deferred takeover's next look.
func (m *Machine) Deadline() time.Time {
	if !m.recheckAt.IsZero() {
		return m.recheckAt
	}
	return earliest(m.TimerDeadline(), m.releaseAt)
}

// TimerDeadline is when the running RFC 5798 timer expires: the Adver_Timer
// of a Master or the Master_Down_Timer of a Backup; zero for none. When a
// TimerExpired leaves it unchanged although it was due, the takeover was
// deferred.
func (m *Machine) TimerDeadline() time.Time { return earliest(m.adverAt, m.masterDownAt) }

// earliest returns the earlier of two instants, zero meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// preempting reports whether a Backup would take over from a live Master of
// lower priority at now: Preempt_Mode (always for the owner, §6.1), not in
// maintenance, not held back by its sync group, and past the preempt delay.
func (m *Machine) preempting(now time.Time) bool {
	return (m.cfg.Preempt || m.prio == 255) && !m.maint && !m.forced && !now.Before(m.preemptAt)
}

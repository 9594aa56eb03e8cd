package vrrp

import (
	"testing"
	"time"
)

// Tests of what the machine adds to RFC 5798: preempt_delay, Fault,
// maintenance, sync group forcing and tracker priority changes.

// TestPreemptDelay: a preempting Backup obeys a lower-priority Master for
// PreemptDelay after Startup, then discards its adverts and takes over one
// Master_Down_Interval after the last advert it obeyed (keepalived's
// preempt_delay: prio 128 at 1 s with 2 s delay ≈ 5.5 s).
func TestPreemptDelay(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = 200; c.PreemptDelay = 5 * time.Second })
	down200 := 3*time.Second + 56*time.Second/256
	steps := []step{{at: 0, ev: Startup{}, state: Backup, deadline: down200, want: []Action{tr(Initialize, Backup, ReasonStartup)}}}
	// The live Master (priority 100) advertises at 0.5 s, 1.5 s, ...
	for i := 0; i < 5; i++ {
		now := 500*time.Millisecond + time.Duration(i)*time.Second // up to 4.5 s: within the delay
		steps = append(steps, step{at: now, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup, deadline: now + down200})
	}
	last := 4500 * time.Millisecond
	for i := 5; i < 8; i++ {
		now := 500*time.Millisecond + time.Duration(i)*time.Second // 5.5 s on: discarded
		steps = append(steps, step{at: now, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup, deadline: last + down200})
	}
	steps = append(steps, step{at: last + down200, ev: TimerExpired{}, state: Master, deadline: last + down200 + time.Second,
		want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 200}}})
	run(t, m, steps)
}

// TestPreemptDelayDoesNotDelayTakeoverWithoutMaster: the delay only holds
// back preemption of a live Master; with no Master the Backup takes over
// after Master_Down_Interval as usual.
func TestPreemptDelayDoesNotDelayTakeoverWithoutMaster(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.PreemptDelay = time.Minute })
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: down100, ev: TimerExpired{}, state: Master, deadline: down100 + time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}},
	})
}

func TestFaultFromMasterResignsAndRecovers(t *testing.T) {
	m := master(t, nil)
	now := down100 + 200*time.Millisecond
	run(t, m, []step{
		{at: now, ev: FaultChanged{Fault: true}, state: Fault, deadline: noTimer,
			want: []Action{tr(Master, Fault, ReasonFault), SendAdvert{Priority: 0}, Release{}}},
		{at: now + 1, ev: FaultChanged{Fault: true}, state: Fault, deadline: noTimer}, // repeated: no-op
		{at: now + 2, ev: AdvertReceived{Advert: adv(0, time.Second), Src: upper4}, state: Fault, deadline: noTimer},
		{at: now + 3, ev: TimerExpired{}, state: Fault, deadline: noTimer},
		{at: now + 4, ev: ForceMaster{}, state: Fault, deadline: noTimer},
		{at: now + 5, ev: ForceBackup{}, state: Fault, deadline: noTimer},
		{at: now + time.Second, ev: FaultChanged{Fault: false}, state: Backup, deadline: now + time.Second + down100,
			mai: time.Second, want: []Action{tr(Fault, Backup, ReasonFaultCleared)}},
	})
}

func TestFaultFromBackup(t *testing.T) {
	m := newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: FaultChanged{Fault: true}, state: Fault, deadline: noTimer, want: []Action{tr(Backup, Fault, ReasonFault)}},
		{at: 2 * time.Second, ev: Shutdown{}, state: Initialize, deadline: noTimer, want: []Action{tr(Fault, Initialize, ReasonShutdown)}},
		// still faulty: Startup goes straight to Fault
		{at: 3 * time.Second, ev: Startup{}, state: Fault, deadline: noTimer, want: []Action{tr(Initialize, Fault, ReasonFault)}},
	})
}

func TestFaultBeforeStartupAndOwnerRecovery(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = ownerPri })
	run(t, m, []step{
		{at: 0, ev: FaultChanged{Fault: true}, state: Initialize, deadline: noTimer},
		{at: 1, ev: Startup{}, state: Fault, deadline: noTimer, want: []Action{tr(Initialize, Fault, ReasonFault)}},
		// The owner recovers like a Startup: Master at once.
		{at: 2, ev: FaultChanged{Fault: false}, state: Master, deadline: 2 + time.Second,
			want: []Action{TakeOver{}, tr(Fault, Master, ReasonOwner), SendAdvert{Priority: 255}}},
	})
}

// TestMaintenanceHandsOverAndStaysBackup: maintenance sends priority 0 once,
// becomes Backup, and never takes over, even when no Master is left.
func TestMaintenanceHandsOverAndStaysBackup(t *testing.T) {
	m := master(t, nil)
	now := down100 + 100*time.Millisecond
	run(t, m, []step{
		{at: now, ev: MaintenanceChanged{On: true}, state: Backup, deadline: noTimer,
			want: []Action{tr(Master, Backup, ReasonMaintenance), SendAdvert{Priority: 0}, Release{}}},
		{at: now + 1, ev: MaintenanceChanged{On: true}, state: Backup, deadline: noTimer},
		// The new Master's adverts are learned but arm nothing.
		{at: now + time.Second, ev: AdvertReceived{Advert: adv(50, 2*time.Second), Src: upper4}, state: Backup, deadline: noTimer, mai: 2 * time.Second},
		{at: now + 2*time.Second, ev: AdvertReceived{Advert: adv(0, 2*time.Second), Src: upper4}, state: Backup, deadline: noTimer},
		{at: now + time.Hour, ev: TimerExpired{}, state: Backup, deadline: noTimer},
		{at: now + time.Hour, ev: ForceMaster{}, state: Backup, deadline: noTimer},
	})
	// Out of maintenance: the Master_Down_Timer runs again (learned interval).
	back := now + 2*time.Hour
	down := 3*2*time.Second + 156*2*time.Second/256
	run(t, m, []step{
		{at: back, ev: MaintenanceChanged{On: false}, state: Backup, deadline: back + down},
		{at: back + down, ev: TimerExpired{}, state: Master, deadline: back + down + time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}},
	})
}

// TestMaintenanceOwner: the address owner in maintenance does not become
// Master at Startup nor preempt; out of maintenance it preempts again.
func TestMaintenanceOwner(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = ownerPri })
	run(t, m, []step{
		{at: 0, ev: MaintenanceChanged{On: true}, state: Initialize, deadline: noTimer},
		{at: 1, ev: Startup{}, state: Backup, deadline: noTimer, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup, deadline: noTimer},
	})
	down255 := 3*time.Second + time.Second/256
	run(t, m, []step{
		{at: 2 * time.Second, ev: MaintenanceChanged{On: false}, state: Backup, deadline: 2*time.Second + down255},
		// Preempting again: a priority 100 advert is discarded.
		{at: 3 * time.Second, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup, deadline: 2*time.Second + down255},
	})
}

func TestMaintenanceInFault(t *testing.T) {
	m := master(t, nil)
	now := down100 + 100*time.Millisecond
	run(t, m, []step{
		{at: now, ev: FaultChanged{Fault: true}, state: Fault, deadline: noTimer,
			want: []Action{tr(Master, Fault, ReasonFault), SendAdvert{Priority: 0}, Release{}}},
		{at: now + 1, ev: MaintenanceChanged{On: true}, state: Fault, deadline: noTimer},
		{at: now + 2, ev: FaultChanged{Fault: false}, state: Backup, deadline: noTimer,
			want: []Action{tr(Fault, Backup, ReasonFaultCleared)}},
	})
}

// TestSyncGroupForceBackup: a Master steps down with priority 0 and runs
// its Master_Down_Timer like any Backup.
func TestSyncGroupForceBackup(t *testing.T) {
	m := master(t, nil)
	now := down100 + 100*time.Millisecond
	run(t, m, []step{
		{at: now, ev: ForceBackup{}, state: Backup, deadline: now + down100,
			want: []Action{tr(Master, Backup, ReasonSyncGroup), SendAdvert{Priority: 0}, Release{}}},
		{at: now + 1, ev: ForceBackup{}, state: Backup, deadline: now + down100},
		{at: now + 2, ev: ForceMaster{}, state: Master, deadline: now + 2 + time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonSyncGroup), SendAdvert{Priority: 100}}},
		{at: now + 3, ev: ForceMaster{}, state: Master, deadline: now + 2 + time.Second},
	})
	i := newM(t, nil)
	run(t, i, []step{
		{at: 0, ev: ForceMaster{}, state: Initialize, deadline: noTimer},
		{at: 0, ev: ForceBackup{}, state: Initialize, deadline: noTimer},
	})
}

// TestTrackerPriorityChange: the effective priority is what adverts carry
// and what Skew_Time and elections use; priority 0 is refused.
func TestTrackerPriorityChange(t *testing.T) {
	m := master(t, nil)
	now := down100 + 100*time.Millisecond
	run(t, m, []step{
		{at: now, ev: PriorityChanged{Priority: 90}, state: Master, deadline: down100 + time.Second},
		{at: down100 + time.Second, ev: TimerExpired{}, state: Master, deadline: down100 + 2*time.Second,
			want: []Action{SendAdvert{Priority: 90}}},
		{at: down100 + time.Second + 1, ev: PriorityChanged{Priority: 0}, state: Master, deadline: down100 + 2*time.Second},
		// A priority 95 advert now beats us.
		{at: down100 + time.Second + 2, ev: AdvertReceived{Advert: adv(95, time.Second), Src: lower4}, state: Backup,
			deadline: down100 + time.Second + 2 + 3*time.Second + 166*time.Second/256,
			want:     []Action{SendAdvert{Priority: 0}, tr(Master, Backup, ReasonHigherPriority), Release{}}},
	})
	if m.EffectivePriority() != 90 {
		t.Errorf("EffectivePriority = %d, want 90", m.EffectivePriority())
	}
	// Backup: a rise above the Master's priority makes its adverts discarded.
	b := newM(t, nil)
	b.Step(at(0), Startup{})
	b.Step(at(time.Second), AdvertReceived{Advert: adv(150, time.Second), Src: upper4})
	dl := b.Deadline()
	b.Step(at(2*time.Second), PriorityChanged{Priority: 200})
	b.Step(at(2*time.Second), AdvertReceived{Advert: adv(150, time.Second), Src: upper4})
	if b.Deadline() != dl {
		t.Errorf("priority 200 Backup obeyed a priority 150 Master")
	}
}

// TestSyncGroupForceBackupHoldsPreemption: once forced to Backup, a
// higher-priority member obeys the lower-priority Master it yielded to,
// until its timer fires (no Master left) or the group forces it Master.
func TestSyncGroupForceBackupHoldsPreemption(t *testing.T) {
	down200 := 3*time.Second + 56*time.Second/256
	m := master(t, func(c *MachineConfig) { c.Priority = 200 })
	now := m.Deadline().Sub(t0)
	run(t, m, []step{
		{at: now, ev: ForceBackup{}, state: Backup, deadline: now + down200,
			want: []Action{tr(Master, Backup, ReasonSyncGroup), SendAdvert{Priority: 0}, Release{}}},
		// The peer (priority 100) took over: we obey it instead of preempting.
		{at: now + time.Second, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup,
			deadline: now + time.Second + down200},
		{at: now + 2*time.Second, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup,
			deadline: now + 2*time.Second + down200},
		// The group brings us back.
		{at: now + 3*time.Second, ev: ForceMaster{}, state: Master, deadline: now + 4*time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonSyncGroup), SendAdvert{Priority: 200}}},
		// And as Master we win against the priority 100 peer again, and
		// announce the addresses again: it had announced them too.
		{at: now + 3*time.Second + 1, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Master,
			deadline: now + 4*time.Second, want: []Action{SendAdvert{Priority: 200}, Announce{}}},
	})
	// Forced while Backup: same hold, and a Master_Down_Timer expiry ends it.
	b := newM(t, func(c *MachineConfig) { c.Priority = 200 })
	run(t, b, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down200, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: 1, ev: ForceBackup{}, state: Backup, deadline: down200},
		{at: time.Second, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup, deadline: time.Second + down200},
		{at: time.Second + down200, ev: TimerExpired{}, state: Master, deadline: 2*time.Second + down200,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 200}}},
	})
	// After becoming Master once, preemption is back for the next Backup spell.
	b.Step(at(3*time.Second+down200), AdvertReceived{Advert: adv(250, time.Second), Src: upper4})
	dl := b.Deadline()
	b.Step(at(4*time.Second+down200), AdvertReceived{Advert: adv(100, time.Second), Src: upper4})
	if b.State() != Backup || b.Deadline() != dl {
		t.Errorf("after a Master spell a priority 100 advert was obeyed: state %v deadline %v -> %v", b.State(), dl.Sub(t0), b.Deadline().Sub(t0))
	}
}

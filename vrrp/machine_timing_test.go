package vrrp

import (
	"testing"
	"time"
)

// The timing rules of machine_timing.go, stepped with explicit times like
// the RFC tests. Priority 100, interval 1 s: Master_Down_Interval down100.

func withHold(c *MachineConfig) { c.HandOverHold = 0 } // the default: 3 × interval

// TestHandOverHoldKeepsAddressesUntilNewMasterAdvertises: a resigning
// Master sends priority 0 but keeps its addresses until an advert with a
// priority shows the new Master, which added and announced them first.
func TestHandOverHoldKeepsAddressesUntilNewMasterAdvertises(t *testing.T) {
	now := down100 + 100*time.Millisecond
	m := master(t, withHold)
	run(t, m, []step{
		{at: now, ev: MaintenanceChanged{On: true}, state: Backup, deadline: now + 3*time.Second,
			want: []Action{tr(Master, Backup, ReasonMaintenance), SendAdvert{Priority: 0}}},
		// Another router resigning too (priority 0) is no new Master.
		{at: now + 10*time.Millisecond, ev: AdvertReceived{Advert: adv(0, time.Second), Src: upper4}, state: Backup,
			deadline: now + 3*time.Second},
		{at: now + 20*time.Millisecond, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup,
			deadline: noTimer, want: []Action{Release{}}},
	})
}

// TestHandOverHoldExpires: nobody takes over (no Backup left, or it cannot
// be heard): the addresses go when the hold is over, 3 × interval by
// default, on shutdown as on any resignation.
func TestHandOverHoldExpires(t *testing.T) {
	now := down100 + 100*time.Millisecond
	m := master(t, withHold)
	run(t, m, []step{
		{at: now, ev: Shutdown{}, state: Initialize, deadline: now + 3*time.Second,
			want: []Action{tr(Master, Initialize, ReasonShutdown), SendAdvert{Priority: 0}}},
		{at: now + 3*time.Second - 1, ev: TimerExpired{}, state: Initialize, deadline: now + 3*time.Second},
		{at: now + 3*time.Second, ev: TimerExpired{}, state: Initialize, deadline: noTimer, want: []Action{Release{}}},
	})
	m = master(t, func(c *MachineConfig) { c.HandOverHold = 80 * time.Millisecond })
	run(t, m, []step{{at: now, ev: Shutdown{}, state: Initialize, deadline: now + 80*time.Millisecond,
		want: []Action{tr(Master, Initialize, ReasonShutdown), SendAdvert{Priority: 0}}}})
}

// TestHandOverHoldEndsWhenMasterAgain: a resigned Master that becomes
// Master again within its hold keeps its addresses (no Release follows)
// and takes them over again, which announces them anew.
func TestHandOverHoldEndsWhenMasterAgain(t *testing.T) {
	now := down100 + 100*time.Millisecond
	m := master(t, withHold)
	run(t, m, []step{
		{at: now, ev: ForceBackup{}, state: Backup, deadline: now + 3*time.Second,
			want: []Action{tr(Master, Backup, ReasonSyncGroup), SendAdvert{Priority: 0}}},
		{at: now + time.Second, ev: ForceMaster{}, state: Master, deadline: now + 2*time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonSyncGroup), SendAdvert{Priority: 100}}},
		{at: now + 2*time.Second, ev: TimerExpired{}, state: Master, deadline: now + 3*time.Second,
			want: []Action{SendAdvert{Priority: 100}}},
		{at: now + 3*time.Second, ev: TimerExpired{}, state: Master, deadline: now + 4*time.Second,
			want: []Action{SendAdvert{Priority: 100}}},
	})
}

// TestYieldingMasterSaysSoAndReleasesAtOnce: a Master that hears a better
// one (RFC 5798 §6.4.3) sends priority 0 first, so the new Master asserts
// itself and announces again, then releases at once: it holds them already.
func TestYieldingMasterSaysSoAndReleasesAtOnce(t *testing.T) {
	now := down100 + 100*time.Millisecond
	m := master(t, withHold)
	run(t, m, []step{{at: now, ev: AdvertReceived{Advert: adv(200, time.Second), Src: lower4}, state: Backup,
		deadline: now + 3*time.Second + 156*time.Second/256,
		want:     []Action{SendAdvert{Priority: 0}, tr(Master, Backup, ReasonHigherPriority), Release{}}}})
}

// TestTakeoverWaitsForQueuedPackets: a due Master_Down_Timer with packets
// still queued (a starved loop) looks again every millisecond, counted
// once; with nothing queued it takes over, and past one interval it takes
// over whatever is queued, so a flood cannot hold it back.
func TestTakeoverWaitsForQueuedPackets(t *testing.T) {
	m := newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: down100 + 30*time.Millisecond, ev: TimerExpired{Pending: true}, state: Backup,
			deadline: down100 + 31*time.Millisecond, want: []Action{DeferredTakeover{}}},
		{at: down100 + 31*time.Millisecond, ev: TimerExpired{Pending: true}, state: Backup,
			deadline: down100 + 32*time.Millisecond},
		{at: down100 + 32*time.Millisecond, ev: TimerExpired{}, state: Master, deadline: down100 + 1032*time.Millisecond,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}},
	})
	m = newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: down100 + time.Second + 1, ev: TimerExpired{Pending: true}, state: Master, deadline: down100 + 2*time.Second + 1,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}},
	})
}

// TestLateTimerWaitsAsLongAgain: a Master_Down_Timer that runs more than a
// quarter interval late (a busy host, whose Master may be stalled too)
// waits as long again; an advert ends the wait, silence does not.
func TestLateTimerWaitsAsLongAgain(t *testing.T) {
	late := down100 + 400*time.Millisecond
	for _, heard := range []bool{true, false} {
		m := newM(t, nil)
		steps := []step{
			{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
			{at: late, ev: TimerExpired{}, state: Backup, deadline: late + 400*time.Millisecond},
		}
		if heard {
			steps = append(steps, step{at: late + 100*time.Millisecond, ev: AdvertReceived{Advert: adv(200, time.Second), Src: upper4},
				state: Backup, deadline: late + 100*time.Millisecond + down100})
		} else {
			steps = append(steps, step{at: late + 400*time.Millisecond, ev: TimerExpired{}, state: Master,
				deadline: late + 1400*time.Millisecond,
				want:     []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}})
		}
		run(t, m, steps)
	}
}

// TestAnnounceAgainAtMostOncePerInterval: a Master that hears a lower
// priority Master announces its addresses again, at most once per
// Advertisement_Interval however many such adverts come.
func TestAnnounceAgainAtMostOncePerInterval(t *testing.T) {
	now := down100 + 100*time.Millisecond
	m := master(t, nil)
	lower := AdvertReceived{Advert: adv(50, time.Second), Src: upper4}
	dl := down100 + time.Second
	run(t, m, []step{
		{at: now, ev: lower, state: Master, deadline: dl, want: []Action{SendAdvert{Priority: 100}, Announce{}}},
		{at: now + 500*time.Millisecond, ev: lower, state: Master, deadline: dl, want: []Action{SendAdvert{Priority: 100}}},
		{at: now + time.Second, ev: lower, state: Master, deadline: dl, want: []Action{SendAdvert{Priority: 100}, Announce{}}},
	})
}

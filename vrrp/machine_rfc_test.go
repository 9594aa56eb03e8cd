package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// Tests named after the RFC 5798 §6.4 clause (or RFC 9568 change) they check.
// Unless stated: priority 100, Advertisement_Interval 1 s, preempt on,
// primary address 198.18.0.10, so Skew_Time 609.375 ms and
// Master_Down_Interval 3.609375 s.

func TestRFC5798_6_4_1_OwnerBecomesMasterAtStartup(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = ownerPri })
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Master, deadline: time.Second,
			want: []Action{TakeOver{}, tr(Initialize, Master, ReasonOwner), SendAdvert{Priority: 255}}},
		{at: time.Second, ev: TimerExpired{}, state: Master, deadline: 2 * time.Second,
			want: []Action{SendAdvert{Priority: 255}}},
	})
}

func TestRFC5798_6_4_1_NonOwnerStartsBackup(t *testing.T) {
	m := newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, mai: time.Second,
			want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: Startup{}, state: Backup, deadline: down100}, // a second Startup is a no-op
	})
}

func TestRFC5798_6_4_2_MasterDownTimerFires(t *testing.T) {
	m := newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: down100 - 1, ev: TimerExpired{}, state: Backup, deadline: down100}, // early delivery does nothing
		{at: down100, ev: TimerExpired{}, state: Master, deadline: down100 + time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}},
		{at: down100 + time.Second + 5*time.Millisecond, ev: TimerExpired{}, state: Master, // late: reset from now
			deadline: down100 + 2*time.Second + 5*time.Millisecond, want: []Action{SendAdvert{Priority: 100}}},
	})
}

func TestRFC5798_6_4_2_BackupPriorityZeroUsesSkew(t *testing.T) {
	m := newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: AdvertReceived{Advert: adv(0, time.Second), Src: upper4}, state: Backup,
			deadline: time.Second + skew100},
		{at: time.Second + skew100, ev: TimerExpired{}, state: Master, deadline: 2*time.Second + skew100,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 100}}},
	})
}

// TestRFC5798_6_4_2_BackupLearnsMasterAdverInterval: Skew_Time and
// Master_Down_Interval follow the Master's interval, not ours.
func TestRFC5798_6_4_2_BackupLearnsMasterAdverInterval(t *testing.T) {
	m := newM(t, nil)
	learned := 2 * time.Second
	down := 3*learned + 156*learned/256
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: AdvertReceived{Advert: adv(150, learned), Src: upper4}, state: Backup,
			deadline: time.Second + down, mai: learned},
	})
	if m.SkewTime() != 156*learned/256 || m.MasterDownInterval() != down {
		t.Errorf("skew %v down %v", m.SkewTime(), m.MasterDownInterval())
	}
	// A priority 0 advert then uses the learned interval's Skew_Time.
	run(t, m, []step{{at: 2 * time.Second, ev: AdvertReceived{Advert: adv(0, learned), Src: upper4}, state: Backup,
		deadline: 2*time.Second + 156*learned/256}})
}

func TestRFC5798_6_4_2_HigherOrEqualPriorityResetsTimer(t *testing.T) {
	for _, prio := range []uint8{100, 101, 254, 255} {
		m := newM(t, nil)
		run(t, m, []step{
			{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
			{at: 3 * time.Second, ev: AdvertReceived{Advert: adv(prio, time.Second), Src: lower4}, state: Backup,
				deadline: 3*time.Second + down100},
		})
	}
}

// TestRFC5798_6_4_2_PreemptDiscardsLowerPriority: with Preempt_Mode a
// higher-priority Backup discards the live Master's adverts and takes over
// when its Master_Down_Timer fires.
func TestRFC5798_6_4_2_PreemptDiscardsLowerPriority(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = 200 })
	down200 := 3*time.Second + 56*time.Second/256
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down200, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: AdvertReceived{Advert: adv(100, 3*time.Second), Src: upper4}, state: Backup,
			deadline: down200, mai: time.Second}, // discarded: no timer reset, interval not learned
		{at: 2 * time.Second, ev: AdvertReceived{Advert: adv(100, time.Second), Src: upper4}, state: Backup, deadline: down200},
		{at: down200, ev: TimerExpired{}, state: Master, deadline: down200 + time.Second,
			want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 200}}},
	})
}

// TestRFC5798_6_4_2_NoPreemptObeysLowerPriority: without Preempt_Mode a
// higher-priority Backup never takes over from a live lower-priority Master.
func TestRFC5798_6_4_2_NoPreemptObeysLowerPriority(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = 200; c.Preempt = false })
	m.Step(at(0), Startup{})
	for i := 1; i <= 100; i++ {
		now := time.Duration(i) * time.Second
		if acts := m.Step(at(now), AdvertReceived{Advert: adv(50, time.Second), Src: upper4}); acts != nil {
			t.Fatalf("advert %d: %v", i, acts)
		}
		if dl := m.Deadline(); dl.Before(at(now + time.Second)) {
			t.Fatalf("advert %d: deadline %v too early", i, dl.Sub(t0))
		}
	}
	if m.State() != Backup {
		t.Fatalf("state %v", m.State())
	}
	// When the Master goes silent it does take over.
	last := 100 * time.Second
	down200 := 3*time.Second + 56*time.Second/256
	run(t, m, []step{{at: last + down200, ev: TimerExpired{}, state: Master, deadline: last + down200 + time.Second,
		want: []Action{TakeOver{}, tr(Backup, Master, ReasonMasterDown), SendAdvert{Priority: 200}}}})
}

// TestRFC5798_6_1_OwnerAlwaysPreempts: "the router that owns the IPvX
// address associated with the VRID always preempts, independent of the
// setting of this flag".
func TestRFC5798_6_1_OwnerAlwaysPreempts(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = ownerPri; c.Preempt = false })
	m.Step(at(0), Startup{})
	// Another "owner" with a higher address wins the tie-break: we are now
	// a Backup with priority 255.
	m.Step(at(time.Second), AdvertReceived{Advert: adv(255, time.Second), Src: upper4})
	if m.State() != Backup {
		t.Fatalf("state %v", m.State())
	}
	dl := m.Deadline()
	m.Step(at(2*time.Second), AdvertReceived{Advert: adv(100, time.Second), Src: upper4})
	if m.Deadline() != dl {
		t.Errorf("owner obeyed a priority 100 Master: deadline moved from %v to %v", dl.Sub(t0), m.Deadline().Sub(t0))
	}
}

func TestRFC5798_6_4_2_ShutdownFromBackup(t *testing.T) {
	m := newM(t, nil)
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Backup, deadline: down100, want: []Action{tr(Initialize, Backup, ReasonStartup)}},
		{at: time.Second, ev: Shutdown{}, state: Initialize, deadline: noTimer, want: []Action{tr(Backup, Initialize, ReasonShutdown)}},
		{at: 5 * time.Second, ev: TimerExpired{}, state: Initialize, deadline: noTimer},
		{at: 6 * time.Second, ev: AdvertReceived{Advert: adv(0, time.Second), Src: upper4}, state: Initialize, deadline: noTimer},
		{at: 7 * time.Second, ev: Shutdown{}, state: Initialize, deadline: noTimer},
	})
}

func TestRFC5798_6_4_3_ShutdownSendsPriorityZero(t *testing.T) {
	m := newM(t, func(c *MachineConfig) { c.Priority = ownerPri })
	run(t, m, []step{
		{at: 0, ev: Startup{}, state: Master, deadline: time.Second,
			want: []Action{TakeOver{}, tr(Initialize, Master, ReasonOwner), SendAdvert{Priority: 255}}},
		{at: 500 * time.Millisecond, ev: Shutdown{}, state: Initialize, deadline: noTimer,
			want: []Action{tr(Master, Initialize, ReasonShutdown), SendAdvert{Priority: 0}, Release{}}},
		// and it can start again
		{at: time.Second, ev: Startup{}, state: Master, deadline: 2 * time.Second,
			want: []Action{TakeOver{}, tr(Initialize, Master, ReasonOwner), SendAdvert{Priority: 255}}},
	})
}

// master returns a machine that became Master through its timer at
// down100, with its next Adver_Timer at down100 + 1s.
func master(t *testing.T, mod func(*MachineConfig)) *Machine {
	t.Helper()
	m := newM(t, mod)
	m.Step(at(0), Startup{})
	m.Step(at(m.Deadline().Sub(t0)), TimerExpired{})
	if m.State() != Master {
		t.Fatalf("state %v", m.State())
	}
	return m
}

func TestRFC5798_6_4_3_MasterAnswersPriorityZero(t *testing.T) {
	m := master(t, nil)
	now := down100 + 300*time.Millisecond
	run(t, m, []step{{at: now, ev: AdvertReceived{Advert: adv(0, time.Second), Src: upper4}, state: Master,
		deadline: now + time.Second, want: []Action{SendAdvert{Priority: 100}, Announce{}}}})
}

func TestRFC5798_6_4_3_HigherPriorityMakesMasterBackup(t *testing.T) {
	m := master(t, nil)
	now := down100 + 300*time.Millisecond
	learned := 500 * time.Millisecond
	run(t, m, []step{{at: now, ev: AdvertReceived{Advert: adv(101, learned), Src: lower4}, state: Backup,
		deadline: now + 3*learned + 156*learned/256, mai: learned,
		want: []Action{SendAdvert{Priority: 0}, tr(Master, Backup, ReasonHigherPriority), Release{}}}})
}

// TestRFC5798_6_4_3_EqualPriorityTieBreak: at equal priority the higher
// primary address wins, compared as unsigned bytes (RFC 9568 §6.4.3).
func TestRFC5798_6_4_3_EqualPriorityTieBreak(t *testing.T) {
	tests := []struct {
		name      string
		self, src string
		wantYield bool
	}{
		{"IPv4 sender higher", "198.18.0.10", "198.18.0.20", true},
		{"IPv4 sender lower", "198.18.0.10", "198.18.0.5", false},
		{"IPv4 unsigned: 198.18.0.128 beats 198.18.0.127", "198.18.0.127", "198.18.0.128", true},
		{"IPv6 link-local unsigned", "fe80::7f", "fe80::80", true},
		{"IPv6 link-local lower", "fe80::80", "fe80::7f", false},
		{"IPv6 zone ignored", "fe80::80%eth0", "fe80::7f%eth0", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := master(t, func(c *MachineConfig) { c.PrimaryAddr = netip.MustParseAddr(tc.self) })
			now := down100 + 100*time.Millisecond
			acts := m.Step(at(now), AdvertReceived{Advert: adv(100, time.Second), Src: netip.MustParseAddr(tc.src)})
			if got := m.State() == Backup; got != tc.wantYield {
				t.Errorf("yielded = %v, want %v (actions %v)", got, tc.wantYield, acts)
			}
		})
	}
}

// TestRFC9568_6_4_3_MasterAnswersLowerPriority: RFC 9568 makes the Master
// send an advert at once on a losing advert; LowerPrioNoAdvert keeps the
// RFC 5798 silent discard. Neither changes state or the Adver_Timer. A
// lower-priority sender thought it was Master and announced the addresses:
// the Master announces them again (Announce), at most once per interval.
func TestRFC9568_6_4_3_MasterAnswersLowerPriority(t *testing.T) {
	now := down100 + 300*time.Millisecond
	m := master(t, nil)
	run(t, m, []step{
		{at: now, ev: AdvertReceived{Advert: adv(99, time.Second), Src: upper4}, state: Master,
			deadline: down100 + time.Second, want: []Action{SendAdvert{Priority: 100}, Announce{}}},
		{at: now, ev: AdvertReceived{Advert: adv(100, time.Second), Src: lower4}, state: Master,
			deadline: down100 + time.Second, want: []Action{SendAdvert{Priority: 100}}},
	})
	m = master(t, func(c *MachineConfig) { c.LowerPrioNoAdvert = true })
	run(t, m, []step{{at: now, ev: AdvertReceived{Advert: adv(99, time.Second), Src: upper4}, state: Master,
		deadline: down100 + time.Second, want: []Action{Announce{}}}})
}

// TestOwnAdvertIgnored: an advert from our own primary address (looped back)
// is not a peer and must not make a Master yield at equal priority.
func TestOwnAdvertIgnored(t *testing.T) {
	m := master(t, nil)
	run(t, m, []step{
		{at: down100 + 1, ev: AdvertReceived{Advert: adv(100, time.Second), Src: self4}, state: Master, deadline: down100 + time.Second},
		{at: down100 + 2, ev: AdvertReceived{Advert: nil, Src: upper4}, state: Master, deadline: down100 + time.Second},
	})
}

// TestRFC5798_6_4_3_MasterChangesIntervalInPlace: a Master given a new
// Advertisement_Interval stays Master, advertises at once (so a Backup
// learns the new Master_Adver_Interval before its old timer could run out)
// and then every new interval.
func TestRFC5798_6_4_3_MasterChangesIntervalInPlace(t *testing.T) {
	m, err := NewMachine(MachineConfig{VRID: 51, Priority: 255, AdvertInterval: 100 * time.Millisecond, PrimaryAddr: netip.MustParseAddr("198.18.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	m.Step(t0, Startup{})
	now := t0.Add(30 * time.Millisecond)
	acts := m.Step(now, IntervalChanged{Interval: time.Second})
	if len(acts) != 1 || acts[0] != (SendAdvert{Priority: 255}) {
		t.Fatalf("actions %v, want one advert", acts)
	}
	if m.State() != Master || !m.Deadline().Equal(now.Add(time.Second)) || m.MasterAdverInterval() != time.Second {
		t.Errorf("state %v deadline %v mai %v; want MASTER, next advert after 1s", m.State(), m.Deadline().Sub(now), m.MasterAdverInterval())
	}
	if acts := m.Step(now, IntervalChanged{Interval: 15 * time.Millisecond}); acts != nil || m.Config().AdvertInterval != time.Second {
		t.Errorf("invalid interval: actions %v, interval %v; want it ignored", acts, m.Config().AdvertInterval)
	}
}

package vrrp

import "time"

// Step applies ev at time now and returns the actions to execute, in order.
// now must not go backwards between calls.
func (m *Machine) Step(now time.Time, ev Event) []Action {
	switch ev := ev.(type) {
	case Startup:
		return m.startup(now)
	case Shutdown:
		return m.shutdown(now)
	case TimerExpired:
		return append(m.timerExpired(now, ev.Pending), m.holdExpired(now)...)
	case AdvertReceived:
		return m.advertReceived(now, ev)
	case PriorityChanged:
		if ev.Priority != 0 {
			m.prio = ev.Priority
		}
		return nil
	case FaultChanged:
		return m.faultChanged(now, ev.Fault)
	case MaintenanceChanged:
		return m.maintenanceChanged(now, ev.On)
	case IntervalChanged:
		return m.intervalChanged(now, ev.Interval)
	case ForceBackup:
		switch m.state {
		case Master:
			m.forced = true
			return m.resign(now, Backup, ReasonSyncGroup)
		case Backup:
			m.forced = true
		}
	case ForceMaster:
		if m.state == Backup && !m.maint {
			return m.becomeMaster(now, ReasonSyncGroup)
		}
	}
	return nil
}

// startup is §6.4.1 "If a Startup event is received".
func (m *Machine) startup(now time.Time) []Action {
	if m.state != Initialize {
		return nil
	}
	m.preemptAt = now.Add(m.cfg.PreemptDelay)
	if m.fault {
		return m.enter(Fault, ReasonFault)
	}
	return m.elect(now, ReasonStartup)
}

// elect is the body of §6.4.1: the owner becomes Master at once, any other
// router becomes Backup with Master_Adver_Interval = Advertisement_Interval
// and the Master_Down_Timer running.
func (m *Machine) elect(now time.Time, reason string) []Action {
	m.forced = false
	if m.prio == 255 && !m.maint {
		return m.becomeMaster(now, ReasonOwner)
	}
	m.mai = m.cfg.AdvertInterval
	acts := m.enter(Backup, reason)
	m.armMasterDown(now, m.MasterDownInterval())
	return acts
}

// shutdown is "If a Shutdown event is received" of §6.4.2 and §6.4.3.
func (m *Machine) shutdown(now time.Time) []Action {
	from := m.state
	m.adverAt, m.masterDownAt = time.Time{}, time.Time{}
	m.endWait()
	switch from {
	case Initialize:
		return nil
	case Master:
		m.state = Initialize
		return m.handOver(now, []Action{Transition{From: Master, To: Initialize, Reason: ReasonShutdown}, SendAdvert{Priority: 0}})
	}
	return m.enter(Initialize, ReasonShutdown)
}

// timerExpired runs the RFC 5798 timer if it is due, unless a Backup's
// takeover must wait (deferTakeover).
func (m *Machine) timerExpired(now time.Time, pending bool) []Action {
	d := m.TimerDeadline()
	if d.IsZero() || now.Before(d) {
		m.endWait()
		return nil
	}
	if acts, wait := m.deferTakeover(now, d, pending); wait {
		return acts
	}
	m.endWait()
	switch m.state {
	case Master:
		// §6.4.3 "If the Adver_Timer fires": send and reset.
		if !m.adverAt.IsZero() && !now.Before(m.adverAt) {
			m.adverAt = now.Add(m.cfg.AdvertInterval)
			return []Action{SendAdvert{Priority: m.prio}}
		}
	case Backup:
		// §6.4.2 "If the Master_Down_Timer fires".
		if !m.masterDownAt.IsZero() && !now.Before(m.masterDownAt) {
			return m.becomeMaster(now, ReasonMasterDown)
		}
	}
	return nil
}

// advertReceived ends a deferred takeover's wait and a resigned Master's
// hand-over hold, then obeys the advert.
func (m *Machine) advertReceived(now time.Time, ev AdvertReceived) []Action {
	if ev.Advert == nil {
		return nil
	}
	m.endWait()
	return append(m.newMasterHeard(ev.Advert), m.obey(now, ev)...)
}

// obey is "If an ADVERTISEMENT is received" of §6.4.2 and §6.4.3.
func (m *Machine) obey(now time.Time, ev AdvertReceived) []Action {
	a := ev.Advert
	src := ev.Src.Unmap().WithZone("")
	if src == m.cfg.PrimaryAddr {
		return nil // our own advert looped back is no peer
	}
	switch m.state {
	case Backup:
		if a.Priority == 0 {
			// §6.4.2: the Master resigned; take over after Skew_Time only.
			m.armMasterDown(now, m.SkewTime())
			return nil
		}
		if !m.preempting(now) || a.Priority >= m.prio {
			m.learn(a)
			m.armMasterDown(now, m.MasterDownInterval())
		}
		// else: preempt and lower priority: discard, so that the
		// Master_Down_Timer fires and we take over.
		return nil
	case Master:
		if a.Priority == 0 {
			// §6.4.3: another Master resigned; reassert at once, and
			// announce again: it had announced the addresses.
			m.adverAt = now.Add(m.cfg.AdvertInterval)
			return m.reannounce(now, []Action{SendAdvert{Priority: m.prio}})
		}
		if a.Priority > m.prio || (a.Priority == m.prio && src.Compare(m.cfg.PrimaryAddr) > 0) {
			return m.yield(now, a)
		}
		// A losing advert is discarded. RFC 9568 §6.4.3 adds an immediate
		// advert so the sender and the learning bridges hear the Master.
		var acts []Action
		if !m.cfg.LowerPrioNoAdvert {
			acts = []Action{SendAdvert{Priority: m.prio}}
		}
		if a.Priority < m.prio {
			acts = m.reannounce(now, acts)
		}
		return acts
	}
	return nil // Initialize and Fault ignore adverts
}

// yield is §6.4.3 "a better Master exists": learn its interval and back
// off. We yield after a split brain, or to a preempting Master, and hosts
// may still send to us: a priority 0 advert first says so, which makes the
// new Master assert itself at once (§6.4.3) and announce the addresses
// again. The addresses go at once: the new Master holds them.
func (m *Machine) yield(now time.Time, a *Advert) []Action {
	m.learn(a)
	acts := append([]Action{SendAdvert{Priority: 0}}, m.enter(Backup, ReasonHigherPriority)...)
	m.armMasterDown(now, m.MasterDownInterval())
	return append(acts, Release{})
}

func (m *Machine) faultChanged(now time.Time, fault bool) []Action {
	if fault == m.fault {
		return nil
	}
	m.fault = fault
	switch {
	case fault && m.state == Master:
		return m.resign(now, Fault, ReasonFault)
	case fault && m.state == Backup:
		m.stopMasterDown()
		return m.enter(Fault, ReasonFault)
	case !fault && m.state == Fault:
		return m.elect(now, ReasonFaultCleared)
	}
	return nil // Initialize: remembered for Startup
}

func (m *Machine) maintenanceChanged(now time.Time, on bool) []Action {
	if on == m.maint {
		return nil
	}
	m.maint = on
	switch {
	case on && m.state == Master:
		return m.resign(now, Backup, ReasonMaintenance)
	case on && m.state == Backup:
		m.stopMasterDown() // never take over
	case !on && m.state == Backup:
		m.armMasterDown(now, m.MasterDownInterval())
	}
	return nil
}

// becomeMaster is "Transition to the {Master} state" with its entry steps:
// announce the addresses, send an advert, set Adver_Timer. The addresses
// come first (TakeOver), so that they are in place and announced before
// the advert that makes the old Master release them, and before the
// transition is reported to hooks and logs; a hand-over hold still
// pending from our own resignation ends, as we keep the addresses.
func (m *Machine) becomeMaster(now time.Time, reason string) []Action {
	from := m.state
	m.forced = false
	m.state = Master
	m.mai = m.cfg.AdvertInterval
	m.stopMasterDown()
	m.releaseAt = time.Time{}
	m.adverAt = now.Add(m.cfg.AdvertInterval)
	return []Action{TakeOver{}, Transition{From: from, To: Master, Reason: reason}, SendAdvert{Priority: m.prio}}
}

// resign leaves Master for to (Backup or Fault) gracefully: one priority 0
// advert so a Backup takes over after Skew_Time, then release the addresses
// after the hand-over hold (handOver).
func (m *Machine) resign(now time.Time, to State, reason string) []Action {
	m.adverAt = time.Time{}
	m.state = to
	m.stopMasterDown()
	if to == Backup {
		m.armMasterDown(now, m.MasterDownInterval())
	}
	return m.handOver(now, []Action{Transition{From: Master, To: to, Reason: reason}, SendAdvert{Priority: 0}})
}

// enter changes state without entry actions, stopping the Adver_Timer.
func (m *Machine) enter(to State, reason string) []Action {
	from := m.state
	m.state = to
	m.adverAt = time.Time{}
	if from == to {
		return nil
	}
	return []Action{Transition{From: from, To: to, Reason: reason}}
}

// armMasterDown (re)starts the Master_Down_Timer. In maintenance it stays
// stopped: the router must never take over.
func (m *Machine) armMasterDown(now time.Time, d time.Duration) {
	m.stopMasterDown()
	if !m.maint {
		m.masterDownAt = now.Add(d)
	}
}

// stopMasterDown stops the Master_Down_Timer, and with it any deferred
// takeover's wait.
func (m *Machine) stopMasterDown() {
	m.masterDownAt = time.Time{}
	m.endWait()
}

func (m *Machine) intervalChanged(now time.Time, d time.Duration) []Action {
	valid := ValidAdvertInterval(d)
	if m.cfg.Version == Version2 {
		valid = ValidAdvertIntervalV2(d)
	}
	if !valid || d == m.cfg.AdvertInterval {
		return nil
	}
	m.cfg.AdvertInterval = d
	switch {
	case m.state == Master:
		m.mai = d
		m.adverAt = now.Add(d)
		return []Action{SendAdvert{Priority: m.prio}}
	case m.cfg.Version == Version2:
		m.mai = d // VRRPv2 times the Master out on its own interval
	}
	return nil
}

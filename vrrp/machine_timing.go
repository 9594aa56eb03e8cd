package vrrp

import "time"

// The timing rules below are not in RFC 5798; they keep a hand-over from
// losing packets and a busy host from failing over falsely. They live in
// the Machine, not in the runtime, so that they step with the same
// injected clock as the RFC timers and are tested the same way.

// takeoverGraceTick is how often a takeover deferred for queued packets
// looks again.
const takeoverGraceTick = time.Millisecond

// hold is the hand-over hold of a resigning Master (MachineConfig.HandOverHold).
func (m *Machine) hold() time.Duration {
	if m.cfg.HandOverHold != 0 {
		return m.cfg.HandOverHold
	}
	return max(3*m.cfg.AdvertInterval, 50*time.Millisecond)
}

// handOver ends a resignation whose actions (transition, priority 0
// advert) are acts: the addresses stay until the new Master advertises or
// the hold expires, so that no packet finds the address on neither router.
func (m *Machine) handOver(now time.Time, acts []Action) []Action {
	h := m.hold()
	if h < 0 {
		return append(acts, Release{})
	}
	m.releaseAt = now.Add(h)
	return acts
}

// newMasterHeard releases the addresses a resigned Master still holds once
// an advert with a priority shows another Master: it added and announced
// the addresses before that advert.
func (m *Machine) newMasterHeard(a *Advert) []Action {
	if a.Priority == 0 || m.releaseAt.IsZero() {
		return nil
	}
	m.releaseAt = time.Time{}
	return []Action{Release{}}
}

// holdExpired releases the addresses when the hand-over hold is over.
func (m *Machine) holdExpired(now time.Time) []Action {
	if m.releaseAt.IsZero() || now.Before(m.releaseAt) {
		return nil
	}
	m.releaseAt = time.Time{}
	return []Action{Release{}}
}

// reannounce appends Announce to acts, at most once per
// Advertisement_Interval.
func (m *Machine) reannounce(now time.Time, acts []Action) []Action {
	if !m.lastReann.IsZero() && now.Sub(m.lastReann) < m.cfg.AdvertInterval {
		return acts
	}
	m.lastReann = now
	return append(acts, Announce{})
}

// deferTakeover reports whether a Backup's Master_Down_Timer, due at d,
// must wait, because the silence may be our own starvation rather than the
// Master's death (a false failover makes both routers announce the
// addresses):
//
//   - packets are still queued in the kernel or the runtime (pending): the
//     Master's advert may be among them. Look again every millisecond.
//   - the timer fired late: the host was busy, and a Master on it (or
//     sharing its CPUs) was probably stalled too and is sending now. Wait
//     as long again as we were late, at most one Master_Adver_Interval.
//
// Any received advert ends the wait. The wait never exceeds one
// Master_Adver_Interval past the deadline, so neither a flood of packets
// nor a busy host keeps a Backup from taking over from a dead Master.
func (m *Machine) deferTakeover(now, d time.Time, pending bool) (acts []Action, wait bool) {
	late := now.Sub(d)
	if m.state != Backup || late > m.mai {
		return nil, false
	}
	if pending {
		return m.deferUntil(now.Add(takeoverGraceTick)), true
	}
	if m.graceEnd.IsZero() && late > m.mai/4 {
		m.graceEnd = now.Add(min(late, m.mai))
	}
	if !m.graceEnd.IsZero() && now.Before(m.graceEnd) {
		return m.deferUntil(m.graceEnd), true
	}
	return nil, false
}

// deferUntil looks again at t. A wait that starts for queued packets is
// reported once (DeferredTakeover); a late timer's grace is not counted.
func (m *Machine) deferUntil(t time.Time) []Action {
	first := m.recheckAt.IsZero() && m.graceEnd.IsZero()
	m.recheckAt = t
	if first {
		return []Action{DeferredTakeover{}}
	}
	return nil
}

// endWait forgets a deferred takeover: an advert was heard, or the timer
// ran.
func (m *Machine) endWait() { m.recheckAt, m.graceEnd = time.Time{}, time.Time{} }

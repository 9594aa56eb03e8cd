package router

import (
	"time"

	"github.com/hachat/hachat/vrrp"
)

// takeoverGraceTick is how often a deferred takeover looks again.
const takeoverGraceTick = time.Millisecond

// deferTakeover reports whether a Backup's Master_Down_Timer, due at d,
// must wait, because the silence may be our own starvation rather than the
// Master's death (a false failover makes both routers announce the
// addresses):
//
//   - packets are still queued in the kernel or the demultiplexer: the
//     Master's advert may be among them. Look again every millisecond.
//   - the timer fired late: the host was busy, and a Master on it (or
//     sharing its CPUs) was probably stalled too and is sending now. Wait
//     as long again as we were late, at most one Master_Adver_Interval.
//
// Any received advert ends the wait. The wait never exceeds one
// Master_Adver_Interval past the deadline, so neither a flood of packets
// nor a busy host keeps a Backup from taking over from a dead Master.
func (in *Instance) deferTakeover(now, d time.Time) bool {
	mai := in.m.MasterAdverInterval()
	late := now.Sub(d)
	if in.m.State() != vrrp.Backup || late > mai {
		return false
	}
	if in.deps.Pending != nil && in.deps.Pending() {
		in.deferUntil(now.Add(takeoverGraceTick))
		return true
	}
	if in.graceEnd.IsZero() && late > mai/4 {
		in.graceEnd = now.Add(min(late, mai))
	}
	if !in.graceEnd.IsZero() && now.Before(in.graceEnd) {
		in.deferUntil(in.graceEnd)
		return true
	}
	return false
}

func (in *Instance) deferUntil(t time.Time) {
	if in.recheckAt.IsZero() && in.graceEnd.IsZero() {
		in.stats.TakeoversDeferred.Add(1)
	}
	in.recheckAt = t
}

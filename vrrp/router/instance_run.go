package router

import (
	"context"
	"runtime"
	"time"
)

// Run runs the instance until ctx is done, then shuts it down gracefully: a
// Master sends priority 0 and keeps its addresses until the new Master
// advertises or the hand-over hold expires, then removes them. Run returns
// once the addresses are gone.
func (in *Instance) Run(ctx context.Context) error {
	prio := in.deps.RealtimePriority
	if prio > 0 {
		// The loop sends the adverts: on a locked SCHED_RR thread it runs
		// as soon as its timer fires, whatever else the host is doing. The
		// scheduling class is per thread, hence the lock.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := setRealtime(prio); err != nil {
			in.deps.Logger.Warn("vrrp realtime priority unavailable; timers may run late on a busy host", "instance", in.cfg.Name, "err", err)
			prio = 0
		}
	}
	timer, err := newLoopTimer(prio)
	if err != nil {
		in.deps.Logger.Warn("vrrp realtime timer unavailable", "instance", in.cfg.Name, "err", err)
	}
	defer timer.Stop()
	now := in.deps.Now
	in.drainMail(now())
	in.start(now())
	done := ctx.Done()
	for {
		if in.done() {
			in.removeVIPs(now(), false) // belt and braces: nothing of ours stays
			return nil
		}
		in.arm(timer, now())
		select {
		case <-done:
			done = nil
			in.shutdown(now())
		case r := <-in.rx:
			in.handleAdvert(now(), r)
		case <-in.sig:
			in.drainMail(now())
		case <-timer.C():
			t := now()
			// Adverts already queued arrived before this wake-up: apply them
			// first, so a Backup whose loop ran late does not take over from
			// a Master it has in fact heard.
			in.drainRx(t)
			in.handleTimer(t)
		}
	}
}

func (in *Instance) drainRx(now time.Time) {
	for {
		select {
		case r := <-in.rx:
			in.handleAdvert(now, r)
		default:
			return
		}
	}
}

// arm sets timer for the next wake-up. Go 1.23+ timers need no draining;
// a stale wake-up of the realtime timer only makes the loop look again.
func (in *Instance) arm(timer loopTimer, now time.Time) {
	w := in.nextWake()
	if w.IsZero() {
		timer.Reset(time.Hour)
		return
	}
	timer.Reset(max(w.Sub(now), 0))
}

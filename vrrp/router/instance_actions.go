package router

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// exec executes the machine's actions in the order the machine emits them,
// which is the order that loses no packet on a hand-over: a new Master adds
// and announces its addresses before its first advert (which makes the old
// Master release them), and a resigning Master keeps its addresses after
// its priority 0 advert until the new Master is heard from (vrrp.Release).
func (in *Instance) exec(now time.Time, acts []vrrp.Action) {
	changed := false
	for _, a := range acts {
		switch a := a.(type) {
		case vrrp.TakeOver:
			in.takeOver(now)
		case vrrp.SendAdvert:
			in.sendAdvert(a.Priority)
		case vrrp.Release:
			in.releaseVIPs(now)
		case vrrp.Announce:
			in.ann.burst(now, max(in.cfg.Gratuitous.Repeat, 1))
			in.fireAnnouncements(now)
		case vrrp.DeferredTakeover:
			in.stats.TakeoversDeferred.Add(1)
		case vrrp.Transition:
			changed = true
			in.transition(now, a)
		}
	}
	if changed {
		in.publish()
	}
}

// transition records a state change: counters, log, event stream, sync
// group. Leaving Master stops the announcements at once, even while the
// addresses stay for the hand-over hold.
func (in *Instance) transition(now time.Time, a vrrp.Transition) {
	if a.From == vrrp.Master {
		in.ann.stop()
	}
	in.lastChange, in.lastReason = now, a.Reason
	if a.To == vrrp.Master {
		in.masterAddr = in.cfg.Machine.PrimaryAddr
	}
	in.stats.countTransition(a.From, a.To)
	in.deps.Logger.Info("vrrp transition", "instance", in.cfg.Name, "from", a.From.String(), "to", a.To.String(), "reason", a.Reason, "priority", in.m.EffectivePriority())
	in.emit(now, InstanceEvent{Kind: "transition", From: a.From.String(), To: a.To.String(), Reason: a.Reason})
	if in.group != nil {
		in.group.memberTransition(in, a)
	}
}

func (in *Instance) emit(now time.Time, ev InstanceEvent) {
	ev.Time, ev.Instance, ev.Priority = now, in.cfg.Name, in.m.EffectivePriority()
	in.deps.OnEvent(ev)
}

func (in *Instance) sendAdvert(prio uint8) {
	in.sendOne(&in.adv, prio)
	if in.cfg.V2Compat {
		// RFC 5798 §8.4.2: a Master in VRRPv2 compatibility sends both.
		in.adv2.MaxAdvertInt = in.adv.MaxAdvertInt
		in.sendOne(&in.adv2, prio)
	}
}

func (in *Instance) sendOne(adv *vrrp.Advert, prio uint8) {
	adv.Priority = prio
	src := in.cfg.Machine.PrimaryAddr
	dsts := in.cfg.Peers
	if len(dsts) == 0 {
		dsts = []netip.Addr{vrrp.GroupFor(src)}
	}
	for _, dst := range dsts {
		b, err := adv.AppendMarshal(in.buf[:0], src, dst, in.cfg.Checksum)
		if err == nil {
			in.buf = b[:0]
			err = in.deps.Sender.WritePacket(b, src, dst)
		}
		if err != nil {
			n := in.stats.SendErrors.Add(1)
			// Rate-limited: a dead link fails every advert, 50 a second at 20ms.
			if now := in.deps.Now(); in.lastSendLog.IsZero() || now.Sub(in.lastSendLog) >= 10*time.Second {
				in.lastSendLog = now
				in.deps.Logger.Warn("vrrp send advert (logged at most every 10s)", "instance", in.cfg.Name, "dst", dst, "err", err, "send_errors_total", n)
			}
			continue
		}
		in.stats.AdvertsSent.Add(1)
	}
}

// takeOver adds the virtual addresses, reads them back, and starts the
// announcements (the first burst goes out at once).
func (in *Instance) takeOver(now time.Time) {
	in.flushUnresolvedNeighbors(now)
	if in.deps.OnRole != nil {
		in.deps.OnRole(true)
	}
	var errs []error
	for _, p := range in.cfg.VIPs {
		if err := in.deps.Addrs.AddAddr(in.cfg.Interface, p); err != nil {
			errs = append(errs, err)
		}
	}
	in.held = true
	if have, err := in.deps.Addrs.Addrs(in.cfg.Interface); err != nil {
		errs = append(errs, fmt.Errorf("read back: %w", err))
	} else {
		for _, p := range in.cfg.VIPs {
			if !holds(have, p) {
				errs = append(errs, fmt.Errorf("%v missing after add", p))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		in.stats.AddrErrors.Add(1)
		in.deps.Logger.Error("vrrp add virtual addresses", "instance", in.cfg.Name, "err", err)
		in.emit(now, InstanceEvent{Kind: "error", Detail: "add virtual addresses: " + err.Error()})
	} else {
		in.emit(now, InstanceEvent{Kind: "vip_added", Detail: fmt.Sprint(in.cfg.VIPs)})
	}
	if in.deps.OnAddresses != nil {
		in.deps.OnAddresses(true)
	}
	in.ann.start(now)
	in.fireAnnouncements(now)
}

// flushUnresolvedNeighbors drops neighbour entries left unresolved while
// the link was down, before the addresses are added, so that the first
// replies to clients solicit at once instead of waiting up to a second
// behind a stale entry's retransmit timer (see UnresolvedNeighborFlusher).
// A failure is logged and counted but does not stop the takeover.
func (in *Instance) flushUnresolvedNeighbors(now time.Time) {
	f, ok := in.deps.Addrs.(UnresolvedNeighborFlusher)
	if !ok {
		return
	}
	deleted, err := f.FlushUnresolvedNeighbors(in.cfg.Interface)
	if err != nil {
		in.stats.AddrErrors.Add(1)
		in.deps.Logger.Warn("vrrp flush unresolved neighbours", "instance", in.cfg.Name, "err", err)
		in.emit(now, InstanceEvent{Kind: "error", Detail: "flush unresolved neighbours: " + err.Error()})
	}
	if len(deleted) > 0 {
		in.emit(now, InstanceEvent{Kind: "neighbors_flushed", Detail: fmt.Sprint(deleted)})
	}
}

func (in *Instance) fireAnnouncements(now time.Time) {
	in.ann.fire(now, func() {
		for _, p := range in.cfg.VIPs {
			if err := in.deps.Announcer.Announce(in.cfg.Interface, p.Addr()); err != nil {
				in.stats.AnnounceErrors.Add(1)
				in.deps.Logger.Warn("vrrp announce", "instance", in.cfg.Name, "addr", p.Addr(), "err", err)
			}
		}
	})
}

func (in *Instance) releaseVIPs(now time.Time) {
	in.removeVIPs(now, false)
	in.held = false
	if in.deps.OnRole != nil {
		in.deps.OnRole(false)
	}
	in.publish()
}

// removeVIPs deletes our virtual addresses. At start-up only those present
// are touched, and quietly unless something was found.
func (in *Instance) removeVIPs(now time.Time, startup bool) {
	if in.deps.OnAddresses != nil {
		in.deps.OnAddresses(false)
	}
	have, err := in.deps.Addrs.Addrs(in.cfg.Interface)
	if err != nil {
		in.stats.AddrErrors.Add(1)
		in.emit(now, InstanceEvent{Kind: "error", Detail: "list addresses: " + err.Error()})
		have = in.cfg.VIPs // try to remove them all anyway
	}
	var removed []netip.Prefix
	var errs []error
	for _, p := range in.cfg.VIPs {
		if !holds(have, p) {
			continue
		}
		if err := in.deps.Addrs.DelAddr(in.cfg.Interface, p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	if err := errors.Join(errs...); err != nil {
		in.stats.AddrErrors.Add(1)
		in.deps.Logger.Error("vrrp remove virtual addresses", "instance", in.cfg.Name, "err", err)
		in.emit(now, InstanceEvent{Kind: "error", Detail: "remove virtual addresses: " + err.Error()})
	}
	if len(removed) > 0 {
		detail := fmt.Sprint(removed)
		if startup {
			detail = "stale at start-up: " + detail
		}
		in.emit(now, InstanceEvent{Kind: "vip_removed", Detail: detail})
	}
}

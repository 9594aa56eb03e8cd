package router

import (
	"net/netip"
	"slices"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// The receive checks an instance applies itself, after the interface-level
// ones of RxPolicy: they depend on its configuration (version, interval,
// checksum form, unicast peers).

// Deliver hands a received advert that passed the interface-level checks
// (TTL, parse, VRID) to the instance, with the checksum form that verified.
// It applies the instance-level checks (own echo, unicast peer list,
// version, checksum form, VRRPv2 interval and authentication) and never blocks: when the loop
// is behind, the advert is dropped and counted as DropQueueFull.
func (in *Instance) Deliver(a *vrrp.Advert, src netip.Addr, form vrrp.ChecksumForm) {
	s := src.Unmap().WithZone("")
	if r, ok := in.refuse(a, s, form); !ok {
		in.drop(r, src, a)
		return
	}
	select {
	case in.rx <- received{a, s}:
	default:
		in.drop(DropQueueFull, src, a)
	}
}

// v2Duplicate reports whether r is a VRRPv2 advert from a router that also
// sends VRRPv3 ones (RFC 5798 §8.4.2: a Backup "should ignore VRRPv2
// advertisements from a current Master if it is also receiving VRRPv3
// packets from it"). It remembers the last VRRPv3 sender only, so a flood
// of sources cannot grow it.
func (in *Instance) v2Duplicate(now time.Time, r received) bool {
	if r.adv.Version == vrrp.Version3 {
		in.lastV3Src, in.lastV3At = r.src, now
		return false
	}
	return r.src == in.lastV3Src && now.Sub(in.lastV3At) <= 3*in.m.MasterAdverInterval()
}

// drop counts and logs (rate-limited, debug) one refused advert.
func (in *Instance) drop(r vrrp.DropReason, src netip.Addr, a *vrrp.Advert) {
	in.stats.Drops.Add(r)
	in.dlog.note(in.deps.Now(), r, "instance", in.cfg.Name, "src", src, "version", a.Version, "priority", a.Priority, "interval", a.MaxAdvertInt)
}

// refuse applies the instance-level receive checks.
func (in *Instance) refuse(a *vrrp.Advert, src netip.Addr, form vrrp.ChecksumForm) (vrrp.DropReason, bool) {
	mc := &in.cfg.Machine
	switch {
	case src == mc.PrimaryAddr.Unmap().WithZone(""):
		return vrrp.DropLocalEcho, false
	case len(in.cfg.Peers) > 0 && !slices.ContainsFunc(in.cfg.Peers, func(p netip.Addr) bool { return p.Unmap().WithZone("") == src }):
		return vrrp.DropUnknownPeer, false
	case a.Version != in.version && !(in.cfg.V2Compat && a.Version == vrrp.Version2):
		return vrrp.DropVersionMismatch, false
	case a.Version == vrrp.Version2 && in.version == vrrp.Version2 && a.MaxAdvertInt != time.Duration(in.rxInterval.Load()):
		return vrrp.DropIntervalMismatch, false
	case a.Version == vrrp.Version3 && src.Is4() && form != in.cfg.Checksum && !in.cfg.ChecksumLenient:
		return vrrp.DropChecksumForm, false
	case a.Version == vrrp.Version2:
		return in.cfg.Auth.Check(a)
	}
	return "", true
}

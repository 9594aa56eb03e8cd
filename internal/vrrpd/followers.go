package vrrpd

import (
	"net/netip"
	"slices"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vroute"
)

// What follows a Master besides its virtual addresses on its own
// interface: addresses on other interfaces (keepalived's `virtual_ipaddress
// { ADDR dev IF }`) and virtual routes and rules.

// routeSet is the runtime form of the instance's virtual_routes and
// virtual_rules.
func routeSet(ic config.Instance) vroute.Set {
	var s vroute.Set
	for _, r := range ic.VirtualRoutes {
		vr := vroute.Route{
			To: r.To, Via: r.Via, Interface: r.Interface, Source: r.Source, Table: r.Table,
			Scope: vroute.Scope(r.Scope), Type: vroute.Type(r.Type), Metric: r.Metric,
		}
		if vr.Scope == "global" {
			vr.Scope = vroute.ScopeGlobal
		}
		if vr.Type == "unicast" {
			vr.Type = vroute.TypeUnicast
		}
		for _, h := range r.Nexthops {
			vr.Nexthops = append(vr.Nexthops, vroute.Nexthop{Via: h.Via, Interface: h.Interface, Weight: h.Weight})
		}
		s.Routes = append(s.Routes, vr)
	}
	for _, r := range ic.VirtualRules {
		s.Rules = append(s.Rules, vroute.Rule{
			From: r.From, To: r.To, IPv6: r.IPv6(), Table: r.Table, Priority: r.Priority,
			InputIf: r.InputIf, OutputIf: r.OutputIf, FWMark: r.FWMark,
		})
	}
	return s
}

// routesHook installs s when the instance holds its addresses and removes
// it when it lets them go (vrrp.InstanceDeps.OnAddresses); nil when there
// is nothing to install. Failures are logged and published as events: a
// route the kernel refuses must not stop the takeover.
func (n *Node) routesHook(name string, s vroute.Set) func(bool) {
	if s.Empty() {
		return nil
	}
	return func(held bool) {
		op, err := "install", error(nil)
		if held {
			err = s.Install(n.k.Routes())
		} else {
			op, err = "remove", s.Remove(n.k.Routes())
		}
		if err != nil {
			n.routeErrors.Add(1)
			n.log.Error("virtual routes and rules", "instance", name, "op", op, "err", err)
			n.onEvent(router.InstanceEvent{Instance: name, Kind: "error", Detail: op + " virtual routes: " + err.Error()})
		}
	}
}

// deviceAddrs puts some of an instance's virtual addresses on other
// interfaces than its own: the instance adds, lists and announces all of
// them on its interface, and deviceAddrs sends each to where it belongs.
type deviceAddrs struct {
	own string
	dev map[netip.Prefix]string // address -> its interface
	router.AddrManager
	ann router.Announcer
}

// withDeviceAddresses returns am and ann unchanged when the instance has no
// device addresses, else wrapped.
func withDeviceAddresses(ic config.Instance, own string, am router.AddrManager, ann router.Announcer) (router.AddrManager, router.Announcer) {
	if len(ic.DeviceAddresses) == 0 {
		return am, ann
	}
	d := &deviceAddrs{own: own, dev: map[netip.Prefix]string{}, AddrManager: am, ann: ann}
	for _, a := range ic.DeviceAddresses {
		d.dev[a.Address] = a.Interface
	}
	return d, d
}

func (d *deviceAddrs) where(ifname string, p netip.Prefix) string {
	if dev, ok := d.dev[p]; ok && ifname == d.own {
		return dev
	}
	return ifname
}

// AddAddr implements router.AddrManager.
func (d *deviceAddrs) AddAddr(ifname string, p netip.Prefix) error {
	return d.AddrManager.AddAddr(d.where(ifname, p), p)
}

// DelAddr implements router.AddrManager.
func (d *deviceAddrs) DelAddr(ifname string, p netip.Prefix) error {
	return d.AddrManager.DelAddr(d.where(ifname, p), p)
}

// Addrs lists the instance's interface's addresses and those of its device
// addresses found on their interfaces, so that the read-back after a
// takeover sees them all. An interface that cannot be listed (it does not
// exist yet) holds none of them: the read-back reports them missing.
func (d *deviceAddrs) Addrs(ifname string) ([]netip.Prefix, error) {
	have, err := d.AddrManager.Addrs(ifname)
	if err != nil || ifname != d.own {
		return have, err
	}
	byDev := map[string][]netip.Prefix{}
	for p, dev := range d.dev {
		byDev[dev] = append(byDev[dev], p)
	}
	for dev, ps := range byDev {
		other, err := d.AddrManager.Addrs(dev)
		if err != nil {
			continue
		}
		for _, p := range ps {
			if slices.ContainsFunc(other, func(o netip.Prefix) bool { return o.Addr() == p.Addr() }) {
				have = append(have, p)
			}
		}
	}
	return have, nil
}

// Announce implements router.Announcer: gratuitous ARP or unsolicited NA on
// the interface that holds the address.
func (d *deviceAddrs) Announce(ifname string, a netip.Addr) error {
	for p, dev := range d.dev {
		if p.Addr() == a && ifname == d.own {
			return d.ann.Announce(dev, a)
		}
	}
	return d.ann.Announce(ifname, a)
}

// FlushUnresolvedNeighbors keeps the wrapped manager's
// router.UnresolvedNeighborFlusher.
func (d *deviceAddrs) FlushUnresolvedNeighbors(ifname string) ([]netip.Addr, error) {
	if f, ok := d.AddrManager.(router.UnresolvedNeighborFlusher); ok {
		return f.FlushUnresolvedNeighbors(ifname)
	}
	return nil, nil
}

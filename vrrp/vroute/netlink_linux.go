//go:build linux

package vroute

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Netlink is the Kernel of the running system, over rtnetlink.
type Netlink struct {
	h *netlink.Handle
}

// NewNetlink uses h, or the current network namespace when h is nil.
func NewNetlink(h *netlink.Handle) *Netlink {
	if h == nil {
		h = &netlink.Handle{}
	}
	return &Netlink{h: h}
}

func ipNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ip(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}

var scopes = map[Scope]netlink.Scope{
	ScopeGlobal: netlink.SCOPE_UNIVERSE, ScopeLink: netlink.SCOPE_LINK,
	ScopeHost: netlink.SCOPE_HOST, ScopeSite: netlink.SCOPE_SITE,
}

var types = map[Type]int{
	TypeUnicast: unix.RTN_UNICAST, TypeBlackhole: unix.RTN_BLACKHOLE,
	TypeUnreachable: unix.RTN_UNREACHABLE, TypeProhibit: unix.RTN_PROHIBIT,
}

func (n *Netlink) linkIndex(name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	l, err := n.h.LinkByName(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

// route is r in the library's terms.
func (n *Netlink) route(r Route) (*netlink.Route, error) {
	scope, ok := scopes[r.Scope]
	if !ok {
		return nil, fmt.Errorf("unknown scope %q", r.Scope)
	}
	typ, ok := types[r.Type]
	if !ok {
		return nil, fmt.Errorf("unknown type %q", r.Type)
	}
	idx, err := n.linkIndex(r.Interface)
	if err != nil {
		return nil, err
	}
	nr := &netlink.Route{
		LinkIndex: idx, Dst: ipNet(r.To), Gw: ip(r.Via), Src: ip(r.Source),
		Table: r.Table, Scope: scope, Type: typ, Priority: r.Metric,
		Protocol: unix.RTPROT_STATIC,
	}
	if r.To.Addr().Is6() {
		nr.Family = netlink.FAMILY_V6
	} else {
		nr.Family = netlink.FAMILY_V4
	}
	for _, h := range r.Nexthops {
		hi, err := n.linkIndex(h.Interface)
		if err != nil {
			return nil, err
		}
		if hi == 0 {
			hi = idx
		}
		nr.MultiPath = append(nr.MultiPath, &netlink.NexthopInfo{LinkIndex: hi, Gw: ip(h.Via), Hops: max(h.Weight, 1) - 1})
	}
	return nr, nil
}

// AddRoute implements Kernel.
func (n *Netlink) AddRoute(r Route) error {
	nr, err := n.route(r)
	if err == nil {
		err = n.h.RouteAdd(nr)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("vroute: add %v: %w", r, err)
	}
	return nil
}

// DelRoute implements Kernel. A route whose interface is gone is gone
// with it.
func (n *Netlink) DelRoute(r Route) error {
	nr, err := n.route(r)
	if err == nil {
		err = n.h.RouteDel(nr)
	}
	var gone netlink.LinkNotFoundError
	if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) && !errors.As(err, &gone) {
		return fmt.Errorf("vroute: delete %v: %w", r, err)
	}
	return nil
}

func rule(r Rule) *netlink.Rule {
	nr := netlink.NewRule()
	nr.Family = netlink.FAMILY_V4
	if r.IPv6 || (r.From.IsValid() && r.From.Addr().Is6()) || (r.To.IsValid() && r.To.Addr().Is6()) {
		nr.Family = netlink.FAMILY_V6
	}
	nr.Src, nr.Dst = ipNet(r.From), ipNet(r.To)
	nr.Table = r.Table
	if r.Priority != 0 {
		nr.Priority = r.Priority
	}
	nr.IifName, nr.OifName = r.InputIf, r.OutputIf
	if r.FWMark != 0 {
		nr.Mark = r.FWMark
	}
	return nr
}

// AddRule implements Kernel.
func (n *Netlink) AddRule(r Rule) error {
	if err := n.h.RuleAdd(rule(r)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("vroute: add rule %v: %w", r, err)
	}
	return nil
}

// DelRule implements Kernel.
func (n *Netlink) DelRule(r Rule) error {
	if err := n.h.RuleDel(rule(r)); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("vroute: delete rule %v: %w", r, err)
	}
	return nil
}

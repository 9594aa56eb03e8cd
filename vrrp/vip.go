package vrrp

import (
	"fmt"
	"net/netip"
)

// AddrManager adds, removes and lists interface addresses: the virtual
// addresses a Master holds. The Linux implementation uses netlink
// (NetlinkAddrs); tests use FakeAddrs.
type AddrManager interface {
	// AddAddr adds p to the interface; an address already present is not
	// an error.
	AddAddr(ifname string, p netip.Prefix) error
	// DelAddr removes p; an address already absent is not an error.
	DelAddr(ifname string, p netip.Prefix) error
	// Addrs lists the interface's addresses.
	Addrs(ifname string) ([]netip.Prefix, error)
}

// holds reports which of want the interface currently has.
func holds(have []netip.Prefix, want netip.Prefix) bool {
	for _, h := range have {
		if h.Addr().WithZone("") == want.Addr().WithZone("") {
			return true
		}
	}
	return false
}

// SourceAddr picks the advert source of an instance on ifname: for IPv4 the
// first address that is not one of the virtual addresses (the primary
// address, RFC 5798 §5.1.1.1), for IPv6 the link-local address (§5.1.2.1).
func SourceAddr(am AddrManager, ifname string, ipv6Family bool, vips []netip.Prefix) (netip.Addr, error) {
	have, err := am.Addrs(ifname)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, p := range have {
		a := p.Addr()
		if holds(vips, p) || a.Is6() != ipv6Family {
			continue
		}
		if ipv6Family && !a.IsLinkLocalUnicast() {
			continue
		}
		return a, nil
	}
	fam := "IPv4"
	if ipv6Family {
		fam = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("vrrp: %s has no %s address to send adverts from", ifname, fam)
}

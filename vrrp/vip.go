package vrrp

import "net/netip"

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

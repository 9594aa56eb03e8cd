package router

import (
	"fmt"
	"net/netip"
)

// AddrManager adds, removes and lists interface addresses: the virtual
// addresses a Master holds. The Linux implementation uses netlink
// (host.NetlinkAddrs); tests use vrrptest.FakeAddrs.
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

// UnresolvedNeighborFlusher is implemented by an AddrManager that can also
// drop the interface's unresolved neighbour entries (ARP or Neighbor
// Discovery entries in state INCOMPLETE or FAILED). A new Master calls it
// before it adds its addresses.
//
// Why: while a router's link is down, its TCP stack keeps retransmitting
// to the clients it served, and each attempt leaves an INCOMPLETE entry
// whose next solicitation is due only after the kernel's retransmit timer
// (retrans_time_ms, 1 s by default). When the link comes back and the
// router takes over, the clients' packets arrive at once, but every reply
// waits in that entry's queue until the timer fires: up to a second of
// lost service although the router holds the address and has announced
// it. A fresh entry solicits at the first packet, so deleting the stale
// ones before the takeover makes the first reply go out within a round
// trip. Resolved entries (REACHABLE, STALE, ...) are kept.
type UnresolvedNeighborFlusher interface {
	// FlushUnresolvedNeighbors deletes ifname's INCOMPLETE and FAILED
	// neighbour entries of both families and returns the addresses it
	// deleted.
	FlushUnresolvedNeighbors(ifname string) ([]netip.Addr, error)
}

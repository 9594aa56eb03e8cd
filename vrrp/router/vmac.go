package router

import "net"

// VirtualMAC is the virtual router MAC address of RFC 5798 §7.3:
// 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
func VirtualMAC(vrid uint8, ipv6 bool) net.HardwareAddr {
	fam := byte(1)
	if ipv6 {
		fam = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, fam, vrid}
}

// VMACLinks manages the interfaces that carry a virtual MAC: a macvlan on
// the instance's interface whose address is the virtual router MAC, which
// holds the virtual addresses and is up only while the instance is Master.
// Hosts then keep one gateway MAC across a failover; only the switches
// have to learn where it went, from the new Master's gratuitous ARP.
type VMACLinks interface {
	// Ensure creates the interface (down), or checks that the one there is
	// a macvlan on base with mac, and sets what it needs: for IPv4 it
	// answers ARP only for its own addresses, and base no longer answers
	// for them. The family is the MAC's (VirtualMAC).
	Ensure(base, name string, mac net.HardwareAddr) error
	// SetUp brings the interface up or down.
	SetUp(name string, up bool) error
	// Delete removes the interface; a missing one is no error.
	Delete(name string) error
}

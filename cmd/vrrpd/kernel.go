package main

import (
	"context"
	"net"
	"net/netip"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/acceptmode"
	"github.com/hachat/hachat/vrrp/vroute"
)

// Kernel is everything vrrpd needs from the operating system, so that the
// node logic (reload diffs, wiring) runs in tests against fakes.
type Kernel interface {
	// Listen opens the VRRP socket of an interface and family.
	Listen(ifname string, ipv6 bool) (vrrp.Conn, error)
	// ListenVMAC opens the receive-only socket of a virtual MAC interface:
	// it hears the adverts sent from mac, which the kernel hands to the
	// macvlan instead of its parent (see vrrp.ParseVMACFrame).
	ListenVMAC(ifname string, ipv6 bool, mac net.HardwareAddr) (vrrp.Conn, error)
	// DialVMAC opens the send socket of a virtual MAC interface: adverts
	// leave from the virtual router MAC (vrrp.DialVMAC).
	DialVMAC(ifname string, ipv6 bool) (vrrp.Conn, error)
	Addrs() vrrp.AddrManager
	Announcer() vrrp.Announcer
	VMAC() vrrp.VMACLinks
	// Routes installs virtual routes and rules.
	Routes() vroute.Kernel
	// WatchLinks feeds link states into hub until ctx is done.
	WatchLinks(ctx context.Context, hub *vrrp.TrackHub) error
	// AcceptFilter opens the filter that refuses packets to the virtual
	// addresses of instances whose Accept_Mode is off.
	AcceptFilter() (AcceptFilter, error)
}

// AcceptFilter is *acceptmode.Filter.
type AcceptFilter interface {
	// Set makes addrs the refused addresses; none removes the rules.
	Set(addrs []netip.Addr) error
	// Dropped counts the packets refused, by family ("ipv4", "ipv6").
	Dropped() (map[string]uint64, error)
	// Close removes the rules.
	Close() error
}

// linuxKernel is the real one.
type linuxKernel struct {
	addrs *vrrp.NetlinkAddrs
	ann   *vrrp.RawAnnouncer
	vmac  *vrrp.NetlinkVMAC
	rt    *vroute.Netlink
}

func newLinuxKernel() *linuxKernel {
	return &linuxKernel{addrs: vrrp.NewNetlinkAddrs(nil), ann: vrrp.NewRawAnnouncer(), vmac: vrrp.NewNetlinkVMAC(), rt: vroute.NewNetlink(nil)}
}

func (k *linuxKernel) Listen(ifname string, ipv6 bool) (vrrp.Conn, error) {
	return vrrp.ListenConn(ifname, ipv6)
}
func (k *linuxKernel) ListenVMAC(ifname string, ipv6 bool, mac net.HardwareAddr) (vrrp.Conn, error) {
	return vrrp.ListenVMAC(ifname, ipv6, mac)
}
func (k *linuxKernel) DialVMAC(ifname string, ipv6 bool) (vrrp.Conn, error) {
	return vrrp.DialVMAC(ifname, ipv6)
}
func (k *linuxKernel) Addrs() vrrp.AddrManager   { return k.addrs }
func (k *linuxKernel) Announcer() vrrp.Announcer { return k.ann }
func (k *linuxKernel) VMAC() vrrp.VMACLinks      { return k.vmac }
func (k *linuxKernel) Routes() vroute.Kernel     { return k.rt }
func (k *linuxKernel) AcceptFilter() (AcceptFilter, error) {
	return acceptmode.Open("")
}
func (k *linuxKernel) WatchLinks(ctx context.Context, hub *vrrp.TrackHub) error {
	return vrrp.WatchLinks(ctx, hub)
}

package vrrpd

import (
	"context"
	"net"
	"net/netip"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/acceptmode"
	"github.com/hachat/hachat/vrrp/host"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vroute"
)

// Kernel is everything vrrpd needs from the operating system, so that the
// node logic (reload diffs, wiring) runs in tests against fakes.
type Kernel interface {
	// Listen opens the VRRP socket of an interface and family.
	Listen(ifname string, ipv6 bool) (vrrp.Conn, error)
	// ListenVMAC opens the receive-only socket of a virtual MAC interface:
	// it hears the adverts sent from mac, which the kernel hands to the
	// macvlan instead of its parent (see host.ParseVMACFrame).
	ListenVMAC(ifname string, ipv6 bool, mac net.HardwareAddr) (vrrp.Conn, error)
	// DialVMAC opens the send socket of a virtual MAC interface: adverts
	// leave from the virtual router MAC (host.DialVMAC).
	DialVMAC(ifname string, ipv6 bool) (vrrp.Conn, error)
	Addrs() router.AddrManager
	Announcer() router.Announcer
	VMAC() router.VMACLinks
	// Routes installs virtual routes and rules.
	Routes() vroute.Kernel
	// WatchLinks feeds link states into hub until ctx is done.
	WatchLinks(ctx context.Context, hub *router.TrackHub) error
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
	addrs *host.NetlinkAddrs
	ann   *host.RawAnnouncer
	vmac  *host.NetlinkVMAC
	rt    *vroute.Netlink
}

func newLinuxKernel() *linuxKernel {
	return &linuxKernel{addrs: host.NewNetlinkAddrs(nil), ann: host.NewRawAnnouncer(), vmac: host.NewNetlinkVMAC(), rt: vroute.NewNetlink(nil)}
}

func (k *linuxKernel) Listen(ifname string, ipv6 bool) (vrrp.Conn, error) {
	return host.ListenConn(ifname, ipv6)
}
func (k *linuxKernel) ListenVMAC(ifname string, ipv6 bool, mac net.HardwareAddr) (vrrp.Conn, error) {
	return host.ListenVMAC(ifname, ipv6, mac)
}
func (k *linuxKernel) DialVMAC(ifname string, ipv6 bool) (vrrp.Conn, error) {
	return host.DialVMAC(ifname, ipv6)
}
func (k *linuxKernel) Addrs() router.AddrManager   { return k.addrs }
func (k *linuxKernel) Announcer() router.Announcer { return k.ann }
func (k *linuxKernel) VMAC() router.VMACLinks      { return k.vmac }
func (k *linuxKernel) Routes() vroute.Kernel       { return k.rt }
func (k *linuxKernel) AcceptFilter() (AcceptFilter, error) {
	return acceptmode.Open("")
}
func (k *linuxKernel) WatchLinks(ctx context.Context, hub *router.TrackHub) error {
	return router.WatchLinks(ctx, hub)
}

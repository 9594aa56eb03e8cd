package main

import (
	"context"

	"github.com/hachat/hachat/vrrp"
)

// Kernel is everything vrrpd needs from the operating system, so that the
// node logic (reload diffs, wiring) runs in tests against fakes.
type Kernel interface {
	// Listen opens the VRRP socket of an interface and family.
	Listen(ifname string, ipv6 bool) (vrrp.Conn, error)
	Addrs() vrrp.AddrManager
	Announcer() vrrp.Announcer
	// WatchLinks feeds link states into hub until ctx is done.
	WatchLinks(ctx context.Context, hub *vrrp.TrackHub) error
}

// linuxKernel is the real one.
type linuxKernel struct {
	addrs *vrrp.NetlinkAddrs
	ann   *vrrp.RawAnnouncer
}

func newLinuxKernel() *linuxKernel {
	return &linuxKernel{addrs: vrrp.NewNetlinkAddrs(nil), ann: vrrp.NewRawAnnouncer()}
}

func (k *linuxKernel) Listen(ifname string, ipv6 bool) (vrrp.Conn, error) {
	return vrrp.ListenConn(ifname, ipv6)
}
func (k *linuxKernel) Addrs() vrrp.AddrManager   { return k.addrs }
func (k *linuxKernel) Announcer() vrrp.Announcer { return k.ann }
func (k *linuxKernel) WatchLinks(ctx context.Context, hub *vrrp.TrackHub) error {
	return vrrp.WatchLinks(ctx, hub)
}

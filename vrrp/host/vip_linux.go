//go:build linux

package host

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// NetlinkAddrs is the AddrManager of the running kernel, over rtnetlink.
type NetlinkAddrs struct {
	h *netlink.Handle
}

// NewNetlinkAddrs uses h, or the current network namespace when h is nil.
func NewNetlinkAddrs(h *netlink.Handle) *NetlinkAddrs {
	if h == nil {
		h = &netlink.Handle{}
	}
	return &NetlinkAddrs{h: h}
}

func toAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	if p.Addr().Is6() {
		// No Duplicate Address Detection: the address must answer at once,
		// and during a hand-over the old Master briefly still holds it.
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// AddAddr implements AddrManager.
func (n *NetlinkAddrs) AddAddr(ifname string, p netip.Prefix) error {
	link, err := n.h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("vrrp: add %v to %s: %w", p, ifname, err)
	}
	if err := n.h.AddrAdd(link, toAddr(p)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("vrrp: add %v to %s: %w", p, ifname, err)
	}
	return nil
}

// DelAddr implements AddrManager.
func (n *NetlinkAddrs) DelAddr(ifname string, p netip.Prefix) error {
	link, err := n.h.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("vrrp: remove %v from %s: %w", p, ifname, err)
	}
	if err := n.h.AddrDel(link, toAddr(p)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("vrrp: remove %v from %s: %w", p, ifname, err)
	}
	return nil
}

// Addrs implements AddrManager.
func (n *NetlinkAddrs) Addrs(ifname string) ([]netip.Prefix, error) {
	link, err := n.h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: list addresses of %s: %w", ifname, err)
	}
	l, err := n.h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("vrrp: list addresses of %s: %w", ifname, err)
	}
	out := make([]netip.Prefix, 0, len(l))
	for _, a := range l {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
	}
	return out, nil
}

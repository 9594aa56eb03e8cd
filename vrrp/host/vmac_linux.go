//go:build linux

package host

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
)

// NetlinkVMAC is the VMACLinks of the running kernel, over rtnetlink, in
// the network namespace of the calling thread: the sysctls it sets under
// /proc/sys/net are that namespace's, so the links must be too.
type NetlinkVMAC struct {
	h *netlink.Handle
}

// NewNetlinkVMAC works in the current network namespace.
func NewNetlinkVMAC() *NetlinkVMAC { return &NetlinkVMAC{h: &netlink.Handle{}} }

// Ensure implements VMACLinks. The macvlan is in private mode, as
// keepalived's: it neither talks to nor hears other macvlans of base.
func (n *NetlinkVMAC) Ensure(base, name string, mac net.HardwareAddr) error {
	parent, err := n.h.LinkByName(base)
	if err != nil {
		return fmt.Errorf("vrrp: vmac %s: interface %s: %w", name, base, err)
	}
	if l, err := n.h.LinkByName(name); err == nil {
		mv, ok := l.(*netlink.Macvlan)
		if !ok || l.Attrs().ParentIndex != parent.Attrs().Index || !bytes.Equal(l.Attrs().HardwareAddr, mac) {
			return fmt.Errorf("vrrp: vmac %s: an interface of that name exists and is not a macvlan on %s with MAC %v", name, base, mac)
		}
		if err := n.h.LinkSetDown(mv); err != nil {
			return fmt.Errorf("vrrp: vmac %s: set down: %w", name, err)
		}
	} else {
		mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: parent.Attrs().Index, HardwareAddr: mac},
			Mode: netlink.MACVLAN_MODE_PRIVATE}
		if err := n.h.LinkAdd(mv); err != nil {
			return fmt.Errorf("vrrp: vmac %s: create macvlan on %s: %w", name, base, err)
		}
	}
	// The virtual addresses live on the macvlan, which hears every
	// broadcast base hears. For IPv4, arp_ignore=1 makes each answer ARP
	// only for the addresses on itself: base no longer answers for the
	// virtual addresses with its own MAC, the macvlan not for base's.
	// Replies to the clients leave by base (its route came first), so
	// base's own ARP requests must not name a virtual address as their
	// sender, or every host that hears one points the address at base's MAC
	// again: arp_announce=2 makes them name base's own address. rp_filter
	// off: requests come in on the macvlan, replies leave by base. IPv6
	// off: a link-local address would only be noise. For IPv6 (the MAC
	// says which, RFC 5798 §7.3) neighbour discovery already answers only
	// for the receiving interface's addresses and solicits from a
	// link-local one; the macvlan keeps IPv6 and skips duplicate address
	// detection, as every router's macvlan has the same link-local address.
	sysctls := []struct{ path, value string }{
		{raise("ipv4/conf/"+base+"/arp_ignore", "1"), "1"},
		{raise("ipv4/conf/"+base+"/arp_announce", "2"), "2"},
		{"ipv4/conf/" + name + "/arp_ignore", "1"},
		{"ipv4/conf/" + name + "/rp_filter", "0"},
		{"ipv6/conf/" + name + "/disable_ipv6", "1"},
	}
	if mac[4] == 2 {
		sysctls = []struct{ path, value string }{
			{"ipv6/conf/" + name + "/accept_dad", "0"},
			{"ipv6/conf/" + name + "/disable_ipv6", "0"},
		}
	}
	for _, s := range sysctls {
		if s.path == "" {
			continue
		}
		p := filepath.Join("/proc/sys/net", s.path)
		if err := os.WriteFile(p, []byte(s.value), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("vrrp: vmac %s: sysctl %s=%s: %w", name, p, s.value, err)
		}
	}
	return nil
}

// raise returns the sysctl path when its value is below min, and "" when it
// is already at least as strict (the operator's choice stands).
func raise(path, min string) string {
	b, err := os.ReadFile(filepath.Join("/proc/sys/net", path))
	if err == nil && string(bytes.TrimSpace(b)) >= min {
		return ""
	}
	return path
}

// SetUp implements VMACLinks.
func (n *NetlinkVMAC) SetUp(name string, up bool) error {
	l, err := n.h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("vrrp: vmac %s: %w", name, err)
	}
	if up {
		err = n.h.LinkSetUp(l)
	} else {
		err = n.h.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("vrrp: vmac %s: set up=%v: %w", name, up, err)
	}
	return nil
}

// Delete implements VMACLinks.
func (n *NetlinkVMAC) Delete(name string) error {
	l, err := n.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("vrrp: vmac %s: %w", name, err)
	}
	if err := n.h.LinkDel(l); err != nil {
		return fmt.Errorf("vrrp: vmac %s: delete: %w", name, err)
	}
	return nil
}

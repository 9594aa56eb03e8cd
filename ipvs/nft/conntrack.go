package nft

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// tcpEstablished is TCP_CONNTRACK_ESTABLISHED
// (include/uapi/linux/netfilter/nf_conntrack_tcp.h).
const tcpEstablished = 3

// ConntrackCounter counts connections in the kernel's conntrack table of
// the network namespace it was made in: a DNATed flow has the virtual
// address as its original destination and the real server as its reply
// source.
type ConntrackCounter struct{ h *netlink.Handle }

// NewConntrackCounter opens a netlink handle in the current network
// namespace; it stays there whichever thread uses it later.
func NewConntrackCounter() (*ConntrackCounter, error) {
	h, err := netlink.NewHandle(unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("conntrack: open netlink: %w", err)
	}
	return &ConntrackCounter{h: h}, nil
}

// Count implements ConnCounter.
func (c *ConntrackCounter) Count() (map[ConnKey]ConnCount, error) {
	out := map[ConnKey]ConnCount{}
	for _, fam := range []netlink.InetFamily{unix.AF_INET, unix.AF_INET6} {
		flows, err := c.h.ConntrackTableList(netlink.ConntrackTable, fam)
		if err != nil {
			return nil, fmt.Errorf("list conntrack: %w", err)
		}
		for _, f := range flows {
			vip, ok1 := netip.AddrFromSlice(f.Forward.DstIP)
			real, ok2 := netip.AddrFromSlice(f.Reverse.SrcIP)
			if !ok1 || !ok2 {
				continue
			}
			k := ConnKey{netip.AddrPortFrom(vip.Unmap(), f.Forward.DstPort), netip.AddrPortFrom(real.Unmap(), f.Reverse.SrcPort)}
			if k.VIP == k.Real {
				continue // not NATed
			}
			c := out[k]
			if tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP); ok && tcp.State == tcpEstablished {
				c.Active++
			} else {
				c.Inactive++
			}
			out[k] = c
		}
	}
	return out, nil
}

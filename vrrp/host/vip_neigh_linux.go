//go:build linux

package host

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// unresolvedStates are the neighbour states whose next solicitation waits
// for the retransmit timer (see UnresolvedNeighborFlusher).
const unresolvedStates = netlink.NUD_INCOMPLETE | netlink.NUD_FAILED

// FlushUnresolvedNeighbors implements UnresolvedNeighborFlusher over
// rtnetlink (RTM_GETNEIGH, RTM_DELNEIGH).
func (n *NetlinkAddrs) FlushUnresolvedNeighbors(ifname string) ([]netip.Addr, error) {
	link, err := n.h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: flush unresolved neighbours of %s: %w", ifname, err)
	}
	l, err := n.h.NeighList(link.Attrs().Index, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("vrrp: flush unresolved neighbours of %s: list: %w", ifname, err)
	}
	var deleted []netip.Addr
	var errs []error
	for _, e := range l {
		if e.State&unresolvedStates == 0 || e.State&netlink.NUD_PERMANENT != 0 {
			continue
		}
		a, ok := netip.AddrFromSlice(e.IP)
		if !ok {
			continue
		}
		e := e
		if err := n.h.NeighDel(&e); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("%v: %w", a.Unmap(), err))
			continue
		}
		deleted = append(deleted, a.Unmap())
	}
	if err := errors.Join(errs...); err != nil {
		return deleted, fmt.Errorf("vrrp: flush unresolved neighbours of %s: %w", ifname, err)
	}
	return deleted, nil
}

package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hachat/hachat/ipvs/table"
)

// Direct routing without IPVS: a netdev ingress rule on the balancer's
// interface picks a real server by hash (there is no conntrack at ingress,
// so numgen would scatter one connection's packets), rewrites the
// destination MAC to the real server's and the source MAC to the
// balancer's own, and sends the frame back out of the same interface. The
// real servers hold the VIP on lo (with arp_ignore=1, arp_announce=2) and
// answer the client directly. Without the source rewrite a bridge would
// learn the client's MAC on the balancer's port and lose the replies.
//
//	table netdev hachat_lb_dr {
//	  map svc0mac { type integer : ether_addr; elements = { 0 : <app2 MAC>, ... } }
//	  chain in_eth0 { type filter hook ingress device "eth0" priority 0;
//	    meta protocol ip ip daddr 198.18.1.100 meta l4proto tcp th dport 8080 counter
//	      ether daddr set jhash ip saddr . th sport mod 251 seed 0x... map @svc0mac
//	      ether saddr set <eth0 MAC> dup to "eth0" drop } }

// drTableSuffix names the netdev table: "<inet table>_dr".
const drTableSuffix = "_dr"

// Resolver finds the balancer's own interface and the real servers' MACs.
type Resolver interface {
	// Interface returns the index and MAC of the named interface.
	Interface(name string) (int, net.HardwareAddr, error)
	// Neighbour returns the MAC of a on interface index, asking the
	// kernel to resolve it when it is not known yet.
	Neighbour(index int, a netip.Addr) (net.HardwareAddr, error)
}

// ErrUnresolved means a real server's MAC is not known (yet).
var ErrUnresolved = errors.New("real server MAC not resolved")

// NetlinkResolver resolves through rtnetlink in the namespace it was made in.
type NetlinkResolver struct {
	h *netlink.Handle
	// Wait bounds how long Neighbour waits for an ARP answer.
	Wait time.Duration
}

// NewNetlinkResolver opens rtnetlink in the current network namespace.
func NewNetlinkResolver() (*NetlinkResolver, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	return &NetlinkResolver{h: h, Wait: time.Second}, nil
}

// Interface implements Resolver.
func (r *NetlinkResolver) Interface(name string) (int, net.HardwareAddr, error) {
	l, err := r.h.LinkByName(name)
	if err != nil {
		return 0, nil, fmt.Errorf("interface %s: %w", name, err)
	}
	return l.Attrs().Index, l.Attrs().HardwareAddr, nil
}

// Neighbour implements Resolver. An unknown neighbour is added as
// INCOMPLETE, which makes the kernel send ARP requests (or neighbour
// solicitations) for it.
func (r *NetlinkResolver) Neighbour(index int, a netip.Addr) (net.HardwareAddr, error) {
	deadline := time.Now().Add(r.Wait)
	asked := false
	family := unix.AF_INET
	if a.Is6() {
		family = unix.AF_INET6
	}
	for {
		ns, err := r.h.NeighList(index, family)
		if err != nil {
			return nil, fmt.Errorf("list neighbours: %w", err)
		}
		for _, n := range ns {
			ip, _ := netip.AddrFromSlice(n.IP)
			if ip.Unmap() == a && len(n.HardwareAddr) == 6 && n.State&(unix.NUD_REACHABLE|unix.NUD_STALE|unix.NUD_DELAY|unix.NUD_PROBE|unix.NUD_PERMANENT|unix.NUD_NOARP) != 0 {
				return n.HardwareAddr, nil
			}
		}
		if !asked {
			// NTF_USE with state INCOMPLETE starts resolution, like a
			// packet to the address would.
			r.h.NeighSet(&netlink.Neigh{LinkIndex: index, IP: a.AsSlice(), State: unix.NUD_INCOMPLETE, Flags: unix.NTF_USE})
			asked = true
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%v: %w (no answer to ARP or neighbour solicitation within %v)", a, ErrUnresolved, r.Wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isDR reports whether the service forwards by direct routing.
func isDR(s table.Service) bool {
	return len(s.Destinations) > 0 && s.Destinations[0].Forwarding == table.DR
}

// supportsDR reports what DR on nftables cannot do for s.
func supportsDR(s table.Service) error {
	switch {
	case s.Scheduler != "sh" && s.Scheduler != "mh":
		return fmt.Errorf("scheduler %q with forwarding dr: %w (DR on nftables has no conntrack and needs a hash: use sh or mh)", s.Scheduler, table.ErrUnsupported)
	}
	for _, d := range s.Destinations {
		if d.Forwarding != table.DR {
			return fmt.Errorf("forwarding %q mixed with dr in one service: %w", d.Forwarding, table.ErrUnsupported)
		}
	}
	return nil
}

// drDevice is what renderDR needs about one interface.
type drDevice struct {
	index int
	mac   net.HardwareAddr
}

// renderDR builds the netdev table for the DR services; nil when there is
// none. iface names each service's interface; macs maps real servers to
// their MACs (a server without one gets no bucket).
func renderDR(name string, svcs []table.Service, standby map[table.ServiceKey]bool,
	iface func(table.ServiceKey) string, dev map[string]drDevice, macs map[netip.Addr]net.HardwareAddr) (*ruleset, error) {
	rs := &ruleset{table: &nftables.Table{Name: name + drTableSuffix, Family: nftables.TableFamilyNetdev}}
	chains := map[string]*nftables.Chain{}
	svcs = slices.Clone(svcs)
	slices.SortFunc(svcs, func(a, b table.Service) int { return a.Address.Compare(b.Address) })
	n := 0
	for i, s := range svcs {
		if !isDR(s) {
			continue
		}
		n++
		ifname := iface(s.ServiceKey)
		d, ok := dev[ifname]
		if ifname == "" || !ok {
			return nil, fmt.Errorf("%v: forwarding dr needs the balancer's interface (the VRRP instance's): %q unknown", s.ServiceKey, ifname)
		}
		c := chains[ifname]
		if c == nil {
			c = &nftables.Chain{Name: "in_" + ifname, Table: rs.table, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter, Device: ifname}
			chains[ifname] = c
			rs.chains = append(rs.chains, c)
		}
		if standby[s.ServiceKey] {
			continue
		}
		dests := slices.Clone(s.Destinations)
		slices.SortFunc(dests, func(a, b table.Destination) int { return a.Address.Compare(b.Address) })
		var ws []weighted
		var live []table.Destination
		for _, dst := range dests {
			if _, ok := macs[dst.Address.Addr()]; ok {
				ws = append(ws, weighted{dst.Address, dst.Weight})
				live = append(live, dst)
			}
		}
		buckets := bucketsFor(s.Scheduler, ws)
		if len(buckets) == 0 {
			continue // nothing to send to: let the VIP's own stack answer (RST)
		}
		set := &nftables.Set{Table: rs.table, Name: fmt.Sprintf("svc%dmac", i), IsMap: true,
			KeyType: nftables.TypeInteger, DataType: nftables.TypeEtherAddr, KeyByteOrder: binaryutil.NativeEndian}
		var elems []nftables.SetElement
		for b, j := range buckets {
			elems = append(elems, nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(b)), Val: macs[live[j].Address.Addr()]})
		}
		port := make([]byte, 2)
		binary.BigEndian.PutUint16(port, s.Address.Port())
		idx := make([]byte, 4)
		binary.NativeEndian.PutUint32(idx, uint32(d.index))
		ethertype, daddrOff := []byte{0x08, 0x00}, uint32(16)
		if s.Is6() {
			ethertype, daddrOff = []byte{0x86, 0xdd}, 24
		}
		exprs := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: ethertype},
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: daddrOff, Len: uint32(s.Address.Addr().BitLen() / 8)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: s.Address.Addr().AsSlice()},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{l4proto(s.Protocol)}},
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: port},
			&expr.Counter{},
		}
		exprs = append(exprs, pick(s, len(buckets))...)
		exprs = append(exprs,
			&expr.Lookup{SourceRegister: reg3, DestRegister: reg1, IsDestRegSet: true, SetName: set.Name},
			&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: reg1, Base: expr.PayloadBaseLLHeader, Offset: 0, Len: 6},
			&expr.Immediate{Register: reg2, Data: d.mac},
			&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: reg2, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
			&expr.Immediate{Register: reg3, Data: idx},
			&expr.Dup{RegDev: reg3, IsRegDevSet: true},
			&expr.Verdict{Kind: expr.VerdictDrop},
		)
		rs.sets = append(rs.sets, setSpec{set: set, elems: elems, rule: len(rs.rules)})
		rs.rules = append(rs.rules, &nftables.Rule{Table: rs.table, Chain: c, Exprs: exprs})
	}
	if n == 0 {
		return nil, nil
	}
	return rs, nil
}

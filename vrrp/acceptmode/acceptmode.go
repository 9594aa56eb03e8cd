// Package acceptmode keeps a VRRP Master that does not own its virtual
// addresses from accepting packets addressed to them, as RFC 5798 §6.4.3
// asks when Accept_Mode is False, with one nftables table:
//
//	table inet hachat_vrrp {
//	    set vip4 { type ipv4_addr; elements = { 198.18.1.100 } }
//	    set vip6 { type ipv6_addr; elements = { 2001:2::100 } }
//	    chain input { type filter hook input priority 110; policy accept;
//	        iifname "lo" accept
//	        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
//	        ip daddr @vip4 counter drop comment "accept_mode"
//	        ip6 daddr @vip6 counter drop comment "accept_mode" } }
//
// The rules need not follow VRRP state: only the Master holds the
// addresses, so only there do packets to them reach the input hook. They
// leave alone what a balancer on the same host does with the addresses:
// nftables DNAT happens in prerouting and sends the packets to forward, and
// kernel IPVS takes its virtual services' packets at local-in priority
// 98-99, before this chain (110) sees them. Neighbour discovery for an IPv6
// address passes, or no host could reach the Master to be refused.
// Loopback passes: the RFC is about packets from the network, and local
// tools (health checks, the operator's curl) keep working.
package acceptmode

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// DefaultTable is the inet table's name.
const DefaultTable = "hachat_vrrp"

// priority runs the chain after IPVS's local-in hooks (NF_IP_PRI_NAT_SRC-2
// and -1, 98 and 99).
const priority = 110

// Filter owns the table.
type Filter struct {
	conn *nftables.Conn
	name string
}

// Open connects to nftables in the current network namespace; the
// connection stays there whichever thread uses it later. An empty table
// name means DefaultTable.
func Open(table string) (*Filter, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, fmt.Errorf("acceptmode: nftables: %w", err)
	}
	if table == "" {
		table = DefaultTable
	}
	return &Filter{conn: c, name: table}, nil
}

// Set makes addrs the addresses to refuse, replacing the table in one
// transaction; no addresses removes the table.
func (f *Filter) Set(addrs []netip.Addr) error {
	t := &nftables.Table{Name: f.name, Family: nftables.TableFamilyINet}
	// Add, then delete: the add makes the delete succeed when the table
	// is not there.
	f.conn.AddTable(t)
	f.conn.DelTable(t)
	if len(addrs) > 0 {
		f.conn.AddTable(t)
		if err := f.render(t, addrs); err != nil {
			return err
		}
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("acceptmode: program table %s: %w", f.name, err)
	}
	return nil
}

// Close removes the table and closes the connection.
func (f *Filter) Close() error {
	err := f.Set(nil)
	return errors.Join(err, f.conn.CloseLasting())
}

// Dropped returns the packets refused so far, by address family ("ipv4",
// "ipv6").
func (f *Filter) Dropped() (map[string]uint64, error) {
	t := &nftables.Table{Name: f.name, Family: nftables.TableFamilyINet}
	rules, err := f.conn.GetRules(t, &nftables.Chain{Name: "input", Table: t})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return map[string]uint64{}, nil
		}
		return nil, fmt.Errorf("acceptmode: read table %s: %w", f.name, err)
	}
	out := map[string]uint64{}
	for _, r := range rules {
		fam := familyOf(r.UserData)
		if fam == "" {
			continue
		}
		for _, e := range r.Exprs {
			if c, ok := e.(*expr.Counter); ok {
				out[fam] += c.Packets
			}
		}
	}
	return out, nil
}

func (f *Filter) render(t *nftables.Table, addrs []netip.Addr) error {
	accept := nftables.ChainPolicyAccept
	prio := nftables.ChainPriority(priority)
	ch := f.conn.AddChain(&nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: &prio, Policy: &accept})
	f.conn.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: acceptLoopback()})
	for _, typ := range []byte{135, 136} { // neighbour solicitation, advertisement
		f.conn.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: acceptICMPv6(typ)})
	}
	for _, fam := range families {
		var elems []nftables.SetElement
		for _, a := range addrs {
			if a.Is4() == (fam.name == "ipv4") {
				elems = append(elems, nftables.SetElement{Key: a.AsSlice()})
			}
		}
		if len(elems) == 0 {
			continue
		}
		set := &nftables.Set{Table: t, Name: fam.set, KeyType: fam.keyType}
		if err := f.conn.AddSet(set, elems); err != nil {
			return fmt.Errorf("acceptmode: set %s: %w", fam.set, err)
		}
		f.conn.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: dropTo(fam, set), UserData: []byte(fam.name)})
	}
	return nil
}

type family struct {
	name, set string
	nfproto   byte
	daddrOff  uint32
	addrLen   uint32
	keyType   nftables.SetDatatype
}

var families = []family{
	{"ipv4", "vip4", unix.NFPROTO_IPV4, 16, 4, nftables.TypeIPAddr},
	{"ipv6", "vip6", unix.NFPROTO_IPV6, 24, 16, nftables.TypeIP6Addr},
}

func familyOf(userData []byte) string {
	if i := slices.IndexFunc(families, func(f family) bool { return f.name == string(userData) }); i >= 0 {
		return families[i].name
	}
	return ""
}

func acceptLoopback() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname("lo")},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

func acceptICMPv6(typ byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV6}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{typ}},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

func dropTo(fam family, set *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam.nfproto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: fam.daddrOff, Len: fam.addrLen},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// ifname is an interface name as the kernel compares it: NUL-padded to
// IFNAMSIZ.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

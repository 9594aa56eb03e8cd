package nft

import (
	"encoding/binary"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/hachat/hachat/ipvs/table"
)

// The reply guard keeps NAT sessions alive across a balancer failover.
//
// Conntrack is not synchronised between balancers. After a takeover the new
// master often sees a real server's segment of an established session before
// the client's: conntrack (in liberal/loose mode) books it as a new flow that
// no nat rule matches, so it is forwarded with the real server's own address,
// the client answers with RST and the session dies. Dropping a real server's
// service-port packet that opens a new conntrack entry costs one
// retransmission instead: the client's next segment creates the entry through
// the dispatch rule (consistent hashing picks the same real server), and the
// server's retransmission then matches it and is un-NATed. Measured in the
// lab: about 90 % of chat sessions broke at a takeover without this rule,
// none with it.
//
// One rule per address family looks the packet up in a set of the real
// servers, so the cost per forwarded packet does not grow with their number:
//
//	set guard4 { type ipv4_addr . inet_proto . inet_service; elements = { 198.18.2.21 . tcp . 6667, ... } }
//	chain guard { type filter hook forward priority -10; policy accept;
//	    ct state new ip saddr . meta l4proto . th sport @guard4 counter drop
//	    ct state new ip6 saddr . meta l4proto . th sport @guard6 counter drop }
func guardChain(rs *ruleset, svcs []table.Service) {
	var c *nftables.Chain
	for _, fam := range []struct {
		name    string
		v6      bool
		keyType nftables.SetDatatype
	}{
		{"guard4", false, nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)},
		{"guard6", true, nftables.MustConcatSetType(nftables.TypeIP6Addr, nftables.TypeInetProto, nftables.TypeInetService)},
	} {
		elems := guardElems(svcs, fam.v6)
		if len(elems) == 0 {
			continue
		}
		if c == nil {
			prio := nftables.ChainPriority(-10) // after conntrack (-200), before the default filter (0)
			accept := nftables.ChainPolicyAccept
			c = &nftables.Chain{Name: "guard", Table: rs.table, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookForward, Priority: &prio, Policy: &accept}
			rs.chains = append(rs.chains, c)
		}
		set := &nftables.Set{Table: rs.table, Name: fam.name, KeyType: fam.keyType, Concatenation: true}
		rs.sets = append(rs.sets, setSpec{set: set, elems: elems, rule: len(rs.rules)})
		rs.rules = append(rs.rules, &nftables.Rule{Table: rs.table, Chain: c, Exprs: guard(fam.v6, set.Name)})
	}
}

// guardElems are the (address, protocol, port) keys of the NAT real servers
// of one family, each once: the key's parts are padded to 4-byte registers.
func guardElems(svcs []table.Service, v6 bool) []nftables.SetElement {
	seen := map[string]bool{}
	var out []nftables.SetElement
	for _, s := range svcs {
		if isDR(s) { // DR replies never cross the balancer
			continue
		}
		for _, d := range s.Destinations {
			if d.Address.Addr().Is6() != v6 {
				continue
			}
			key := append(d.Address.Addr().AsSlice(), l4proto(s.Protocol), 0, 0, 0)
			key = binary.BigEndian.AppendUint16(key, d.Address.Port())
			key = append(key, 0, 0)
			if !seen[string(key)] {
				seen[string(key)] = true
				out = append(out, nftables.SetElement{Key: key})
			}
		}
	}
	return out
}

// guard matches a packet that opens a new conntrack entry and comes from a
// real server's service port, and drops it.
func guard(v6 bool, set string) []expr.Any {
	fam, saddrOff, addrLen := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4)
	protoReg, portReg := uint32(reg32x01), uint32(reg32x00+2)
	if v6 {
		fam, saddrOff, addrLen = unix.NFPROTO_IPV6, 8, 16
		protoReg, portReg = reg32x04, reg32x04+1
	}
	return []expr.Any{
		&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{0, 0, 0, 0}},
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{fam}},
		&expr.Payload{DestRegister: reg32x00, Base: expr.PayloadBaseNetworkHeader, Offset: saddrOff, Len: addrLen},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: protoReg},
		&expr.Payload{DestRegister: portReg, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Lookup{SourceRegister: reg32x00, SetName: set},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

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
//	chain guard { type filter hook forward priority -10; policy accept;
//	    ct state new meta nfproto ipv4 meta l4proto tcp ip saddr 198.18.2.21 th sport 6667 counter drop ... }
func guardChain(rs *ruleset, svcs []table.Service) {
	var rules [][]expr.Any
	for _, s := range svcs {
		if isDR(s) { // DR replies never cross the balancer
			continue
		}
		for _, d := range s.Destinations {
			rules = append(rules, guard(s.Protocol, d))
		}
	}
	if len(rules) == 0 {
		return
	}
	prio := nftables.ChainPriority(-10) // after conntrack (-200), before the default filter (0)
	accept := nftables.ChainPolicyAccept
	c := &nftables.Chain{Name: "guard", Table: rs.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: &prio, Policy: &accept}
	rs.chains = append(rs.chains, c)
	for _, e := range rules {
		rs.rules = append(rs.rules, &nftables.Rule{Table: rs.table, Chain: c, Exprs: e})
	}
}

// guard matches a packet from real server d's service port that opens a new
// conntrack entry, and drops it.
func guard(proto table.Protocol, d table.Destination) []expr.Any {
	fam, saddrOff := byte(unix.NFPROTO_IPV4), uint32(12)
	if d.Address.Addr().Is6() {
		fam, saddrOff = unix.NFPROTO_IPV6, 8
	}
	a := d.Address.Addr().AsSlice()
	port := make([]byte, 2)
	binary.BigEndian.PutUint16(port, d.Address.Port())
	return []expr.Any{
		&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{0, 0, 0, 0}},
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{fam}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{l4proto(proto)}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: saddrOff, Len: uint32(len(a))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: a},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: port},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

package nft

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/hachat/hachat/ipvs/table"
)

// The rules, for one NAT service VIP:80/tcp with scheduler mh and two real
// servers, look like this in `nft list table inet hachat_lb` (abridged):
//
//	chain prerouting { type nat hook prerouting priority dstnat; policy accept;
//	    meta nfproto ipv4 meta l4proto tcp ip daddr 198.18.1.100 th dport 80 jump svc0 }
//	chain output { type nat hook output priority -100; ... the same dispatch ... }
//	chain svc0 { counter jhash ip saddr . th sport mod 251 seed 0x... vmap @svc0map comment "{...}" }
//	map svc0map { type integer : verdict; elements = { 0 : goto svc0rs1, 1 : goto svc0rs0, ... } }
//	chain svc0rs0 { counter dnat ip to 198.18.2.21:80 comment "{...}" }
//	chain svc0rs1 { counter dnat ip to 198.18.2.22:80 comment "{...}" }
//
// The dispatch rule is left out while the service is on standby (its VRRP
// instance is not MASTER). The JSON comments carry the model, so that
// Services reads back exactly what was programmed. Only the first packet of
// a connection traverses a nat chain, so the counters count connections.

const (
	regVerdict = unix.NFT_REG_VERDICT
	reg1       = unix.NFT_REG_1    // 16 bytes: NFT_REG32_00..03
	reg2       = unix.NFT_REG_2    // NFT_REG32_04..07
	reg3       = unix.NFT_REG_3    // NFT_REG32_08..11: the bucket number
	reg32x00   = unix.NFT_REG32_00 // = reg1, addressed in 4-byte words
	reg32x01   = unix.NFT_REG32_00 + 1
	reg32x04   = unix.NFT_REG32_00 + 4
)

// svcRecord and destRecord are the JSON comments of the rules.
type svcRecord struct {
	Address   string `json:"vs"`
	Protocol  string `json:"proto"`
	Scheduler string `json:"sched"`
}

type destRecord struct {
	Address    string `json:"rs"`
	Weight     int    `json:"w"`
	Forwarding string `json:"fwd"`
}

// ruleset is everything one table holds, in the order it must be added.
type ruleset struct {
	table  *nftables.Table
	chains []*nftables.Chain
	sets   []setSpec
	rules  []*nftables.Rule
}

type setSpec struct {
	set   *nftables.Set
	elems []nftables.SetElement
	// rule is the index in rules of the rule that looks the set up: the set
	// must be added before it, and the lookup needs the set's ID.
	rule int
}

// render builds the table for svcs. Services in standby get their chains
// (so that their counters and model survive) but no dispatch rule.
func render(name string, svcs []table.Service, standby map[table.ServiceKey]bool) (*ruleset, error) {
	rs := &ruleset{table: &nftables.Table{Name: name, Family: nftables.TableFamilyINet}}
	pre := &nftables.Chain{Name: "prerouting", Table: rs.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	out := &nftables.Chain{Name: "output", Table: rs.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	rs.chains = append(rs.chains, pre, out)
	svcs = slices.Clone(svcs)
	slices.SortFunc(svcs, func(a, b table.Service) int { return a.Address.Compare(b.Address) })
	for i, s := range svcs {
		if err := supports(s); err != nil {
			return nil, fmt.Errorf("%v: %w", s.ServiceKey, err)
		}
		svcChain := &nftables.Chain{Name: fmt.Sprintf("svc%d", i), Table: rs.table}
		rs.chains = append(rs.chains, svcChain)
		dests := slices.Clone(s.Destinations)
		slices.SortFunc(dests, func(a, b table.Destination) int { return a.Address.Compare(b.Address) })
		var ws []weighted
		for j, d := range dests {
			c := &nftables.Chain{Name: fmt.Sprintf("svc%drs%d", i, j), Table: rs.table}
			rs.chains = append(rs.chains, c)
			ud, _ := json.Marshal(destRecord{Address: d.Address.String(), Weight: d.Weight, Forwarding: string(d.Forwarding)})
			exprs := dnat(d)
			if isDR(s) {
				// DR happens in the netdev table (dr.go); this chain
				// only keeps the model.
				exprs = []expr.Any{&expr.Counter{}}
			}
			rs.rules = append(rs.rules, &nftables.Rule{Table: rs.table, Chain: c, Exprs: exprs, UserData: comment(ud)})
			ws = append(ws, weighted{d.Address, d.Weight})
		}
		ud, _ := json.Marshal(svcRecord{Address: s.Address.String(), Protocol: string(s.Protocol), Scheduler: s.Scheduler})
		exprs := []expr.Any{&expr.Counter{}}
		buckets := bucketsFor(s.Scheduler, ws)
		if isDR(s) {
			buckets = nil
		}
		if len(buckets) > 0 {
			set := &nftables.Set{Table: rs.table, Name: fmt.Sprintf("svc%dmap", i), IsMap: true,
				KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict, KeyByteOrder: binaryutil.NativeEndian}
			var elems []nftables.SetElement
			for b, j := range buckets {
				elems = append(elems, nftables.SetElement{
					Key:         binaryutil.NativeEndian.PutUint32(uint32(b)),
					VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: fmt.Sprintf("svc%drs%d", i, j)},
				})
			}
			exprs = append(exprs, pick(s, len(buckets))...)
			exprs = append(exprs, &expr.Lookup{SourceRegister: reg3, DestRegister: regVerdict, IsDestRegSet: true, SetName: set.Name})
			rs.sets = append(rs.sets, setSpec{set: set, elems: elems, rule: len(rs.rules)})
		}
		rs.rules = append(rs.rules, &nftables.Rule{Table: rs.table, Chain: svcChain, Exprs: exprs, UserData: comment(ud)})
		if !standby[s.ServiceKey] && !isDR(s) {
			for _, base := range []*nftables.Chain{pre, out} {
				rs.rules = append(rs.rules, &nftables.Rule{Table: rs.table, Chain: base, Exprs: match(s, svcChain.Name)})
			}
		}
	}
	guardChain(rs, svcs)
	return rs, nil
}

func comment(b []byte) []byte { return userdata.AppendString(nil, userdata.TypeComment, string(b)) }

func bucketsFor(sched string, ws []weighted) []int {
	switch sched {
	case "rr":
		return rrBuckets(ws)
	case "wrr":
		return wrrBuckets(ws)
	case "sh":
		return shBucketsFor(ws)
	case "mh":
		return mhBucketsFor(ws)
	}
	return nil
}

// pick loads the bucket number into reg3: numgen for rr and wrr, a Jenkins
// hash with a seed fixed by the service's key for sh (source address, like
// IPVS sh) and mh (source address and port, like IPVS mh with mh-port).
func pick(s table.Service, n int) []expr.Any {
	switch s.Scheduler {
	case "rr", "wrr":
		return []expr.Any{&expr.Numgen{Register: reg3, Modulus: uint32(n), Type: unix.NFT_NG_INCREMENTAL}}
	}
	saddrOff, addrLen := uint32(12), uint32(4)
	if s.Is6() {
		saddrOff, addrLen = 8, 16
	}
	// The kernel draws a random seed when none is given; 0 means "none".
	seed := serviceSeed(s.ServiceKey.String()) | 1
	out := []expr.Any{&expr.Payload{DestRegister: reg32x00, Base: expr.PayloadBaseNetworkHeader, Offset: saddrOff, Len: addrLen}}
	length := addrLen
	if s.Scheduler == "mh" {
		portReg := uint32(reg32x01)
		if s.Is6() {
			portReg = reg32x04
		}
		out = append(out, &expr.Payload{DestRegister: portReg, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2})
		length += 4 // the port's register word, zero-padded by the kernel
	}
	return append(out, &expr.Hash{SourceRegister: reg32x00, DestRegister: reg3, Length: length,
		Modulus: uint32(n), Seed: seed, Type: expr.HashTypeJenkins})
}

// match is the dispatch rule: family, protocol, address and port, then jump.
func match(s table.Service, chain string) []expr.Any {
	fam, daddrOff := byte(unix.NFPROTO_IPV4), uint32(16)
	if s.Is6() {
		fam, daddrOff = unix.NFPROTO_IPV6, 24
	}
	a := s.Address.Addr().AsSlice()
	port := make([]byte, 2)
	binary.BigEndian.PutUint16(port, s.Address.Port())
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{fam}},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{l4proto(s.Protocol)}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: daddrOff, Len: uint32(len(a))},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: a},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: port},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chain},
	}
}

// dnat is a real server's chain: count, then rewrite the destination.
func dnat(d table.Destination) []expr.Any {
	fam := uint32(unix.NFPROTO_IPV4)
	if d.Address.Addr().Is6() {
		fam = unix.NFPROTO_IPV6
	}
	port := make([]byte, 2)
	binary.BigEndian.PutUint16(port, d.Address.Port())
	return []expr.Any{
		&expr.Counter{},
		&expr.Immediate{Register: reg1, Data: d.Address.Addr().AsSlice()},
		&expr.Immediate{Register: reg2, Data: port},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam, RegAddrMin: reg1, RegProtoMin: reg2},
	}
}

func l4proto(p table.Protocol) byte {
	switch p {
	case table.UDP:
		return unix.IPPROTO_UDP
	case table.SCTP:
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}

// Schedulers and forwarding methods of this data plane.
var (
	Schedulers = []string{"rr", "wrr", "sh", "mh"}
	Forwarding = []table.Forwarding{table.NAT, table.DR}
)

// supports reports what this data plane cannot do for s.
func supports(s table.Service) error {
	switch {
	case s.FWMark != 0:
		return fmt.Errorf("fwmark services: %w (nftables balances address:port services only)", table.ErrUnsupported)
	case s.Protocol != table.TCP && s.Protocol != table.UDP:
		return fmt.Errorf("protocol %s: %w (tcp and udp only)", s.Protocol, table.ErrUnsupported)
	case !slices.Contains(Schedulers, s.Scheduler):
		return fmt.Errorf("scheduler %q: %w (nftables has %v; lc, wlc and the like need per-server connection counts)", s.Scheduler, table.ErrUnsupported, Schedulers)
	case s.Persistence > 0:
		return fmt.Errorf("persistence: %w (use scheduler sh)", table.ErrUnsupported)
	case isDR(s):
		if err := supportsDR(s); err != nil {
			return err
		}
	}
	for _, d := range s.Destinations {
		if !slices.Contains(Forwarding, d.Forwarding) {
			return fmt.Errorf("forwarding %q of %v: %w (nftables has %v)", d.Forwarding, d.Address, table.ErrUnsupported, Forwarding)
		}
		if d.UpperThreshold > 0 || d.LowerThreshold > 0 {
			return fmt.Errorf("connection thresholds of %v: %w", d.Address, table.ErrUnsupported)
		}
		if d.Address.Addr().Is6() != s.Is6() {
			return fmt.Errorf("real server %v of another address family: %w", d.Address, table.ErrUnsupported)
		}
	}
	return nil
}

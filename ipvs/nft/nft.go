// Package nft is the nftables data plane of the balancer, for kernels
// without IPVS: NAT-mode virtual services as DNAT rules
// (github.com/google/nftables; nft(8) "NAT STATEMENTS", "NUMGEN", "HASH"),
// with rr and wrr by numgen and sh and mh by a Jenkins hash over a bucket
// table, and conntrack doing the rest: a connection keeps its real server
// for its life, whatever happens to the rules.
//
// Every change replaces the whole table in one netlink transaction, which
// the kernel applies atomically; conntrack entries and their NAT bindings
// are not touched, so established connections continue. When the table in
// the kernel already matches, nothing is written.
//
// For established flows to survive a balancer failover without conntrack
// sync, both balancers must send a flow to the same real server (the hash
// schedulers do: the bucket tables and seeds depend only on the config) and
// the new master must accept mid-stream packets of flows it has not seen
// (nf_conntrack_tcp_loose=1, the default) and, on failback, packets whose
// stale window tracking would mark them INVALID
// (nf_conntrack_tcp_be_liberal=1). Open sets the latter.
package nft

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"

	"github.com/hachat/hachat/ipvs/table"
)

// DefaultTable is the name of the inet table the data plane owns.
const DefaultTable = "hachat_lb"

// DefaultConntrackEvery: connection counts are at most this old, like the
// 2 s estimator behind IPVS's rates.
const DefaultConntrackEvery = 2 * time.Second

// Options configures the data plane.
type Options struct {
	// Table is the inet table's name; empty means DefaultTable.
	Table string
	// NoSysctls leaves ip_forward, conntrack liberal mode and ICMP
	// redirects alone (for tests that set them themselves).
	NoSysctls bool
	// Conntrack counts connections per real server; nil means the kernel's
	// conntrack table (ConntrackCounter).
	Conntrack ConnCounter
	// ConntrackEvery bounds how often the conntrack table is dumped to
	// count connections; zero means DefaultConntrackEvery. A busy
	// balancer's table holds hundreds of thousands of entries, and the
	// reconciler reads the data plane every few seconds.
	ConntrackEvery time.Duration
	// Conn, when set, is used instead of a new netlink connection.
	Conn *nftables.Conn
	// DRInterface names the interface a DR service's traffic arrives on
	// (and leaves by): the VRRP instance's. Needed only for DR.
	DRInterface func(table.ServiceKey) string
	// Resolver finds interface and real-server MACs for DR; nil means
	// rtnetlink in the namespace Open runs in.
	Resolver Resolver
}

// ConnCounter counts the active (TCP established) and inactive (any other
// state) connections per virtual service and real server.
type ConnCounter interface {
	Count() (map[ConnKey]ConnCount, error)
}

// ConnKey is a virtual address and a real server address.
type ConnKey struct {
	VIP, Real netip.AddrPort
}

// ConnCount is what IPVS calls ActiveConn and InActConn.
type ConnCount struct{ Active, Inactive uint32 }

// DataPlane implements table.DataPlane and table.RoleAware on nftables.
type DataPlane struct {
	conn  *nftables.Conn
	name  string
	ct    ConnCounter
	mu    sync.Mutex
	stand map[table.ServiceKey]bool
	// base keeps the counters of rules that a rewrite replaced, so that
	// the totals do not drop on every change.
	base  map[string]uint64
	rates map[string]rateSample
	// DR: where the traffic arrives, how to find MACs, and which real
	// servers the last write could not resolve (reported with weight -1,
	// so that the reconciler tries again).
	drIface    func(table.ServiceKey) string
	resolver   Resolver
	unresolved map[string]bool
	// The last conntrack count and when it was taken.
	ctEvery  time.Duration
	ctAt     time.Time
	ctCounts map[ConnKey]ConnCount
}

type rateSample struct {
	at    time.Time
	conns uint64
	rate  uint64
}

// Sysctls are what Open sets, per network namespace.
var Sysctls = map[string]string{
	"net/ipv4/ip_forward":                       "1",
	"net/netfilter/nf_conntrack_tcp_be_liberal": "1",
	"net/ipv4/conf/all/send_redirects":          "0",
	"net/ipv4/conf/default/send_redirects":      "0",
	"net/netfilter/nf_conntrack_tcp_loose":      "1",
	"net/ipv6/conf/all/forwarding":              "1",
}

// Open connects to nftables in the current network namespace and, unless
// told not to, sets the sysctls the data plane depends on.
func Open(opts Options) (*DataPlane, error) {
	d := &DataPlane{conn: opts.Conn, name: opts.Table, ct: opts.Conntrack,
		stand: map[table.ServiceKey]bool{}, base: map[string]uint64{}, rates: map[string]rateSample{},
		drIface: opts.DRInterface, resolver: opts.Resolver, unresolved: map[string]bool{}, ctEvery: opts.ConntrackEvery}
	if d.ctEvery <= 0 {
		d.ctEvery = DefaultConntrackEvery
	}
	if d.drIface == nil {
		d.drIface = func(table.ServiceKey) string { return "" }
	}
	if d.resolver == nil {
		r, err := NewNetlinkResolver()
		if err != nil {
			return nil, fmt.Errorf("nftables: %w", err)
		}
		d.resolver = r
	}
	if d.name == "" {
		d.name = DefaultTable
	}
	if d.ct == nil {
		ct, err := NewConntrackCounter()
		if err != nil {
			return nil, fmt.Errorf("nftables: %w", err)
		}
		d.ct = ct
	}
	if d.conn == nil {
		// A lasting connection keeps its socket in the namespace it was
		// opened in, whichever thread uses it later.
		c, err := nftables.New(nftables.AsLasting())
		if err != nil {
			return nil, fmt.Errorf("nftables: open netlink: %w", err)
		}
		d.conn = c
	}
	if _, err := d.conn.ListTablesOfFamily(nftables.TableFamilyINet); err != nil {
		return nil, fmt.Errorf("nftables: list tables (is nf_tables in this kernel?): %w", err)
	}
	if !opts.NoSysctls {
		keys := maps.Clone(Sysctls)
		// send_redirects is OR-ed over "all" and the interface: existing
		// interfaces need it off too. A one-armed NAT balancer forwards
		// out of the interface a packet came in on, which otherwise sends
		// an ICMP redirect for every new connection.
		ifs, _ := filepath.Glob("/proc/sys/net/ipv4/conf/*/send_redirects")
		for _, p := range ifs {
			keys[strings.TrimPrefix(p, "/proc/sys/")] = "0"
		}
		for k, v := range keys {
			if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("nftables: sysctl %s=%s: %w", strings.ReplaceAll(k, "/", "."), v, err)
			}
		}
	}
	// Start with what the kernel holds: a restarted vrrpd takes over the
	// table (and its standby state) without rewriting it.
	if cur, err := d.read(); err == nil {
		for _, s := range cur {
			if d.standby(s) {
				d.stand[s.ServiceKey] = true
			}
		}
	}
	return d, nil
}

// standby reports whether s, as read back, is on standby. A NAT service is
// when prerouting does not jump to it. A DR service never has a jump (its
// rules live in the netdev table), so its state is the one last written;
// reading it from the jumps made every reconcile rewrite the whole table.
func (d *DataPlane) standby(s readService) bool {
	if isDR(s.Spec()) {
		return d.stand[s.ServiceKey]
	}
	return s.standby
}

// Name implements table.DataPlane.
func (d *DataPlane) Name() string { return "nftables" }

// Close implements table.DataPlane; the rules stay.
func (d *DataPlane) Close() error { return d.conn.CloseLasting() }

// Supports implements table.DataPlane.
func (d *DataPlane) Supports(s table.Service) error { return supports(s) }

// read is one service read back from the kernel's table.
type readService struct {
	table.ServiceState
	standby bool
}

// read lists the table's services with raw counters (no base, no conntrack).
func (d *DataPlane) read() ([]readService, error) {
	t := &nftables.Table{Name: d.name, Family: nftables.TableFamilyINet}
	chains, err := d.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("nftables: list chains: %w", err)
	}
	byName := map[string]*nftables.Chain{}
	for _, c := range chains {
		if c.Table.Name == d.name {
			byName[c.Name] = c
		}
	}
	if len(byName) == 0 {
		return nil, nil
	}
	jumps := map[string]bool{}
	if pre := byName["prerouting"]; pre != nil {
		rules, err := d.conn.GetRules(t, pre)
		if err != nil {
			return nil, fmt.Errorf("nftables: list prerouting rules: %w", err)
		}
		for _, r := range rules {
			for _, e := range r.Exprs {
				if v, ok := e.(*expr.Verdict); ok && v.Kind == expr.VerdictJump {
					jumps[v.Chain] = true
				}
			}
		}
	}
	var out []readService
	for i := 0; ; i++ {
		c := byName[fmt.Sprintf("svc%d", i)]
		if c == nil {
			break
		}
		rules, err := d.conn.GetRules(t, c)
		if err != nil || len(rules) != 1 {
			return nil, fmt.Errorf("nftables: chain %s: %d rules, %v", c.Name, len(rules), err)
		}
		var rec svcRecord
		if err := decodeComment(rules[0].UserData, &rec); err != nil {
			return nil, fmt.Errorf("nftables: chain %s: %w", c.Name, err)
		}
		addr, err := netip.ParseAddrPort(rec.Address)
		if err != nil {
			return nil, fmt.Errorf("nftables: chain %s: %w", c.Name, err)
		}
		s := readService{standby: !jumps[c.Name]}
		s.Address, s.Protocol, s.Scheduler = addr, table.Protocol(rec.Protocol), rec.Scheduler
		s.Stats.Connections = counter(rules[0])
		for j := 0; ; j++ {
			rc := byName[fmt.Sprintf("svc%drs%d", i, j)]
			if rc == nil {
				break
			}
			rr, err := d.conn.GetRules(t, rc)
			if err != nil || len(rr) != 1 {
				return nil, fmt.Errorf("nftables: chain %s: %d rules, %v", rc.Name, len(rr), err)
			}
			var dr destRecord
			if err := decodeComment(rr[0].UserData, &dr); err != nil {
				return nil, fmt.Errorf("nftables: chain %s: %w", rc.Name, err)
			}
			a, err := netip.ParseAddrPort(dr.Address)
			if err != nil {
				return nil, fmt.Errorf("nftables: chain %s: %w", rc.Name, err)
			}
			ds := table.DestinationState{Destination: table.Destination{Address: a, Weight: dr.Weight, Forwarding: table.Forwarding(dr.Forwarding)}}
			ds.Stats.Connections = counter(rr[0])
			s.Dests = append(s.Dests, ds)
		}
		out = append(out, s)
	}
	return out, nil
}

func decodeComment(ud []byte, v any) error {
	s, ok := userdata.GetString(ud, userdata.TypeComment)
	if !ok {
		return errors.New("rule has no comment with our model")
	}
	return json.Unmarshal([]byte(s), v)
}

func counter(r *nftables.Rule) uint64 {
	for _, e := range r.Exprs {
		if c, ok := e.(*expr.Counter); ok {
			return c.Packets
		}
	}
	return 0
}

func statKey(svc table.ServiceKey, rs netip.AddrPort) string { return svc.String() + "|" + rs.String() }

// Model implements table.CountsOnDemand: the services as Services returns
// them, without conntrack's active and inactive counts. It still samples
// the rule counters, so the rates stay fresh between status reads.
func (d *DataPlane) Model() ([]table.ServiceState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.read()
	if err != nil {
		return nil, err
	}
	return d.states(cur, nil, time.Now()), nil
}

// Services implements table.DataPlane: the model from the rules' comments,
// connection totals from their counters and active/inactive counts from
// conntrack.
func (d *DataPlane) Services() ([]table.ServiceState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.read()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if d.ctCounts == nil || now.Sub(d.ctAt) >= d.ctEvery {
		counts, err := d.ct.Count()
		if err != nil {
			return nil, fmt.Errorf("nftables: conntrack: %w", err)
		}
		d.ctCounts, d.ctAt = counts, now
	}
	return d.states(cur, d.ctCounts, now), nil
}

// states turns what read found into the services' states: connection
// totals with their base, rates, and active and inactive counts when
// counts (a conntrack count) is not nil.
func (d *DataPlane) states(cur []readService, counts map[ConnKey]ConnCount, now time.Time) []table.ServiceState {
	out := make([]table.ServiceState, len(cur))
	for i, s := range cur {
		st := s.ServiceState
		k := statKey(st.ServiceKey, netip.AddrPort{})
		st.Stats.Connections += d.base[k]
		st.Stats.CPS = d.rate(k, now, st.Stats.Connections)
		for j := range st.Dests {
			ds := &st.Dests[j]
			k := statKey(st.ServiceKey, ds.Address)
			ds.Stats.Connections += d.base[k]
			ds.Stats.CPS = d.rate(k, now, ds.Stats.Connections)
			if counts != nil {
				c := counts[ConnKey{st.Address, ds.Address}]
				ds.ActiveConns, ds.InactiveConns = c.Active, c.Inactive
			}
			if d.unresolved[k] {
				ds.Weight = -1 // not programmed: its MAC is unknown
			}
		}
		out[i] = st
	}
	return out
}

// rate is connections per second since the previous sample at least a
// second old, like IPVS's estimator.
func (d *DataPlane) rate(k string, now time.Time, total uint64) uint64 {
	p, ok := d.rates[k]
	if !ok || total < p.conns {
		d.rates[k] = rateSample{at: now, conns: total}
		return 0
	}
	if dt := now.Sub(p.at); dt >= time.Second {
		r := uint64(float64(total-p.conns) / dt.Seconds())
		d.rates[k] = rateSample{at: now, conns: total, rate: r}
		return r
	}
	return p.rate
}

// Apply implements table.DataPlane: the ops are applied to the model read
// from the kernel and the table is replaced in one transaction.
func (d *DataPlane) Apply(ops []table.Op) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur, err := d.read()
	if err != nil {
		return err
	}
	model := make([]table.Service, 0, len(cur))
	for _, s := range cur {
		model = append(model, s.Spec())
	}
	for _, op := range ops {
		if model, err = applyOp(model, op); err != nil {
			return fmt.Errorf("nftables: %v: %w", op, err)
		}
	}
	return d.write(cur, model)
}

// SetStandby implements table.RoleAware. It rewrites the table only when
// the standby set changes.
func (d *DataPlane) SetStandby(keys []table.ServiceKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	next := map[table.ServiceKey]bool{}
	for _, k := range keys {
		next[k] = true
	}
	cur, err := d.read()
	if err != nil {
		return err
	}
	changed := false
	for _, s := range cur {
		changed = changed || d.standby(s) != next[s.ServiceKey]
	}
	d.stand = next
	if !changed {
		return nil
	}
	model := make([]table.Service, 0, len(cur))
	for _, s := range cur {
		model = append(model, s.Spec())
	}
	return d.write(cur, model)
}

// write replaces the table with model, carrying the old counters over.
func (d *DataPlane) write(old []readService, model []table.Service) error {
	rs, err := render(d.name, model, d.stand)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	dr, unresolved, err := d.renderDR(model)
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	c := d.conn
	// Add, then delete, then fill: the add makes the delete succeed when
	// the table is not there, and all of it is one transaction.
	for _, t := range []*nftables.Table{rs.table, {Name: d.name + drTableSuffix, Family: nftables.TableFamilyNetdev}} {
		c.AddTable(t)
		c.DelTable(t)
	}
	if err := addRuleset(c, rs); err != nil {
		return err
	}
	if dr != nil {
		if err := addRuleset(c, dr); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: replace table %s: %w", d.name, err)
	}
	d.unresolved = unresolved
	for _, s := range old {
		d.base[statKey(s.ServiceKey, netip.AddrPort{})] += s.Stats.Connections
		for _, ds := range s.Dests {
			d.base[statKey(s.ServiceKey, ds.Address)] += ds.Stats.Connections
		}
	}
	return nil
}

// applyOp applies one op to the model.
func applyOp(model []table.Service, op table.Op) ([]table.Service, error) {
	i := slices.IndexFunc(model, func(s table.Service) bool { return s.ServiceKey == op.Service.ServiceKey })
	if op.Kind == table.CreateService {
		if i >= 0 {
			return nil, errors.New("service exists")
		}
		s := op.Service.Clone()
		s.Destinations = nil
		return append(model, s), nil
	}
	if i < 0 {
		return nil, errors.New("no such service")
	}
	s := &model[i]
	j := slices.IndexFunc(s.Destinations, func(x table.Destination) bool { return x.Address == op.Dest.Address })
	switch op.Kind {
	case table.UpdateService:
		dests := s.Destinations
		*s = op.Service.Clone()
		s.Destinations = dests
	case table.RemoveService:
		return slices.Delete(model, i, i+1), nil
	case table.CreateDestination:
		if j >= 0 {
			return nil, errors.New("destination exists")
		}
		s.Destinations = append(s.Destinations, op.Dest)
	case table.UpdateDestination:
		if j < 0 {
			return nil, errors.New("no such destination")
		}
		s.Destinations[j] = op.Dest
	case table.RemoveDestination:
		if j < 0 {
			return nil, errors.New("no such destination")
		}
		s.Destinations = slices.Delete(s.Destinations, j, j+1)
	default:
		return nil, fmt.Errorf("unknown op %v", op.Kind)
	}
	return model, nil
}

// addRuleset queues a whole table: chains, then rules with their sets.
func addRuleset(c *nftables.Conn, rs *ruleset) error {
	c.AddTable(rs.table)
	for _, ch := range rs.chains {
		c.AddChain(ch)
	}
	setAt := map[int]*setSpec{}
	for i := range rs.sets {
		setAt[rs.sets[i].rule] = &rs.sets[i]
	}
	for i, r := range rs.rules {
		if s := setAt[i]; s != nil {
			if err := c.AddSet(s.set, s.elems); err != nil {
				return fmt.Errorf("nftables: add set %s: %w", s.set.Name, err)
			}
			for _, e := range r.Exprs {
				if l, ok := e.(*expr.Lookup); ok {
					l.SetID = s.set.ID
				}
			}
		}
		c.AddRule(r)
	}
	return nil
}

// renderDR resolves what the DR services need and renders their netdev
// table. Real servers whose MAC cannot be resolved are left out and
// returned, keyed like statKey.
func (d *DataPlane) renderDR(model []table.Service) (*ruleset, map[string]bool, error) {
	unresolved := map[string]bool{}
	dev := map[string]drDevice{}
	macs := map[netip.Addr]net.HardwareAddr{}
	for _, s := range model {
		if !isDR(s) {
			continue
		}
		ifname := d.drIface(s.ServiceKey)
		if _, ok := dev[ifname]; !ok && ifname != "" {
			idx, mac, err := d.resolver.Interface(ifname)
			if err != nil {
				return nil, nil, err
			}
			dev[ifname] = drDevice{index: idx, mac: mac}
		}
		for _, dst := range s.Destinations {
			if dst.Weight <= 0 {
				continue
			}
			if _, ok := macs[dst.Address.Addr()]; ok {
				continue
			}
			mac, err := d.resolver.Neighbour(dev[ifname].index, dst.Address.Addr())
			if err != nil {
				unresolved[statKey(s.ServiceKey, dst.Address)] = true
				continue
			}
			macs[dst.Address.Addr()] = mac
		}
	}
	rs, err := renderDR(d.name, model, d.stand, d.drIface, dev, macs)
	return rs, unresolved, err
}

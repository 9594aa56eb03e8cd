package config

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Defaults of the virtual_servers and lvs_sync sections.
const (
	DefaultDrainTimeout  = 5 * time.Minute
	DefaultCheckInterval = 5 * time.Second
	DefaultCheckTimeout  = 2 * time.Second
	DefaultCheckRise     = 2
	DefaultCheckFall     = 3
	DefaultCheckPath     = "/"
	MaxWeight            = 65535
)

// IPVSSchedulers are the scheduler modules of Linux 6.1
// (net/netfilter/ipvs/ip_vs_*.c; ipvsadm(8) -s).
var IPVSSchedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"}

// NFTablesSchedulers are the schedulers the nftables data plane (ipvs/nft)
// can express: numgen for rr/wrr, a hash bucket table for sh/mh. The
// connection-counting schedulers (lc, wlc, ...) need per-server state that
// nftables rules do not keep.
var NFTablesSchedulers = []string{"rr", "wrr", "sh", "mh"}

// NFTablesForwarding are the forwarding methods of the nftables data plane.
var NFTablesForwarding = []string{"nat", "dr"}

// applyBalancerDefaults fills the virtual_servers and lvs_sync defaults.
func (c *Config) applyBalancerDefaults() {
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		if vs.Protocol == "" && vs.FWMark == 0 {
			vs.Protocol = "tcp"
		}
		if vs.Scheduler == "" {
			vs.Scheduler = "wlc"
		}
		if vs.Forwarding == "" {
			vs.Forwarding = "nat"
		}
		if vs.DrainTimeout == 0 {
			vs.DrainTimeout = DefaultDrainTimeout
		}
		if p := vs.Persistence; p != nil && !p.Netmask.IsValid() {
			if vs.Address.Addr().Is6() {
				p.Netmask = netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff,
					8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
			} else {
				p.Netmask = netip.AddrFrom4([4]byte{255, 255, 255, 255})
			}
		}
		vs.Check.applyDefaults()
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			if rs.Weight == nil {
				w := 1
				rs.Weight = &w
			}
			if rs.Forwarding == "" {
				rs.Forwarding = vs.Forwarding
			}
			rs.Check.applyDefaults()
			for k := range rs.Checks {
				rs.Checks[k].applyDefaults()
			}
		}
	}
	if s := c.LVSSync; s != nil && s.SyncID == 0 {
		for _, in := range c.Instances {
			if in.Name == s.Instance {
				s.SyncID = in.VRID
			}
		}
	}
}

func (ch *Check) applyDefaults() {
	if ch == nil {
		return
	}
	if ch.Interval == 0 {
		ch.Interval = DefaultCheckInterval
	}
	if ch.Timeout == 0 {
		ch.Timeout = min(DefaultCheckTimeout, ch.Interval)
	}
	if ch.Rise == 0 {
		ch.Rise = DefaultCheckRise
	}
	if ch.Fall == 0 {
		ch.Fall = DefaultCheckFall
	}
	if (ch.Type == "http" || ch.Type == "https") && ch.Path == "" {
		ch.Path = DefaultCheckPath
	}
	if ch.Type == "dns" {
		if ch.QueryName == "" {
			ch.QueryName = "."
		}
		if ch.QueryType == "" {
			ch.QueryType = "SOA"
		}
	}
}

// EffectiveCheck is the check of rs: its own, else the service's, else nil.
func (vs *VirtualServer) EffectiveCheck(rs *RealServer) *Check {
	if rs.Check != nil {
		return rs.Check
	}
	return vs.Check
}

// EffectiveChecks are every check of rs: EffectiveCheck, then rs.Checks.
// The server is up while all of them are.
func (vs *VirtualServer) EffectiveChecks(rs *RealServer) []*Check {
	var out []*Check
	if c := vs.EffectiveCheck(rs); c != nil {
		out = append(out, c)
	}
	for k := range rs.Checks {
		out = append(out, &rs.Checks[k])
	}
	return out
}

// validateBalancer checks the virtual_servers and lvs_sync sections.
func (c *Config) validateBalancer(v *validator) {
	instances := map[string]Instance{}
	for _, in := range c.Instances {
		instances[in.Name] = in
	}
	names := map[string]bool{}
	keys := map[string]string{}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		p := fmt.Sprintf("virtual_servers[%d]", i)
		if vs.Name != "" {
			if names[vs.Name] {
				v.errorf(p+".name", "virtual server %q is defined twice", vs.Name)
			}
			names[vs.Name] = true
		}
		key := vs.Key()
		if other, dup := keys[key]; dup {
			v.errorf(p, "%s is already defined by virtual_servers[%s]", key, other)
		}
		keys[key] = fmt.Sprint(i)
		vs.validate(v, p, c.Global.Dataplane, instances)
	}
	if s := c.LVSSync; s != nil {
		if _, ok := instances[s.Instance]; !ok {
			v.errorf("lvs_sync.instance", "no instance is named %q: the sync daemon follows that instance's VRRP state", s.Instance)
		}
		if s.Interface == "" || len(s.Interface) > 15 {
			v.errorf("lvs_sync.interface", "%q must be an interface name of 1-15 bytes: the sync daemon multicasts on it", s.Interface)
		}
		if s.SyncID < 0 || s.SyncID > 255 {
			v.errorf("lvs_sync.sync_id", "%d is out of range 0-255", s.SyncID)
		}
		if c.Global.Dataplane == "nftables" {
			v.errorf("lvs_sync", "the nftables data plane has no connection-sync daemon (it needs kernel IPVS): remove lvs_sync or use dataplane ipvs")
		}
	}
}

// Key names the virtual server the way ipvsadm -Ln does: "TCP 198.18.1.100:80" or "FWM 42".
func (vs *VirtualServer) Key() string {
	if vs.FWMark != 0 {
		return fmt.Sprintf("FWM %d", vs.FWMark)
	}
	return fmt.Sprintf("%s %v", vs.Protocol, vs.Address)
}

// vsCheck is one virtual server under validation: where its errors go,
// its path in the file, what the data plane and its address family allow,
// and the instances it may name.
type vsCheck struct {
	v         *validator
	p         string
	nft       bool // the nftables data plane
	hasAddr   bool // an address:port service, not a fwmark
	is6       bool
	instances map[string]Instance
}

// vsSteps validate a virtual server one concern at a time, in the order
// their errors are reported.
var vsSteps = []func(vs *VirtualServer, vc vsCheck){
	(*VirtualServer).validateKey,
	(*VirtualServer).validateScheduling,
	(*VirtualServer).validateFailover,
	(*VirtualServer).validateRealServers,
}

func (vs *VirtualServer) validate(v *validator, p, dataplane string, instances map[string]Instance) {
	vc := vsCheck{v: v, p: p, nft: dataplane == "nftables", hasAddr: vs.Address.IsValid(),
		is6: vs.Address.Addr().Is6(), instances: instances}
	for _, step := range vsSteps {
		step(vs, vc)
	}
}

// validateKey checks what the service matches: address:port and protocol,
// or a fwmark.
func (vs *VirtualServer) validateKey(vc vsCheck) {
	v, p, hasAddr := vc.v, vc.p, vc.hasAddr
	switch {
	case hasAddr && vs.FWMark != 0:
		v.errorf(p+".fwmark", "give either address or fwmark, not both")
	case !hasAddr && vs.FWMark == 0:
		v.errorf(p+".address", "missing: the virtual address:port (or a fwmark)")
	case hasAddr && vs.Address.Port() == 0:
		v.errorf(p+".address", "%v needs a port", vs.Address)
	}
	switch vs.Protocol {
	case "tcp", "udp", "sctp":
	case "":
		if vs.FWMark == 0 {
			v.errorf(p+".protocol", "missing")
		}
	default:
		v.errorf(p+".protocol", "unknown protocol %q: want tcp, udp or sctp", vs.Protocol)
	}
	if vs.FWMark != 0 && vs.Protocol != "" {
		v.errorf(p+".protocol", "a fwmark service matches on the mark only: leave protocol out")
	}
}

// validateScheduling checks the scheduler, the forwarding method and
// persistence against what the data plane can do.
func (vs *VirtualServer) validateScheduling(vc vsCheck) {
	v, p, nft, hasAddr, is6 := vc.v, vc.p, vc.nft, vc.hasAddr, vc.is6
	switch {
	case !slices.Contains(IPVSSchedulers, vs.Scheduler):
		v.errorf(p+".scheduler", "unknown scheduler %q: want one of %v", vs.Scheduler, IPVSSchedulers)
	case nft && !slices.Contains(NFTablesSchedulers, vs.Scheduler):
		v.errorf(p+".scheduler", "the nftables data plane cannot do scheduler %q (it has %v): pick one of those or use dataplane ipvs", vs.Scheduler, NFTablesSchedulers)
	}
	checkForwarding(v, p+".forwarding", vs.Forwarding, nft)
	if nft && vs.Forwarding == "dr" && vs.Scheduler != "sh" && vs.Scheduler != "mh" {
		v.errorf(p+".scheduler", "the nftables data plane does forwarding dr with a hash only (it has no conntrack at ingress): use scheduler sh or mh")
	}
	if nft && vs.FWMark != 0 {
		v.errorf(p+".fwmark", "the nftables data plane balances address:port services only: use an address or dataplane ipvs")
	}
	if pe := vs.Persistence; pe != nil {
		if pe.Timeout <= 0 || pe.Timeout%time.Second != 0 || pe.Timeout > 0xffffffff*time.Second {
			v.errorf(p+".persistence.timeout", "%v must be a positive whole number of seconds", pe.Timeout)
		}
		if bits, ok := maskBits(pe.Netmask); !ok || (hasAddr && pe.Netmask.Is6() != is6) {
			v.errorf(p+".persistence.netmask", "%v is not a contiguous netmask of the service's address family", pe.Netmask)
		} else if bits == 0 {
			v.errorf(p+".persistence.netmask", "%v would put every client on one server", pe.Netmask)
		}
		if nft {
			v.errorf(p+".persistence", "the nftables data plane has no persistence table: use scheduler sh (a client stays on one server while the set of servers is unchanged) or dataplane ipvs")
		}
	}
}

// validateFailover checks quorum, hysteresis, the sorry server, the VRRP
// instance and the drain timeout.
func (vs *VirtualServer) validateFailover(vc vsCheck) {
	v, p, nft, hasAddr, is6, instances := vc.v, vc.p, vc.nft, vc.hasAddr, vc.is6, vc.instances
	if vs.Quorum < 0 {
		v.errorf(p+".quorum", "must not be negative")
	}
	vs.validateQuorumCommands(v, p)
	if vs.Hysteresis < 0 || (vs.Hysteresis > 0 && vs.Hysteresis >= vs.Quorum) {
		v.errorf(p+".hysteresis", "%d must be between 0 and quorum-1 (%d)", vs.Hysteresis, vs.Quorum-1)
	}
	if s := vs.SorryServer; s != nil {
		if !s.IsValid() || (hasAddr && s.Addr().Is6() != is6) {
			v.errorf(p+".sorry_server", "%v must be an address:port of the service's family", *s)
		}
	}
	if vs.Instance != "" {
		if _, ok := instances[vs.Instance]; !ok {
			v.errorf(p+".instance", "no instance is named %q", vs.Instance)
		}
	} else if nft {
		v.errorf(p+".instance", "missing: the nftables data plane answers only while this VRRP instance is MASTER")
	}
	if vs.DrainTimeout < 0 {
		v.errorf(p+".drain_timeout", "must not be negative")
	}
}

// validateRealServers checks the service's check and its real servers.
func (vs *VirtualServer) validateRealServers(vc vsCheck) {
	v, p := vc.v, vc.p
	vs.Check.validate(v, p+".check")
	if len(vs.RealServers) == 0 {
		v.errorf(p+".real_servers", "missing: at least one real server")
	}
	seen := map[netip.AddrPort]bool{}
	for j := range vs.RealServers {
		vs.validateRealServer(vc, j, seen)
	}
}

// validateRealServer checks real server j; seen holds the addresses of the
// ones before it.
func (vs *VirtualServer) validateRealServer(vc vsCheck, j int, seen map[netip.AddrPort]bool) {
	rs := &vs.RealServers[j]
	v, p, nft, hasAddr, is6 := vc.v, vc.p, vc.nft, vc.hasAddr, vc.is6
	q := fmt.Sprintf("%s.real_servers[%d]", p, j)
	switch {
	case !rs.Address.IsValid():
		v.errorf(q+".address", "missing: the real server's address:port")
	case rs.Address.Port() == 0 && vs.FWMark == 0:
		v.errorf(q+".address", "%v needs a port", rs.Address)
	case hasAddr && rs.Address.Addr().Is6() != is6:
		v.errorf(q+".address", "%v is not of the virtual address's family", rs.Address)
	case seen[rs.Address]:
		v.errorf(q+".address", "%v is listed twice", rs.Address)
	}
	seen[rs.Address] = true
	if w := *rs.Weight; w < 0 || w > MaxWeight {
		v.errorf(q+".weight", "%d is out of range 0-%d", w, MaxWeight)
	}
	if rs.UpperThreshold < 0 || rs.LowerThreshold < 0 {
		v.errorf(q+".upper_threshold", "thresholds must not be negative")
	} else if rs.UpperThreshold > 0 && rs.LowerThreshold > rs.UpperThreshold {
		v.errorf(q+".lower_threshold", "%d is above the upper threshold %d", rs.LowerThreshold, rs.UpperThreshold)
	}
	if nft && (rs.UpperThreshold > 0 || rs.LowerThreshold > 0) {
		v.errorf(q+".upper_threshold", "the nftables data plane has no connection thresholds: remove them or use dataplane ipvs")
	}
	checkForwarding(v, q+".forwarding", rs.Forwarding, nft)
	if nft && rs.Forwarding != vs.Forwarding {
		v.errorf(q+".forwarding", "the nftables data plane needs one forwarding method per service (%s here)", vs.Forwarding)
	}
	rs.Check.validate(v, q+".check")
	for k := range rs.Checks {
		rs.Checks[k].validate(v, fmt.Sprintf("%s.checks[%d]", q, k))
	}
	if all := vs.EffectiveChecks(rs); len(all) > 1 {
		first := all[0]
		for k := range rs.Checks {
			ch := &rs.Checks[k]
			if ch.Interval != first.Interval || ch.RetryInterval != first.RetryInterval || ch.Rise != first.Rise || ch.Fall != first.Fall {
				v.errorf(fmt.Sprintf("%s.checks[%d]", q, k), "the checks of one real server probe together: give them the interval, retry_interval, rise and fall of the first (%v, %v, %d, %d)",
					first.Interval, first.RetryInterval, first.Rise, first.Fall)
			}
		}
	}
	if rs.Address.Port() == 0 {
		for k, ch := range vs.EffectiveChecks(rs) {
			if ch.Port == 0 && ch.Type != "exec" && ch.Type != "icmp" {
				v.errorf(fmt.Sprintf("%s.checks[%d].port", q, k), "missing: the real server has no port (fwmark service), so the %s check needs one", ch.Type)
			}
		}
	}
}

func checkForwarding(v *validator, path, f string, nft bool) {
	switch {
	case f != "nat" && f != "dr" && f != "tun":
		v.errorf(path, "unknown forwarding %q: want nat, dr or tun", f)
	case nft && !slices.Contains(NFTablesForwarding, f):
		v.errorf(path, "the nftables data plane cannot do forwarding %q (it has %v): use dataplane ipvs", f, NFTablesForwarding)
	}
}

func (ch *Check) validate(v *validator, p string) {
	if ch == nil {
		return
	}
	switch ch.Type {
	case "tcp", "http", "https", "icmp", "udp", "smtp", "dns":
		if len(ch.Command) > 0 {
			v.errorf(p+".command", "only an exec check runs a command")
		}
	case "exec":
		if len(ch.Command) == 0 || ch.Command[0] == "" {
			v.errorf(p+".command", "missing: the command to run, as a list such as [/usr/bin/check, arg]")
		}
	default:
		v.errorf(p+".type", "unknown check type %q: want tcp, http, https, exec, icmp, udp, smtp or dns", ch.Type)
	}
	if ch.Port < 0 || ch.Port > 65535 {
		v.errorf(p+".port", "%d is out of range 0-65535 (0: the real server's port)", ch.Port)
	}
	for k, s := range ch.Status {
		if s.Lo < 100 || s.Hi > 599 || s.Hi < s.Lo {
			v.errorf(fmt.Sprintf("%s.status[%d]", p, k), "%v is not an HTTP status code or range of them (100-599)", s)
		}
	}
	if ch.Digest != "" {
		if b, err := hex.DecodeString(ch.Digest); err != nil || len(b) != md5.Size {
			v.errorf(p+".digest", "%q is not an MD5 digest (32 hex digits, as genhash prints)", ch.Digest)
		}
	}
	ch.validateProtocol(v, p)
	if ch.Interval < 10*time.Millisecond {
		v.errorf(p+".interval", "%v is too short: at least 10ms", ch.Interval)
	}
	// A timeout above the interval is allowed, as in keepalived: the next
	// probe waits for the running one (package health counts it as deferred).
	if ch.Timeout <= 0 {
		v.errorf(p+".timeout", "%v must be positive", ch.Timeout)
	}
	if ch.RetryInterval < 0 || ch.RetryInterval > ch.Interval {
		v.errorf(p+".retry_interval", "%v must be between 0 and the interval %v", ch.RetryInterval, ch.Interval)
	}
	if ch.Rise < 1 || ch.Rise > 100 {
		v.errorf(p+".rise", "%d is out of range 1-100", ch.Rise)
	}
	if ch.Fall < 1 || ch.Fall > 100 {
		v.errorf(p+".fall", "%d is out of range 1-100", ch.Fall)
	}
}

// validateProtocol checks the fields of one check type and refuses those
// of the others, so a field that would be ignored is never written.
func (ch *Check) validateProtocol(v *validator, p string) {
	only := func(field string, set bool, types ...string) {
		if set && !slices.Contains(types, ch.Type) {
			v.errorf(p+"."+field, "applies to %v checks only", types)
		}
	}
	only("path", ch.Path != "", "http", "https")
	only("status", len(ch.Status) > 0, "http", "https")
	only("digest", ch.Digest != "", "http", "https")
	only("helo", ch.Helo != "", "smtp")
	only("query_name", ch.QueryName != "", "dns")
	only("query_type", ch.QueryType != "", "dns")
	only("payload", ch.Payload != "", "udp")
	only("require_reply", ch.RequireReply, "udp")
	only("expect", ch.Expect != "", "udp")
	for _, f := range []struct{ name, val string }{{"payload", ch.Payload}, {"expect", ch.Expect}} {
		if _, err := hex.DecodeString(f.val); err != nil {
			v.errorf(p+"."+f.name, "%q is not hex bytes such as 0a1b2c", f.val)
		}
	}
	if ch.Expect != "" && !ch.RequireReply {
		v.errorf(p+".expect", "set, but require_reply is false: the reply is not read")
	}
	if ch.Type == "dns" && !slices.Contains(DNSQueryTypes, strings.ToUpper(ch.QueryType)) {
		v.errorf(p+".query_type", "unknown query type %q: want one of %v", ch.QueryType, DNSQueryTypes)
	}
	if ch.Address.IsValid() && ch.Source.IsValid() && ch.Address.Is4() != ch.Source.Is4() {
		v.errorf(p+".source", "%v is not of the family of the checked address %v", ch.Source, ch.Address)
	}
}

// DNSQueryTypes are the query types of keepalived's DNS_CHECK.
var DNSQueryTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"}

// maskBits returns the prefix length of a contiguous netmask.
func maskBits(m netip.Addr) (int, bool) {
	if !m.IsValid() {
		return 0, false
	}
	b := m.AsSlice()
	ones := 0
	for i, x := range b {
		for bit := 7; bit >= 0; bit-- {
			if x&(1<<bit) == 0 {
				for _, y := range b[i+1:] {
					if y != 0 {
						return 0, false
					}
				}
				if x&(1<<(bit+1)-1) != 0 {
					return 0, false
				}
				return ones, true
			}
			ones++
		}
	}
	return ones, true
}

// PersistenceBits is the persistence netmask as a prefix length, or the
// full length of the address when persistence has no netmask.
func (vs *VirtualServer) PersistenceBits() int {
	full := 32
	if vs.Address.Addr().Is6() {
		full = 128
	}
	if vs.Persistence == nil {
		return full
	}
	if b, ok := maskBits(vs.Persistence.Netmask); ok {
		return b
	}
	return full
}

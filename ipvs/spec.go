package ipvs

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/ipvs/quorum"
	"github.com/hachat/hachat/ipvs/table"
)

// Config is what a Balancer balances, in the balancer's own terms. A daemon
// translates its configuration file into it (vrrpd: internal/vrrpd), the way
// it translates VRRP instances into router.InstanceConfig; defaults are the
// daemon's to fill in.
type Config struct {
	// Dataplane is "auto", "ipvs" or "nftables"; Options.DataPlane, when
	// set, overrides it.
	Dataplane string
	Services  []VirtualService
	// Sync, when set, runs the kernel's connection-sync daemon
	// (keepalived's lvs_sync_daemon), which follows a VRRP instance.
	Sync *ConnSync
	// Interfaces maps each VRRP instance to its interface: the nftables
	// DR rules of a service hang off the interface of its instance.
	Interfaces map[string]string
}

// ConnSync is the kernel's connection-sync daemon: master while Instance
// is MASTER, backup otherwise, multicasting on Interface.
type ConnSync struct {
	Instance  string
	Interface string
	SyncID    uint8
}

// VirtualService is one balanced service: Address and Protocol, or FWMark.
type VirtualService struct {
	Name      string // default: the service key, as ipvsadm -Ln shows it
	Address   netip.AddrPort
	Protocol  table.Protocol
	FWMark    uint32
	Scheduler string
	// Persistence keeps a client on one real server that long;
	// PersistenceMask is the prefix length of the clients it groups.
	Persistence     time.Duration
	PersistenceMask int
	// Quorum is the least sum of live weights before the sorry server is
	// used; Hysteresis keeps the decision from flapping around it.
	Quorum          int
	Hysteresis      int
	Sorry           *netip.AddrPort
	SorryForwarding table.Forwarding
	// Instance ties the service to a VRRP instance: the nftables data plane
	// answers for it only while the instance is MASTER.
	Instance string
	// DrainTimeout bounds how long a removed real server keeps weight 0
	// while its connections end before it is deleted.
	DrainTimeout time.Duration
	RealServers  []RealServer
	// QuorumUp and QuorumDown are the commands of keepalived's quorum_up
	// and quorum_down, passed to Options.OnQuorum with each quorum change;
	// Omega lists QuorumDown in ShutdownQuorumCommands (quorum_hooks.go).
	QuorumUp, QuorumDown []string
	Omega                bool
}

// RealServer is one backend of a VirtualService.
type RealServer struct {
	Address        netip.AddrPort
	Weight         int
	Forwarding     table.Forwarding
	UpperThreshold int
	LowerThreshold int
	// Checks are its health checks: it is up while every one passes, on the
	// schedule of the first. None: always up.
	Checks []Check
	// InitiallyDown starts a checked server down until it passes Rise
	// probes (keepalived's alpha).
	InitiallyDown bool
	// Alert passes its up/down changes to Options.OnRealServer as to be
	// mailed (smtp_alert).
	Alert bool
}

// Check is one health check of a real server.
type Check struct {
	Type string // tcp, http, https, exec, icmp, udp, smtp, dns
	Port int    // 0: the real server's port
	// Address is checked instead of the real server's (keepalived's
	// connect_ip); Source binds the probe's source address (bindto).
	Address netip.Addr
	Source  netip.Addr
	// Path, Host, SNI, Status and Digest shape an http(s) check.
	Path   string
	Host   string
	SNI    string
	Status []health.StatusRange
	Digest string
	// Command is what an exec check runs.
	Command []string
	// Helo is what an smtp check says in HELO.
	Helo string
	// QueryName and QueryType are what a dns check asks.
	QueryName string
	QueryType string
	// Payload is what a udp check sends; RequireReply makes it wait for an
	// answer, which must start with Expect when set.
	Payload      []byte
	RequireReply bool
	Expect       []byte
	// The schedule: a probe every Interval (RetryInterval while an up
	// server is failing), each bounded by Timeout; Rise passes bring a
	// server up, Fall failures take it down.
	Interval, Timeout, RetryInterval time.Duration
	Rise, Fall                       int
	// InhibitOnFailure keeps a failed server at weight 0 instead of
	// removing it.
	InhibitOnFailure bool
}

// vsSpec is one configured virtual service, resolved for the planner.
type vsSpec struct {
	name     string
	instance string
	svc      table.Service // attributes and every configured real server at its configured weight
	drain    time.Duration
	quorum   int
	hyster   int
	sorry    *netip.AddrPort
	sorryFwd table.Forwarding
	reals    []rsSpec
	// quorumUp and quorumDown run on quorum changes; omega also runs
	// quorumDown at shutdown (quorum_hooks.go).
	quorumUp, quorumDown []string
	omega                bool
}

// rsSpec is one real server with its check.
type rsSpec struct {
	dest    table.Destination
	check   *Check   // the first check; nil: no health check, always up
	checks  []*Check // every check, check first: up while all are
	initial health.State
	id      string // health target ID
	alert   bool   // smtp_alert: its up/down changes are mailed
}

// specs resolves the virtual services of cfg.
func specs(cfg *Config) []vsSpec {
	var out []vsSpec
	for i := range cfg.Services {
		vs := &cfg.Services[i]
		s := vsSpec{
			name:     vs.Name,
			instance: vs.Instance,
			drain:    vs.DrainTimeout,
			quorum:   vs.Quorum,
			hyster:   vs.Hysteresis,
			sorry:    vs.Sorry,
			sorryFwd: vs.SorryForwarding,
			quorumUp: vs.QuorumUp, quorumDown: vs.QuorumDown, omega: vs.Omega,
		}
		s.svc.Scheduler = vs.Scheduler
		if vs.FWMark != 0 {
			s.svc.FWMark = vs.FWMark
			s.svc.IPv6 = len(vs.RealServers) > 0 && vs.RealServers[0].Address.Addr().Is6()
		} else {
			s.svc.Address = vs.Address
			s.svc.Protocol = vs.Protocol
		}
		s.svc.Persistence = vs.Persistence
		s.svc.PersistenceMask = vs.PersistenceMask
		if s.name == "" {
			s.name = s.svc.ServiceKey.String()
		}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			d := table.Destination{
				Address:        rs.Address,
				Weight:         rs.Weight,
				Forwarding:     rs.Forwarding,
				UpperThreshold: rs.UpperThreshold,
				LowerThreshold: rs.LowerThreshold,
			}
			r := rsSpec{dest: d, initial: health.Up}
			for k := range rs.Checks {
				r.checks = append(r.checks, &rs.Checks[k])
			}
			if len(r.checks) > 0 {
				r.check = r.checks[0]
			}
			if rs.InitiallyDown {
				r.initial = health.Down
			}
			r.id = healthID(s.svc.ServiceKey, rs.Address)
			r.alert = rs.Alert
			s.reals = append(s.reals, r)
			s.svc.Destinations = append(s.svc.Destinations, d)
		}
		out = append(out, s)
	}
	return out
}

// target builds the health target of a real server, or false when it has
// no check. Several checks run together as one probe that fails when any
// fails, on the schedule of the first (config requires them to share it).
func (r rsSpec) target() (health.Target, bool, error) {
	ch := r.check
	if ch == nil {
		return health.Target{}, false, nil
	}
	var all health.All
	timeout := ch.Timeout
	for _, c := range r.checks {
		p, err := prober(c, r.dest.Address)
		if err != nil {
			return health.Target{}, false, err
		}
		all = append(all, health.Bounded{Prober: p, Timeout: c.Timeout})
		timeout = max(timeout, c.Timeout)
	}
	var p health.Prober = all
	if len(all) == 1 {
		p = all[0].(health.Bounded).Prober // the target's timeout is the check's
	}
	return health.Target{
		ID: r.id, Prober: p, Interval: ch.Interval, Timeout: timeout, RetryInterval: ch.RetryInterval,
		Rise: ch.Rise, Fall: ch.Fall, Initial: r.initial,
	}, true, nil
}

// inhibit reports whether a failed real server stays at weight 0.
func (r rsSpec) inhibit() bool { return r.check != nil && r.check.InhibitOnFailure }

// desired computes the destinations of s from the health verdicts and the
// previous quorum state.
func (s vsSpec) desired(up func(id string) bool, prev quorum.State) (table.Service, quorum.Decision) {
	in := quorum.VirtualService{Quorum: s.quorum, Hysteresis: s.hyster}
	byID := map[string]table.Destination{}
	for _, r := range s.reals {
		id := r.dest.Address.String()
		byID[id] = r.dest
		in.Servers = append(in.Servers, quorum.RealServer{ID: id, Weight: r.dest.Weight, Up: up(r.id), Inhibit: r.inhibit()})
	}
	if s.sorry != nil {
		in.Sorry = &quorum.SorryServer{ID: s.sorry.String()}
		byID[s.sorry.String()] = table.Destination{Address: *s.sorry, Weight: 1, Forwarding: s.sorryFwd}
	}
	dec := quorum.Effective(in, prev)
	out := s.svc.Clone()
	out.Destinations = nil
	for _, d := range dec.Destinations {
		dst := byID[d.ID]
		dst.Weight = d.Weight
		out.Destinations = append(out.Destinations, dst)
	}
	return out, dec
}

// healthID names a real server's health check target; splitHealthID reads
// it back into metric labels.
func healthID(service, realServer any) string { return fmt.Sprintf("vs %s rs %s", service, realServer) }

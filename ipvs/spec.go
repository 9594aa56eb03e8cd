package ipvs

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/ipvs/health"
	"github.com/hachat/hachat/ipvs/table"
)

// vsSpec is one configured virtual service, resolved from the config.
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
	check   *config.Check   // the first check; nil: no health check, always up
	checks  []*config.Check // every check, check first: up while all are
	initial health.State
	id      string // health target ID
	alert   bool   // smtp_alert: its up/down changes are mailed
}

// specs resolves the virtual servers of cfg.
func specs(cfg *config.Config) []vsSpec {
	var out []vsSpec
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		s := vsSpec{
			name:     vs.Name,
			instance: vs.Instance,
			drain:    vs.DrainTimeout,
			quorum:   vs.Quorum,
			hyster:   vs.Hysteresis,
			sorry:    vs.SorryServer,
			sorryFwd: table.Forwarding(vs.Forwarding),
			quorumUp: vs.QuorumUp, quorumDown: vs.QuorumDown, omega: vs.Omega,
		}
		s.svc.Scheduler = vs.Scheduler
		if vs.FWMark != 0 {
			s.svc.FWMark = vs.FWMark
			s.svc.IPv6 = len(vs.RealServers) > 0 && vs.RealServers[0].Address.Addr().Is6()
		} else {
			s.svc.Address = vs.Address
			s.svc.Protocol = table.Protocol(vs.Protocol)
		}
		if p := vs.Persistence; p != nil {
			s.svc.Persistence = p.Timeout
			s.svc.PersistenceMask = vs.PersistenceBits()
		}
		if s.name == "" {
			s.name = s.svc.ServiceKey.String()
		}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			d := table.Destination{
				Address:        rs.Address,
				Weight:         *rs.Weight,
				Forwarding:     table.Forwarding(rs.Forwarding),
				UpperThreshold: rs.UpperThreshold,
				LowerThreshold: rs.LowerThreshold,
			}
			r := rsSpec{dest: d, check: vs.EffectiveCheck(rs), checks: vs.EffectiveChecks(rs), initial: health.Up}
			if r.check == nil && len(r.checks) > 0 {
				r.check = r.checks[0]
			}
			if rs.InitiallyUp != nil && !*rs.InitiallyUp {
				r.initial = health.Down
			}
			r.id = healthID(s.svc.ServiceKey, rs.Address)
			r.alert = vs.Alerted(rs)
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
func (s vsSpec) desired(up func(id string) bool, prev health.QuorumState) (table.Service, health.Decision) {
	in := health.VirtualService{Quorum: s.quorum, Hysteresis: s.hyster}
	byID := map[string]table.Destination{}
	for _, r := range s.reals {
		id := r.dest.Address.String()
		byID[id] = r.dest
		in.Servers = append(in.Servers, health.RealServer{ID: id, Weight: r.dest.Weight, Up: up(r.id), Inhibit: r.inhibit()})
	}
	if s.sorry != nil {
		in.Sorry = &health.SorryServer{ID: s.sorry.String()}
		byID[s.sorry.String()] = table.Destination{Address: *s.sorry, Weight: 1, Forwarding: s.sorryFwd}
	}
	dec := health.Effective(in, prev)
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

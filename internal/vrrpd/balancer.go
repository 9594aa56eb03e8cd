package vrrpd

import (
	"encoding/hex"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/ipvs/table"
)

// BalancerConfig translates the balancer's part of a validated vrrpd
// configuration (virtual_servers, lvs_sync, global.dataplane) into the
// balancer's own terms, as instanceConfig does for the VRRP instances:
// package ipvs never reads vrrpd's YAML types. Defaults are already filled
// in by config.Validate.
func BalancerConfig(cfg *config.Config) *ipvs.Config {
	out := &ipvs.Config{Dataplane: cfg.Global.Dataplane, Interfaces: map[string]string{}}
	for _, in := range cfg.Instances {
		out.Interfaces[in.Name] = in.Interface
	}
	if s := cfg.LVSSync; s != nil {
		out.Sync = &ipvs.ConnSync{Instance: s.Instance, Interface: s.Interface, SyncID: uint8(s.SyncID)}
	}
	for i := range cfg.VirtualServers {
		out.Services = append(out.Services, virtualService(&cfg.VirtualServers[i]))
	}
	return out
}

func virtualService(vs *config.VirtualServer) ipvs.VirtualService {
	s := ipvs.VirtualService{
		Name:            vs.Name,
		Address:         vs.Address,
		Protocol:        table.Protocol(vs.Protocol),
		FWMark:          vs.FWMark,
		Scheduler:       vs.Scheduler,
		Quorum:          vs.Quorum,
		Hysteresis:      vs.Hysteresis,
		Sorry:           vs.SorryServer,
		SorryForwarding: table.Forwarding(vs.Forwarding),
		Instance:        vs.Instance,
		DrainTimeout:    vs.DrainTimeout,
		QuorumUp:        vs.QuorumUp,
		QuorumDown:      vs.QuorumDown,
		Omega:           vs.Omega,
	}
	if p := vs.Persistence; p != nil {
		s.Persistence = p.Timeout
		s.PersistenceMask = vs.PersistenceBits()
	}
	for j := range vs.RealServers {
		rs := &vs.RealServers[j]
		r := ipvs.RealServer{
			Address:        rs.Address,
			Weight:         *rs.Weight,
			Forwarding:     table.Forwarding(rs.Forwarding),
			UpperThreshold: rs.UpperThreshold,
			LowerThreshold: rs.LowerThreshold,
			InitiallyDown:  rs.InitiallyUp != nil && !*rs.InitiallyUp,
			Alert:          vs.Alerted(rs),
		}
		for _, c := range vs.EffectiveChecks(rs) {
			r.Checks = append(r.Checks, check(c))
		}
		s.RealServers = append(s.RealServers, r)
	}
	return s
}

func check(c *config.Check) ipvs.Check {
	ch := ipvs.Check{
		Type: c.Type, Port: c.Port, Address: c.Address, Source: c.Source,
		Path: c.Path, Host: c.Host, SNI: c.SNI, Digest: c.Digest,
		Command: c.Command, Helo: c.Helo, QueryName: c.QueryName, QueryType: c.QueryType,
		RequireReply: c.RequireReply,
		Interval:     c.Interval, Timeout: c.Timeout, RetryInterval: c.RetryInterval,
		Rise: c.Rise, Fall: c.Fall, InhibitOnFailure: c.InhibitOnFailure,
	}
	// Validated by config: the hex decodes.
	if c.Payload != "" {
		ch.Payload, _ = hex.DecodeString(c.Payload)
	}
	if c.Expect != "" {
		ch.Expect, _ = hex.DecodeString(c.Expect)
	}
	for _, s := range c.Status {
		ch.Status = append(ch.Status, health.StatusRange{Lo: s.Lo, Hi: s.Hi})
	}
	return ch
}

package vrrplab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
)

// VRID is the virtual router ID every scenario uses.
const VRID = 51

// Pair is two routers for one VIP: lb1 (priority 150, the intended master)
// and lb2 (priority 100), each with its own implementation.
type Pair struct {
	Topo         *Topology
	Impl1, Impl2 Impl
	Spec1, Spec2 Spec
	R1, R2       Router // nil while stopped

	life context.Context // bounds the daemons' lives, not any one wait
}

// NewPair prepares (does not start) routers on t's lb1 and lb2. Daemons
// started later get SIGTERM when life ends.
func NewPair(life context.Context, t *Topology, impl1, impl2 Impl, advert time.Duration, preempt bool) *Pair {
	spec := func(name string, prio int) Spec {
		return Spec{Name: name, Ifname: t.Ifname, VRID: VRID, Priority: prio, Advert: advert, Preempt: preempt, VIP: t.VIP}
	}
	return &Pair{Topo: t, Impl1: impl1, Impl2: impl2, Spec1: spec("lb1", 150), Spec2: spec("lb2", 100), life: life}
}

// UseVMAC makes both routers put the VIP on a virtual MAC interface. For
// keepalived it sets arp_announce=2 on the router's interface, which
// keepalived leaves to the operator (vrrpd sets it itself): without it the
// interface's own ARP requests name the VIP as sender and point the
// client back at the interface's MAC.
func (p *Pair) UseVMAC() error {
	p.Spec1.VMAC, p.Spec2.VMAC = true, true
	for i, impl := range []Impl{p.Impl1, p.Impl2} {
		if impl.Name() == "keepalived" {
			if err := p.Hosts()[i].Sysctl("net.ipv4.conf."+p.Topo.Ifname+".arp_announce", "2"); err != nil {
				return err
			}
		}
	}
	return nil
}

// Start1 starts lb1's router.
func (p *Pair) Start1() error {
	r, err := p.Impl1.Start(p.life, p.Topo.LB1, p.Spec1)
	if err != nil {
		return fmt.Errorf("vrrplab: start %s on lb1: %w", p.Impl1.Name(), err)
	}
	p.R1 = r
	return nil
}

// Start2 starts lb2's router.
func (p *Pair) Start2() error {
	r, err := p.Impl2.Start(p.life, p.Topo.LB2, p.Spec2)
	if err != nil {
		return fmt.Errorf("vrrplab: start %s on lb2: %w", p.Impl2.Name(), err)
	}
	p.R2 = r
	return nil
}

// StopAll stops both routers gracefully.
func (p *Pair) StopAll(grace time.Duration) {
	for _, r := range []*Router{&p.R1, &p.R2} {
		if *r != nil {
			_ = (*r).Stop(grace)
			*r = nil
		}
	}
}

// WaitHolders waits until exactly the named routers hold the VIP (by netlink).
func (p *Pair) WaitHolders(ctx context.Context, want ...string) error {
	slices.Sort(want)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		got, err := p.Topo.VIPHolders()
		if err != nil {
			return err
		}
		if slices.Equal(got, want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vrrplab: VIP %v held by %v, want %v: %w", p.Topo.VIP.Addr(), got, want, ctx.Err())
		case <-t.C:
		}
	}
}

// Steady waits until lb1 alone holds the VIP and a probe started after the
// call is answered by lb1.
func (p *Pair) Steady(ctx context.Context, pr *probe.Prober) error {
	now := time.Now()
	if err := p.WaitHolders(ctx, "lb1"); err != nil {
		return err
	}
	_, err := pr.WaitFrom(ctx, now, "lb1")
	return err
}

// Kind is a failure scenario of the master, lb1.
type Kind string

const (
	// NodeLoss: lb1's cable is pulled at the switch and its daemon killed
	// with SIGKILL at the same moment, as when the machine loses power.
	// Recovery is a reboot: the stale VIP is gone, the cable is back, the
	// daemon starts again.
	NodeLoss Kind = "node-loss"
	// Graceful: lb1's daemon gets SIGTERM (priority-0 advert, RFC 5798
	// 6.4.3) and later starts again.
	Graceful Kind = "graceful"
)

// Cycle is one failover and failback of lb1, measured from the client.
type Cycle struct {
	Kind     Kind
	Failover probe.Gap     // outage after lb1 failed
	Takeover time.Duration // failure until the first probe answered by lb2
	Failback probe.Gap     // outage while lb1 came back and preempted
	Returned time.Duration // recovery until the first probe answered by lb1 again
}

// Cycle fails lb1 as kind says, waits until lb2 serves, brings lb1 back and
// waits until lb1 serves again (preempt) and lb2 has dropped the VIP; pr
// must be probing the VIP. hold is how long the client keeps probing after
// each transition looks complete, to catch a late disruption.
func (p *Pair) Cycle(ctx context.Context, pr *probe.Prober, kind Kind, hold time.Duration) (Cycle, error) {
	c := Cycle{Kind: kind}
	if err := p.Steady(ctx, pr); err != nil {
		return c, fmt.Errorf("before %s: %w", kind, err)
	}
	fail := pr.Mark(string(kind))
	switch kind {
	case NodeLoss:
		if err := p.Topo.Port1.Down(); err != nil {
			return c, err
		}
		if err := p.R1.Kill9(); err != nil {
			return c, err
		}
	case Graceful:
		if err := p.R1.Stop(5 * time.Second); err != nil {
			return c, fmt.Errorf("graceful stop of lb1: %w", err)
		}
	default:
		return c, fmt.Errorf("vrrplab: unknown scenario %q", kind)
	}
	p.R1 = nil
	r, err := pr.WaitFrom(ctx, fail, "lb2")
	if err != nil {
		return c, fmt.Errorf("%s: lb2 never answered: %w", kind, err)
	}
	c.Takeover = r.Start.Sub(fail)
	if err := p.holdOK(ctx, pr, hold); err != nil {
		return c, fmt.Errorf("%s: after takeover: %w", kind, err)
	}

	recover := pr.Mark("recover")
	if kind == NodeLoss {
		// A rebooted machine comes back without the addresses (or the
		// virtual MAC interface) the killed daemon left behind, and with an
		// empty ARP cache: entries that failed while the cable was out
		// would delay its first replies.
		if p.Spec1.VMAC {
			if out, err := p.Topo.LB1.Run(ctx, "ip", "link", "del", fmt.Sprintf("vrrp.%d", VRID)); err != nil && !strings.Contains(out, "Cannot find device") {
				return c, err
			}
		} else if err := p.Topo.LB1.DelAddr(p.Topo.Ifname, p.Topo.VIP); err != nil {
			if has, _ := p.Topo.LB1.HasAddr(p.Topo.VIP.Addr()); has {
				return c, err
			}
		}
		if err := p.Topo.LB1.FlushNeighbors(p.Topo.Ifname); err != nil {
			return c, err
		}
		if err := p.Topo.Port1.Up(); err != nil {
			return c, err
		}
	}
	if err := p.Start1(); err != nil {
		return c, err
	}
	if r, err = pr.WaitFrom(ctx, recover, "lb1"); err != nil {
		return c, fmt.Errorf("%s: lb1 never answered again: %w", kind, err)
	}
	c.Returned = r.Start.Sub(recover)
	if err := p.WaitHolders(ctx, "lb1"); err != nil {
		return c, fmt.Errorf("%s: after failback: %w", kind, err)
	}
	if err := p.holdOK(ctx, pr, hold); err != nil {
		return c, fmt.Errorf("%s: after failback: %w", kind, err)
	}
	s := pr.Snapshot()
	c.Failover = s.OutageIn(fail, recover)
	c.Failback = s.OutageIn(recover, time.Time{})
	return c, nil
}

// holdOK lets the client probe for hold more, then waits for one more
// successful probe, so a gap that starts late is seen and closed.
func (p *Pair) holdOK(ctx context.Context, pr *probe.Prober, hold time.Duration) error {
	t := time.NewTimer(hold)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	_, err := pr.WaitOK(ctx, time.Now())
	return err
}

// Hosts is lb1 and lb2, for callers that iterate.
func (p *Pair) Hosts() []*netns.Host { return []*netns.Host{p.Topo.LB1, p.Topo.LB2} }

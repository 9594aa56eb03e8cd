package vrrplab

import (
	"context"
	"net/netip"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// Spec is one router's VRRP parameters.
type Spec struct {
	Name     string // router and host name, "lb1"
	Ifname   string
	VRID     int
	Priority int
	Advert   time.Duration // Advertisement_Interval, a multiple of 10 ms
	Preempt  bool
	VIP      netip.Prefix
	// VMAC puts the VIP on a macvlan with the virtual router MAC (vrrpd's
	// vmac, keepalived's use_vmac), adverts sent from the interface itself
	// (vmac_xmit_base in both) unless VMACXmit.
	VMAC bool
	// VMACXmit makes both send their adverts from the virtual MAC (their
	// default without vmac_xmit_base), as RFC 5798 §7.3 has a Master do:
	// the source MAC of its adverts is then the virtual MAC that the other
	// router's own macvlan carries too.
	VMACXmit bool
	// VrrpdExtra is YAML appended to vrrpd's instance (fields indented by
	// four spaces); keepalived ignores it.
	VrrpdExtra string
	// Version is the VRRP version (2 or 3); 0 means 3.
	Version int
	// V2Compat is vrrpd's v2_compat (RFC 5798 §8.4.2); keepalived ignores it.
	V2Compat bool
	// AuthPass is the VRRPv2 simple text password (RFC 3768 §5.3.6):
	// keepalived's auth_type PASS auth_pass, vrrpd's authentication. Empty
	// means none.
	AuthPass string
}

// Impl starts routers of one implementation.
type Impl interface {
	Name() string
	// Start starts a router on h and returns once its process runs. The
	// daemon gets SIGTERM when ctx ends: pass a context that lives as long
	// as the router should, not a per-step deadline.
	Start(ctx context.Context, h *netns.Host, s Spec) (Router, error)
}

// Router is one running VRRP daemon.
type Router interface {
	// Stop asks the daemon to leave gracefully (SIGTERM: a Master sends a
	// priority-0 advert and removes its VIPs) and waits up to grace for it.
	Stop(grace time.Duration) error
	// Kill9 kills every process of the daemon with SIGKILL, by recorded
	// PID: nothing is cleaned up, the VIP stays on the interface.
	Kill9() error
	// Done is closed when the daemon has exited.
	Done() <-chan struct{}
	// Log is the daemon's output so far.
	Log() string
}

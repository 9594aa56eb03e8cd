package vroute

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Route is one route in `ip route` terms.
type Route struct {
	To        netip.Prefix
	Via       netip.Addr // the gateway; invalid for none
	Nexthops  []Nexthop  // a multipath route instead of Via
	Interface string     // output device; empty lets the kernel pick by Via
	Source    netip.Addr // preferred source address
	Table     int        // zero means main
	Scope     Scope
	Type      Type
	Metric    int
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via       netip.Addr
	Interface string
	Weight    int // 1-256; zero means 1
}

// Scope is a route's scope (rtnetlink RT_SCOPE_*).
type Scope string

// Type is a route's type (rtnetlink RTN_*).
type Type string

// The scopes and types vrrpd configures.
const (
	ScopeGlobal Scope = ""
	ScopeLink   Scope = "link"
	ScopeHost   Scope = "host"
	ScopeSite   Scope = "site"

	TypeUnicast     Type = ""
	TypeBlackhole   Type = "blackhole"
	TypeUnreachable Type = "unreachable"
	TypeProhibit    Type = "prohibit"
)

// String is the route as `ip route` would be told it.
func (r Route) String() string {
	var b strings.Builder
	if r.Type != TypeUnicast {
		b.WriteString(string(r.Type) + " ")
	}
	b.WriteString(r.To.String())
	if r.Via.IsValid() {
		fmt.Fprintf(&b, " via %v", r.Via)
	}
	if r.Interface != "" {
		fmt.Fprintf(&b, " dev %s", r.Interface)
	}
	for _, h := range r.Nexthops {
		b.WriteString(" nexthop")
		if h.Via.IsValid() {
			fmt.Fprintf(&b, " via %v", h.Via)
		}
		if h.Interface != "" {
			fmt.Fprintf(&b, " dev %s", h.Interface)
		}
		fmt.Fprintf(&b, " weight %d", max(h.Weight, 1))
	}
	if r.Source.IsValid() {
		fmt.Fprintf(&b, " src %v", r.Source)
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Scope != ScopeGlobal {
		fmt.Fprintf(&b, " scope %s", r.Scope)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	return b.String()
}

// Rule is one policy routing rule in `ip rule` terms.
type Rule struct {
	From, To netip.Prefix // invalid: any
	IPv6     bool         // the family, for a rule without addresses
	Table    int
	Priority int // zero lets the kernel choose
	InputIf  string
	OutputIf string
	FWMark   uint32
}

// String is the rule as `ip rule` would be told it.
func (r Rule) String() string {
	var b strings.Builder
	if r.IPv6 {
		b.WriteString("-6 ")
	}
	if r.From.IsValid() {
		fmt.Fprintf(&b, "from %v ", r.From)
	}
	if r.To.IsValid() {
		fmt.Fprintf(&b, "to %v ", r.To)
	}
	if r.InputIf != "" {
		fmt.Fprintf(&b, "iif %s ", r.InputIf)
	}
	if r.OutputIf != "" {
		fmt.Fprintf(&b, "oif %s ", r.OutputIf)
	}
	if r.FWMark != 0 {
		fmt.Fprintf(&b, "fwmark %#x ", r.FWMark)
	}
	if r.Priority != 0 {
		fmt.Fprintf(&b, "priority %d ", r.Priority)
	}
	fmt.Fprintf(&b, "table %d", r.Table)
	return b.String()
}

// Kernel adds and deletes routes and rules.
type Kernel interface {
	// AddRoute adds r; a route already present is not an error.
	AddRoute(r Route) error
	// DelRoute deletes r; a route already absent is not an error.
	DelRoute(r Route) error
	// AddRule adds r; a rule already present is not an error.
	AddRule(r Rule) error
	// DelRule deletes r; a rule already absent is not an error.
	DelRule(r Rule) error
}

// Set is what follows one instance's Master state.
type Set struct {
	Routes []Route
	Rules  []Rule
}

// Empty reports whether there is nothing to install.
func (s Set) Empty() bool { return len(s.Routes) == 0 && len(s.Rules) == 0 }

// Install adds the routes, then the rules (a rule may send packets to a
// table the routes fill). It goes on after a failure, so that one bad
// route does not keep the others away, and returns every error.
func (s Set) Install(k Kernel) error {
	var errs []error
	for _, r := range s.Routes {
		if err := k.AddRoute(r); err != nil {
			errs = append(errs, fmt.Errorf("add route %v: %w", r, err))
		}
	}
	for _, r := range s.Rules {
		if err := k.AddRule(r); err != nil {
			errs = append(errs, fmt.Errorf("add rule %v: %w", r, err))
		}
	}
	return errors.Join(errs...)
}

// Remove deletes the rules, then the routes: the reverse of Install.
func (s Set) Remove(k Kernel) error {
	var errs []error
	for i := len(s.Rules) - 1; i >= 0; i-- {
		if err := k.DelRule(s.Rules[i]); err != nil {
			errs = append(errs, fmt.Errorf("delete rule %v: %w", s.Rules[i], err))
		}
	}
	for i := len(s.Routes) - 1; i >= 0; i-- {
		if err := k.DelRoute(s.Routes[i]); err != nil {
			errs = append(errs, fmt.Errorf("delete route %v: %w", s.Routes[i], err))
		}
	}
	return errors.Join(errs...)
}

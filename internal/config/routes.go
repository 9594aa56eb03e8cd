package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
)

// DeviceAddress is a virtual address the Master holds on another interface
// than the instance's (keepalived's `virtual_ipaddress { ADDR dev IF }`).
// It is listed in the adverts like the others.
type DeviceAddress struct {
	Address   netip.Prefix `yaml:"address"`
	Interface string       `yaml:"interface"`
}

// AllVirtualAddresses lists the addresses an advert carries: those on the
// instance's interface, then those on other interfaces.
func (in *Instance) AllVirtualAddresses() []netip.Prefix {
	if len(in.DeviceAddresses) == 0 {
		return in.VirtualAddresses
	}
	all := slices.Clone(in.VirtualAddresses)
	for _, d := range in.DeviceAddresses {
		all = append(all, d.Address)
	}
	return all
}

// Route is a route the Master installs and removes when it leaves the
// Master state (keepalived's virtual_routes), in `ip route` terms.
type Route struct {
	To netip.Prefix `yaml:"to"`
	// Via is the gateway; Nexthops instead make a multipath route.
	Via      netip.Addr `yaml:"via"`
	Nexthops []Nexthop  `yaml:"nexthops"`
	// Interface is the output device (ip route ... dev).
	Interface string `yaml:"interface"`
	// Source is the preferred source address (ip route ... src), usually a
	// virtual address: the route is added after the addresses.
	Source netip.Addr `yaml:"source"`
	// Table is the routing table; zero means main (254).
	Table int `yaml:"table"`
	// Scope is global (the default), link, host or site.
	Scope string `yaml:"scope"`
	// Type is unicast (the default), blackhole, unreachable or prohibit.
	Type   string `yaml:"type"`
	Metric int    `yaml:"metric"`
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via       netip.Addr `yaml:"via"`
	Interface string     `yaml:"interface"`
	Weight    int        `yaml:"weight"` // 1-256, default 1
}

// Rule is a policy routing rule the Master installs and removes when it
// leaves the Master state (keepalived's virtual_rules), in `ip rule` terms.
type Rule struct {
	From netip.Prefix `yaml:"from"`
	To   netip.Prefix `yaml:"to"`
	// Table is the table the rule looks up (required).
	Table int `yaml:"table"`
	// Priority is the rule's preference; rules without one get the
	// kernel's next free number, which depends on the order instances
	// become Master (keepalived.conf(5) warns of the same).
	Priority int    `yaml:"priority"`
	InputIf  string `yaml:"iif"`
	OutputIf string `yaml:"oif"`
	FWMark   uint32 `yaml:"fwmark"`
	IPv6Hint bool   `yaml:"ipv6"` // a rule with no address is IPv4 unless this is set
}

// RouteScopes and RouteTypes are the values Route accepts.
var (
	RouteScopes = []string{"global", "link", "host", "site"}
	RouteTypes  = []string{"unicast", "blackhole", "unreachable", "prohibit"}
)

func (in *Instance) validateFollowers(v *validator, p string) {
	for j, d := range in.DeviceAddresses {
		q := fmt.Sprintf("%s.device_addresses[%d]", p, j)
		switch {
		case !d.Address.IsValid():
			v.errorf(q+".address", "missing: the address to add")
		case d.Interface == "":
			v.errorf(q+".interface", "missing: the interface to add %v to (addresses on the instance's own interface go in virtual_addresses)", d.Address)
		case d.Interface == in.Interface:
			v.errorf(q+".interface", "%s is the instance's own interface: put %v in virtual_addresses", d.Interface, d.Address)
		case d.Address.Addr().Is6() != in.IPv6():
			v.errorf(q+".address", "%v: all virtual addresses of an instance must be of one family", d.Address)
		}
	}
	for j, r := range in.VirtualRoutes {
		r.validate(v, fmt.Sprintf("%s.virtual_routes[%d]", p, j))
	}
	for j, r := range in.VirtualRules {
		r.validate(v, fmt.Sprintf("%s.virtual_rules[%d]", p, j))
	}
}

func (r *Route) validate(v *validator, q string) {
	if !r.To.IsValid() {
		v.errorf(q+".to", "missing: the destination prefix (0.0.0.0/0 for a default route)")
		return
	}
	is6 := r.To.Addr().Is6()
	fam := func(f string, a netip.Addr) {
		if a.IsValid() && a.Is6() != is6 {
			v.errorf(q+f, "%v is not of the family of %v", a, r.To)
		}
	}
	fam(".via", r.Via)
	fam(".source", r.Source)
	if r.Table < 0 || r.Table > 1<<31-1 {
		v.errorf(q+".table", "%d is out of range 0-2147483647", r.Table)
	}
	if r.Metric < 0 {
		v.errorf(q+".metric", "must not be negative")
	}
	if r.Scope != "" && !slices.Contains(RouteScopes, r.Scope) {
		v.errorf(q+".scope", "%q: want one of %v", r.Scope, RouteScopes)
	}
	typ := r.Type
	if typ == "" {
		typ = "unicast"
	}
	switch {
	case !slices.Contains(RouteTypes, typ):
		v.errorf(q+".type", "%q: want one of %v", r.Type, RouteTypes)
	case typ != "unicast" && (r.Via.IsValid() || len(r.Nexthops) > 0 || r.Interface != ""):
		v.errorf(q+".type", "a %s route has no gateway or interface", typ)
	case typ == "unicast" && !r.Via.IsValid() && len(r.Nexthops) == 0 && r.Interface == "":
		v.errorf(q, "needs via, nexthops or interface: where the packets go")
	case r.Via.IsValid() && len(r.Nexthops) > 0:
		v.errorf(q+".nexthops", "give either via or nexthops")
	}
	for k, h := range r.Nexthops {
		hq := fmt.Sprintf("%s.nexthops[%d]", q, k)
		if !h.Via.IsValid() && h.Interface == "" {
			v.errorf(hq, "needs via or interface")
		}
		fam(fmt.Sprintf(".nexthops[%d].via", k), h.Via)
		if h.Weight < 0 || h.Weight > 256 {
			v.errorf(hq+".weight", "%d is out of range 1-256", h.Weight)
		}
	}
}

func (r *Rule) validate(v *validator, q string) {
	if r.Table <= 0 || r.Table > 1<<31-1 {
		v.errorf(q+".table", "missing or out of range 1-2147483647: the table the rule looks up")
	}
	if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is6() != r.To.Addr().Is6() {
		v.errorf(q+".to", "%v is not of the family of from %v", r.To, r.From)
	}
	if r.Priority < 0 || r.Priority > 1<<31-1 {
		v.errorf(q+".priority", "%d is out of range 0-2147483647", r.Priority)
	}
}

// IPv6 reports the rule's family.
func (r *Rule) IPv6() bool {
	switch {
	case r.From.IsValid():
		return r.From.Addr().Is6()
	case r.To.IsValid():
		return r.To.Addr().Is6()
	}
	return r.IPv6Hint
}

func (vs *VirtualServer) validateQuorumCommands(v *validator, p string) {
	for _, c := range []struct {
		field string
		cmd   []string
	}{{"quorum_up", vs.QuorumUp}, {"quorum_down", vs.QuorumDown}} {
		if len(c.cmd) > 0 && !filepath.IsAbs(c.cmd[0]) {
			v.errorf(p+"."+c.field, "%q must be an absolute path", c.cmd[0])
		}
	}
	if vs.Omega && len(vs.QuorumDown) == 0 {
		v.errorf(p+".omega", "set, but there is no quorum_down to run at shutdown")
	}
}

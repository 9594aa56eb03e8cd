package keepalivedconf

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hachat/hachat/internal/config"
)

// keepalived.conf(5) virtual_routes and virtual_rules: `ip route` and `ip
// rule` syntax, one per line, added when the instance becomes Master and
// removed when it leaves.

// routeTypes are the route types written before the destination.
var routeTypes = map[string]bool{"blackhole": true, "unreachable": true, "prohibit": true}

// tableNames are the tables every /etc/iproute2/rt_tables names.
var tableNames = map[string]int{"main": 254, "local": 255, "default": 253}

// words walks the words of one line.
type words struct {
	w []string
	i int
}

func (w *words) next() (string, bool) {
	if w.i >= len(w.w) {
		return "", false
	}
	w.i++
	return w.w[w.i-1], true
}

// arg is the word after keyword k, refused when missing.
func (c *converter) arg(s *Stmt, w *words, k string) (string, bool) {
	v, ok := w.next()
	if !ok {
		c.refuse(s, "%s needs a value", k)
	}
	return v, ok
}

// prefix reads an address with or without a length, as `ip route` does
// ("default" is 0.0.0.0/0).
func (c *converter) prefix(s *Stmt, v string) (netip.Prefix, bool) {
	if v == "default" {
		return netip.MustParsePrefix("0.0.0.0/0"), true
	}
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		c.refuse(s, "%q is not an address or prefix (keepalived rejects the line too)", v)
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (c *converter) table(s *Stmt, v string) int {
	if n, ok := tableNames[v]; ok {
		return n
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		c.refuse(s, "table %q: give the table's number (vrrpd does not read /etc/iproute2/rt_tables)", v)
	}
	return n
}

// virtualRoutes converts a virtual_routes block into b.
func (c *converter) virtualRoutes(k *Stmt, b *instBuild) {
	for _, s := range k.Children {
		r, track, ok := c.route(s)
		if !ok {
			continue
		}
		b.in.VirtualRoutes = append(b.in.VirtualRoutes, r)
		b.follow(r.Interface, track) // keepalived tracks a route's oif
	}
}

func (c *converter) route(s *Stmt) (r config.Route, track, ok bool) {
	w := &words{w: s.Words}
	ok, track = true, true
	inet6 := false
	for ok {
		k, more := w.next()
		if !more {
			break
		}
		switch {
		case routeTypes[k] && w.i == 1:
			r.Type = k
		case k == "inet6":
			inet6 = true
		case k == "src":
			v, have := c.arg(s, w, k)
			ok = have && c.parseAddr(s, v, &r.Source)
		case k == "via" || k == "gw":
			v, have := c.arg(s, w, k)
			ok = have && c.parseAddr(s, v, &r.Via)
		case k == "or":
			// keepalived's second gateway: a multipath route over both.
			var alt netip.Addr
			v, have := c.arg(s, w, k)
			if have && !r.Via.IsValid() {
				c.refuse(s, "or names a second gateway: give the first with via before it")
				have = false
			}
			if ok = have && c.parseAddr(s, v, &alt); ok {
				r.Nexthops = []config.Nexthop{{Via: r.Via}, {Via: alt}}
				r.Via = netip.Addr{}
			}
		case k == "dev" || k == "oif":
			r.Interface, ok = c.arg(s, w, k)
		case k == "scope":
			r.Scope, ok = c.arg(s, w, k)
			if ok && !slices.Contains(config.RouteScopes, r.Scope) {
				c.refuse(s, "scope %q: vrrpd knows %v", r.Scope, config.RouteScopes)
				ok = false
			}
		case k == "table":
			v, have := c.arg(s, w, k)
			ok = have
			r.Table = c.table(s, v)
		case k == "metric" || k == "priority" || k == "preference":
			v, have := c.arg(s, w, k)
			ok = have && c.number(s, k, v, &r.Metric)
		case k == "no_track":
			track = false
			c.info(s, "no_track: vrrpd does not watch routes once added, so none is reinstated before the next takeover, as with no_track")
		case k == "to":
		case !r.To.IsValid() && (k == "default" || strings.ContainsAny(k, ".:")):
			r.To, ok = c.prefix(s, k)
		default:
			c.refuse(s, "route option %q is not carried over: vrrpd adds routes with to, via/gw (or), dev, src, scope, table, metric and the blackhole, unreachable and prohibit types", k)
			ok = false
		}
	}
	if ok && !r.To.IsValid() {
		c.refuse(s, "no destination")
		ok = false
	}
	if inet6 && r.To == netip.MustParsePrefix("0.0.0.0/0") {
		r.To = netip.MustParsePrefix("::/0") // "default" of an inet6 route
	}
	return r, track, ok
}

func (c *converter) parseAddr(s *Stmt, v string, dst *netip.Addr) bool {
	a, err := netip.ParseAddr(v)
	if err != nil {
		c.refuse(s, "%q is not an address (keepalived rejects the line too)", v)
		return false
	}
	*dst = a
	return true
}

// virtualRules converts a virtual_rules block into b.
func (c *converter) virtualRules(k *Stmt, b *instBuild) {
	for _, s := range k.Children {
		r, track, ok := c.rule(s)
		if !ok {
			continue
		}
		b.in.VirtualRules = append(b.in.VirtualRules, r)
		b.follow(r.InputIf, track) // keepalived tracks a rule's iif and oif
		b.follow(r.OutputIf, track)
	}
}

func (c *converter) rule(s *Stmt) (r config.Rule, track, ok bool) {
	w := &words{w: s.Words}
	ok, track = true, true
	for ok {
		k, more := w.next()
		if !more {
			break
		}
		var v string
		switch k {
		case "inet6":
			r.IPv6Hint = true
			continue
		case "no_track":
			track = false
			c.info(s, "no_track: vrrpd does not watch rules once added, as with no_track")
			continue
		}
		if v, ok = c.arg(s, w, k); !ok {
			break
		}
		switch k {
		case "from":
			if v != "all" {
				r.From, ok = c.prefix(s, v)
			}
		case "to":
			if v != "all" {
				r.To, ok = c.prefix(s, v)
			}
		case "table", "lookup":
			r.Table = c.table(s, v)
		case "priority", "preference", "pref":
			ok = c.number(s, k, v, &r.Priority)
		case "iif":
			r.InputIf = v
		case "oif":
			r.OutputIf = v
		case "fwmark":
			m, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				c.refuse(s, "fwmark %q: vrrpd takes a mark without a mask", v)
				ok = false
			}
			r.FWMark = uint32(m)
		default:
			c.refuse(s, "rule option %q is not carried over: vrrpd adds rules with from, to, table, priority, iif, oif and fwmark", k)
			ok = false
		}
	}
	if ok && r.Table == 0 {
		c.refuse(s, "no table: vrrpd adds rules that look up a table")
		ok = false
	}
	if ok && r.Priority == 0 {
		c.info(s, "no preference: the kernel gives the rule the next free one, which depends on the order instances become Master; keepalived assigns one and warns alike (keepalived.conf(5))")
	}
	return r, track, ok
}

func (c *converter) number(s *Stmt, k, v string, dst *int) bool {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		c.refuse(s, "%s %q is not a whole number", k, v)
		return false
	}
	*dst = n
	return true
}

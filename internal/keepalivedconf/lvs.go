package keepalivedconf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hachat/hachat/internal/config"
)

// checkerDefaults are the checker settings a virtual_server or real_server
// block gives to the checkers inside it (keepalived 2.x allows them at
// every level; the innermost wins).
type checkerDefaults struct {
	delayLoop        time.Duration
	connectTimeout   *time.Duration
	retry            *int
	delayBeforeRetry *time.Duration
	virtualHost      string
	alpha            bool
	inhibit          bool
}

// generic reads a checker setting shared by all levels; false if k is not one.
func (c *converter) generic(k *Stmt, d *checkerDefaults) bool {
	switch k.Key() {
	case "delay_loop":
		d.delayLoop = c.duration(k, 1, time.Second)
	case "connect_timeout":
		d.connectTimeout = c.durationPtr(k, 1, time.Second)
	case "retry", "nb_get_retry":
		n := c.int(k, 1)
		d.retry = &n
	case "delay_before_retry":
		d.delayBeforeRetry = c.durationPtr(k, 1, time.Second)
	case "virtualhost":
		if len(k.Args()) == 1 {
			d.virtualHost = k.Args()[0]
		}
	case "alpha":
		d.alpha = boolArg(k)
	case "inhibit_on_failure":
		d.inhibit = boolArg(k)
	case "warmup":
		c.info(k, "vrrpd spreads the first probes of its checks over their interval itself")
	case "log_all_failures":
		c.info(k, "every failed probe is counted in vrrpd's metrics and shown by vrrpctl balancer")
	default:
		return false
	}
	return true
}

// nameReplacer turns an address:port into a service name.
var nameReplacer = strings.NewReplacer(".", "_", ":", "_", "[", "", "]", "")

// vsEntry is one member of a virtual server: an address:port or a mark.
type vsEntry struct {
	addr   netip.AddrPort
	fwmark uint32
}

// virtualServer converts "virtual_server IP PORT", "virtual_server fwmark N"
// or "virtual_server group NAME" (one service per member of the group).
func (c *converter) virtualServer(s *Stmt) {
	a := s.Args()
	var entries []vsEntry
	group := ""
	switch {
	case len(a) == 2 && a[0] == "group":
		g, ok := c.groups[a[1]]
		if !ok {
			c.refuse(s, "no virtual_server_group is named %q", a[1])
			return
		}
		group = a[1]
		c.usedGroups[a[1]] = true
		for _, m := range g.Children {
			entries = append(entries, c.groupEntry(m)...)
		}
		c.info(s, "one virtual server per member of group %s (%d), each with these real servers and its own checks: the real servers get %d times the probes keepalived sends them, with the same verdicts", group, len(entries), len(entries))
	case len(a) == 2 && a[0] == "fwmark":
		m, err := strconv.ParseUint(a[1], 0, 32)
		if err != nil || m == 0 {
			c.refuse(s, "bad fwmark %q", a[1])
			return
		}
		entries = []vsEntry{{fwmark: uint32(m)}}
	case len(a) == 2:
		ap, ok := c.addrPort(s, a[0], a[1])
		if !ok {
			return
		}
		entries = []vsEntry{{addr: ap}}
	default:
		c.refuse(s, "virtual_server needs IP PORT, fwmark N or group NAME")
		return
	}
	tmpl, ok := c.virtualServerBody(s, entries)
	if !ok {
		return
	}
	for _, e := range entries {
		vs := tmpl
		vs.RealServers = make([]config.RealServer, len(tmpl.RealServers))
		copy(vs.RealServers, tmpl.RealServers)
		if e.fwmark != 0 {
			vs.FWMark = e.fwmark
			vs.Protocol = ""
			vs.Name = fmt.Sprintf("fwmark-%d", e.fwmark)
		} else {
			vs.Address = e.addr
			vs.Name = nameReplacer.Replace(e.addr.String())
			for i := range vs.RealServers {
				if rs := &vs.RealServers[i]; rs.Address.Port() == 0 {
					// keepalived: a real server without a port takes the service's.
					rs.Address = netip.AddrPortFrom(rs.Address.Addr(), e.addr.Port())
				}
			}
			if ss := vs.SorryServer; ss != nil && ss.Port() == 0 {
				p := netip.AddrPortFrom(ss.Addr(), e.addr.Port())
				vs.SorryServer = &p
			}
		}
		if group != "" {
			vs.Name = group + "-" + vs.Name
		}
		c.cfg.VirtualServers = append(c.cfg.VirtualServers, vs)
	}
}

// groupEntry reads one member of a virtual_server_group: "IP PORT",
// "IP-LAST PORT" (a range in the last byte for IPv4, the last 16 bits for
// IPv6, as keepalived) or "fwmark N".
func (c *converter) groupEntry(m *Stmt) []vsEntry {
	w := m.Words
	if len(w) == 2 && w[0] == "fwmark" {
		n, err := strconv.ParseUint(w[1], 0, 32)
		if err != nil || n == 0 {
			c.refuse(m, "bad fwmark %q", w[1])
			return nil
		}
		return []vsEntry{{fwmark: uint32(n)}}
	}
	if len(w) != 2 {
		c.refuse(m, "a group member is IP PORT, IP-LAST PORT or fwmark N")
		return nil
	}
	first, last, isRange := strings.Cut(w[0], "-")
	ap, ok := c.addrPort(m, first, w[1])
	if !ok || !isRange {
		if ok {
			return []vsEntry{{addr: ap}}
		}
		return nil
	}
	base := 10
	if ap.Addr().Is6() {
		base = 16
	}
	end, err := strconv.ParseUint(last, base, 16)
	b := ap.Addr().As16()
	lo := uint64(b[15])
	if ap.Addr().Is6() {
		lo = uint64(b[14])<<8 | uint64(b[15])
	}
	if err != nil || end < lo || (ap.Addr().Is4() && end > 255) || end-lo > 1024 {
		c.refuse(m, "bad address range %q", w[0])
		return nil
	}
	var out []vsEntry
	for x := lo; x <= end; x++ {
		b[15] = byte(x)
		if ap.Addr().Is6() {
			b[14] = byte(x >> 8)
		}
		addr := netip.AddrFrom16(b)
		if ap.Addr().Is4() {
			addr = addr.Unmap()
		}
		out = append(out, vsEntry{addr: netip.AddrPortFrom(addr, ap.Port())})
	}
	return out
}

// virtualServerBody reads the block of a virtual server into a template.
func (c *converter) virtualServerBody(s *Stmt, entries []vsEntry) (config.VirtualServer, bool) {
	vs := config.VirtualServer{}
	d := checkerDefaults{delayLoop: time.Minute} // keepalived's default delay_loop
	fwmarkOnly := true
	for _, e := range entries {
		fwmarkOnly = fwmarkOnly && e.fwmark != 0
	}
	var rsStmts []*Stmt
	var omega *Stmt
	for _, k := range s.Children {
		a := k.Args()
		switch k.Key() {
		case "lb_algo", "lvs_sched":
			if len(a) == 1 {
				vs.Scheduler = strings.ToLower(a[0])
			}
		case "lb_kind", "lvs_method":
			vs.Forwarding = c.forwarding(k)
		case "protocol":
			if len(a) == 1 {
				vs.Protocol = strings.ToLower(a[0])
			}
			if fwmarkOnly {
				vs.Protocol = ""
				c.info(k, "a fwmark service matches on the mark alone: IPVS ignores the protocol")
			}
		case "persistence_timeout":
			if vs.Persistence == nil {
				vs.Persistence = &config.Persistence{}
			}
			vs.Persistence.Timeout = c.duration(k, 1, time.Second)
		case "persistence_granularity":
			if vs.Persistence == nil {
				vs.Persistence = &config.Persistence{Timeout: 6 * time.Minute}
			}
			if len(a) == 1 {
				vs.Persistence.Netmask = c.addr(k, a[0])
			}
		case "quorum":
			vs.Quorum = c.int(k, 1)
		case "hysteresis":
			vs.Hysteresis = c.int(k, 1)
		case "sorry_server":
			if ap, ok := c.serverAddr(k, fwmarkOnly); ok {
				vs.SorryServer = &ap
			}
		case "real_server":
			rsStmts = append(rsStmts, k)
		case "smtp_alert":
			on := boolArg(k)
			vs.SMTPAlert = &on
			c.alerts = append(c.alerts, k)
		case "ha_suspend":
			c.info(k, "vrrpd checks real servers on backups too, so a backup that takes over already knows which are up; the checks' verdicts are the same")
		case "quorum_up":
			vs.QuorumUp = c.command(k)
		case "quorum_down":
			vs.QuorumDown = c.command(k)
		case "omega":
			omega = k
		case "ops", "sorry_server_inhibit", "sorry_server_lvs_method":
			c.loss(k, "virtual_server option not carried over")
		default:
			if !c.generic(k, &d) {
				c.loss(k, "virtual_server option not carried over")
			}
		}
	}
	if omega != nil {
		if len(vs.QuorumDown) > 0 {
			vs.Omega = true
		} else {
			c.info(omega, "omega without quorum_down: keepalived has no quorum notifier to run at shutdown either")
		}
	}
	for _, k := range rsStmts {
		if rs, ok := c.realServer(k, d, fwmarkOnly); ok {
			vs.RealServers = append(vs.RealServers, rs)
		}
	}
	return vs, true
}

func (c *converter) forwarding(k *Stmt) string {
	a := k.Args()
	if len(a) == 0 {
		c.refuse(k, "missing forwarding method")
		return ""
	}
	f := map[string]string{"NAT": "nat", "DR": "dr", "TUN": "tun"}[strings.ToUpper(a[0])]
	switch {
	case f == "":
		c.refuse(k, "unknown forwarding method %q", a[0])
	case len(a) > 1:
		c.loss(k, "tunnel options %v are not carried over: vrrpd tunnels with ipip", a[1:])
	}
	return f
}

// serverAddr reads "IP [PORT]"; without a port the address gets port 0,
// filled in from the service (or kept 0 for a fwmark service, where IPVS
// keeps the packet's port).
func (c *converter) serverAddr(s *Stmt, fwmark bool) (netip.AddrPort, bool) {
	a := s.Args()
	switch len(a) {
	case 1:
		ad, err := netip.ParseAddr(a[0])
		if err != nil {
			c.refuse(s, "not an address: %v", err)
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(ad, 0), true
	case 2:
		return c.addrPort(s, a[0], a[1])
	}
	c.refuse(s, "%s needs IP [PORT]", s.Key())
	return netip.AddrPort{}, false
}

func (c *converter) realServer(s *Stmt, d checkerDefaults, fwmark bool) (config.RealServer, bool) {
	ap, ok := c.serverAddr(s, fwmark)
	if !ok {
		return config.RealServer{}, false
	}
	rs := config.RealServer{Address: ap}
	var checkers []*Stmt
	for _, k := range s.Children {
		switch k.Key() {
		case "weight":
			w := c.int(k, 1)
			rs.Weight = &w
		case "uthreshold":
			rs.UpperThreshold = c.int(k, 1)
		case "lthreshold":
			rs.LowerThreshold = c.int(k, 1)
		case "lb_kind", "lvs_method":
			rs.Forwarding = c.forwarding(k)
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK":
			checkers = append(checkers, k)
		case "smtp_alert":
			on := boolArg(k)
			rs.SMTPAlert = &on
			c.alerts = append(c.alerts, k)
		case "notify_up", "notify_down":
			c.loss(k, "real-server notify hooks are not supported: watch vrrpctl events or the metrics")
		default:
			if !c.generic(k, &d) {
				c.loss(k, "real_server option not carried over")
			}
		}
	}
	if d.alpha {
		f := false
		rs.InitiallyUp = &f
	}
	var checks []config.Check
	for _, k := range checkers {
		checks = append(checks, c.checker(k, d)...)
	}
	if len(checks) > 0 {
		c.sameSchedule(s, checks)
		rs.Check = &checks[0]
		if len(checks) > 1 {
			rs.Checks = checks[1:]
		}
	} else if d.inhibit {
		c.info(s, "inhibit_on_failure without a checker has no effect")
	}
	return rs, true
}

// sameSchedule makes the checks of one real server share the first one's
// schedule, as vrrpd runs them together; keepalived runs each checker on
// its own, so a difference is a loss.
func (c *converter) sameSchedule(s *Stmt, checks []config.Check) {
	f := checks[0]
	noted := false
	for i := 1; i < len(checks); i++ {
		ch := &checks[i]
		if !noted && (ch.Interval != f.Interval || ch.RetryInterval != f.RetryInterval || ch.Fall != f.Fall || ch.Rise != f.Rise) {
			noted = true
			c.loss(s, "the checkers of this real server run on different schedules; vrrpd runs them together on the first one's (every %v, fall %d)", f.Interval, f.Fall)
		}
		ch.Interval, ch.RetryInterval, ch.Fall, ch.Rise = f.Interval, f.RetryInterval, f.Fall, f.Rise
	}
}

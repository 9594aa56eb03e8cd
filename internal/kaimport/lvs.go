package kaimport

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hachat/hachat/internal/config"
)

// virtualServer converts "virtual_server IP PORT { ... }" or "virtual_server fwmark N { ... }".
func (c *converter) virtualServer(s *Stmt) {
	a := s.Args()
	vs := config.VirtualServer{}
	switch {
	case len(a) == 2 && a[0] == "fwmark":
		m, err := strconv.ParseUint(a[1], 0, 32)
		if err != nil {
			c.note(s, "bad fwmark: %v", err)
			return
		}
		vs.FWMark = uint32(m)
		vs.Name = "fwmark-" + a[1]
	case len(a) == 2 && a[0] == "group":
		c.note(s, "virtual_server group is not supported: write one virtual server per address")
		return
	case len(a) == 2:
		ap, ok := c.addrPort(s, a[0], a[1])
		if !ok {
			return
		}
		vs.Address = ap
		vs.Name = strings.NewReplacer(".", "_", ":", "_").Replace(ap.String())
	default:
		c.note(s, "virtual_server needs IP PORT or fwmark N")
		return
	}
	delayLoop := time.Minute // keepalived's default delay_loop
	virtualHost := ""
	startDown := false
	var rsStmts []*Stmt
	for _, k := range s.Children {
		a := k.Args()
		switch k.Key() {
		case "delay_loop":
			delayLoop = c.duration(k, 1, time.Second)
		case "lb_algo", "lvs_sched":
			if len(a) == 1 {
				vs.Scheduler = strings.ToLower(a[0])
			}
		case "lb_kind", "lvs_method":
			if len(a) == 1 {
				vs.Forwarding = map[string]string{"NAT": "nat", "DR": "dr", "TUN": "tun"}[strings.ToUpper(a[0])]
				if vs.Forwarding == "" {
					c.note(k, "unknown forwarding method")
				}
			}
		case "protocol":
			if len(a) == 1 {
				vs.Protocol = strings.ToLower(a[0])
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
			if len(a) == 2 {
				if ap, ok := c.addrPort(k, a[0], a[1]); ok {
					vs.SorryServer = &ap
				}
			}
		case "virtualhost":
			if len(a) == 1 {
				virtualHost = a[0]
			}
		case "alpha":
			startDown = true
		case "real_server":
			rsStmts = append(rsStmts, k)
		case "omega", "quorum_up", "quorum_down", "ha_suspend", "ops", "retry", "delay_before_retry":
			c.note(k, "virtual_server option not carried over")
		default:
			c.note(k, "virtual_server option not carried over")
		}
	}
	for _, k := range rsStmts {
		if rs, ok := c.realServer(k, delayLoop, virtualHost, startDown); ok {
			vs.RealServers = append(vs.RealServers, rs)
		}
	}
	c.cfg.VirtualServers = append(c.cfg.VirtualServers, vs)
}

func (c *converter) realServer(s *Stmt, delayLoop time.Duration, virtualHost string, startDown bool) (config.RealServer, bool) {
	a := s.Args()
	if len(a) != 2 {
		c.note(s, "real_server needs IP PORT")
		return config.RealServer{}, false
	}
	ap, ok := c.addrPort(s, a[0], a[1])
	if !ok {
		return config.RealServer{}, false
	}
	rs := config.RealServer{Address: ap}
	if startDown {
		f := false
		rs.InitiallyUp = &f
	}
	inhibit := false
	for _, k := range s.Children {
		switch k.Key() {
		case "weight":
			w := c.int(k, 1)
			rs.Weight = &w
		case "inhibit_on_failure":
			inhibit = true
		case "uthreshold":
			rs.UpperThreshold = c.int(k, 1)
		case "lthreshold":
			rs.LowerThreshold = c.int(k, 1)
		case "lb_kind", "lvs_method":
			if len(k.Args()) == 1 {
				rs.Forwarding = strings.ToLower(k.Args()[0])
			}
		case "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK":
			if rs.Check != nil {
				c.note(k, "vrrpd runs one check per real server; this additional checker is dropped")
				continue
			}
			rs.Check = c.check(k, delayLoop, virtualHost)
		case "notify_up", "notify_down":
			c.note(k, "real-server notify hooks are not supported: watch the event stream or metrics")
		default:
			c.note(k, "real_server option not carried over")
		}
	}
	if rs.Check != nil {
		rs.Check.InhibitOnFailure = inhibit
	} else if inhibit {
		c.note(s, "inhibit_on_failure without a checker has no effect")
	}
	return rs, true
}

// check converts one keepalived checker. keepalived retries a failed check
// `retry` times, delay_before_retry apart, before it takes the server out:
// that is fall = retry+1 consecutive failures, here all at the check interval.
func (c *converter) check(s *Stmt, delayLoop time.Duration, virtualHost string) *config.Check {
	ck := &config.Check{Interval: delayLoop, Timeout: 5 * time.Second, Rise: 1, Fall: 2, Host: virtualHost}
	switch s.Key() {
	case "TCP_CHECK":
		ck.Type = "tcp"
	case "HTTP_GET":
		ck.Type = "http"
	case "SSL_GET":
		ck.Type = "https"
	case "MISC_CHECK":
		ck.Type = "exec"
	}
	retryNoted := false
	for _, k := range s.Children {
		switch k.Key() {
		case "connect_timeout", "misc_timeout":
			ck.Timeout = c.duration(k, 1, time.Second)
		case "connect_port":
			ck.Port = c.int(k, 1)
		case "retry", "nb_get_retry":
			ck.Fall = c.int(k, 1) + 1
		case "delay_before_retry":
			if !retryNoted {
				c.note(k, "retries run at the check interval, not delay_before_retry")
				retryNoted = true
			}
		case "virtualhost":
			if len(k.Args()) == 1 {
				ck.Host = k.Args()[0]
			}
		case "url":
			if ck.Path != "" {
				c.note(k, "only the first url is checked")
				continue
			}
			for _, u := range k.Children {
				switch u.Key() {
				case "path":
					if len(u.Args()) == 1 {
						ck.Path = u.Args()[0]
					}
				case "status_code":
					for i := 1; i < len(u.Words); i++ {
						ck.Status = append(ck.Status, c.int(u, i))
					}
				case "digest":
					c.note(u, "body digests are not checked; the status code is")
				default:
					c.note(u, "url option not carried over")
				}
			}
		case "misc_path":
			ck.Command = c.argv(k)
		case "misc_dynamic":
			c.note(k, "misc_dynamic (weight from the exit code) is not supported: exit 0 is up, anything else down")
		default:
			c.note(k, "checker option not carried over")
		}
	}
	if ck.Type == "https" && ck.SNI == "" && ck.Host != "" {
		ck.SNI = ck.Host
	}
	return ck
}

func (c *converter) addrPort(s *Stmt, ip, port string) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		c.note(s, "not an address: %v", err)
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		c.note(s, "not a port: %q", port)
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(p)), true
}

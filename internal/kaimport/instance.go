package kaimport

import (
	"net/netip"
	"strings"
	"time"

	"github.com/hachat/hachat/internal/config"
)

func (c *converter) instance(s *Stmt) {
	if len(s.Args()) != 1 {
		c.note(s, "vrrp_instance needs a name")
		return
	}
	in := config.Instance{Name: s.Args()[0], AdvertInterval: time.Second, Gratuitous: c.garp}
	var preemptDelay, useVMAC *Stmt
	xmitBase := false
	for _, k := range s.Children {
		a := k.Args()
		switch k.Key() {
		case "state":
			if len(a) == 1 && a[0] == "MASTER" {
				c.note(k, "initial state is not carried over: vrrpd starts as backup and elects by priority within Master_Down_Interval (priority 255, the address owner, takes over at once)")
			}
		case "interface":
			if len(a) == 1 {
				in.Interface = a[0]
			}
		case "virtual_router_id":
			in.VRID = c.int(k, 1)
		case "priority":
			in.Priority = c.int(k, 1)
		case "advert_int":
			in.AdvertInterval = c.duration(k, 1, time.Second)
		case "virtual_ipaddress", "virtual_ipaddress_excluded":
			for _, v := range k.Children {
				if p, ok := c.vip(v, in.Interface); ok {
					in.VirtualAddresses = append(in.VirtualAddresses, p)
				}
			}
			if k.Key() == "virtual_ipaddress_excluded" {
				c.note(k, "excluded addresses are carried over as ordinary virtual addresses (they are advertised too)")
			}
		case "nopreempt":
			f := false
			in.Preempt = &f
		case "preempt":
			t := true
			in.Preempt = &t
		case "preempt_delay":
			preemptDelay = k
			in.PreemptDelay = c.duration(k, 1, time.Second)
		case "accept":
			t := true
			in.Accept = &t
		case "no_accept":
			f := false
			in.Accept = &f
		case "unicast_src_ip":
			if len(a) == 1 {
				in.UnicastSource = c.addr(k, a[0])
			}
		case "unicast_peer":
			for _, p := range k.Children {
				if len(p.Words) > 1 {
					c.note(p, "per-peer options are not supported; the address is kept")
				}
				if len(p.Words) > 0 {
					if ad := c.addr(p, p.Words[0]); ad.IsValid() {
						in.UnicastPeers = append(in.UnicastPeers, ad)
					}
				}
			}
		case "track_interface":
			for _, t := range k.Children {
				ti := config.TrackInterface{Name: t.Key()}
				if len(t.Words) == 3 && t.Words[1] == "weight" {
					ti.Weight = c.int(t, 2)
				}
				in.TrackInterfaces = append(in.TrackInterfaces, ti)
			}
		case "track_script":
			for _, t := range k.Children {
				ref := config.TrackRef{Name: t.Key()}
				if len(t.Words) >= 3 && t.Words[1] == "weight" {
					w := c.int(t, 2)
					ref.Weight = &w
				}
				in.TrackScripts = append(in.TrackScripts, ref)
			}
		case "track_file":
			for _, t := range k.Children {
				tf, ok := c.trackFiles[t.Key()]
				if !ok {
					c.note(t, "no vrrp_track_file of that name")
					continue
				}
				if len(t.Words) >= 3 && t.Words[1] == "weight" {
					tf.Weight = c.int(t, 2)
				}
				in.TrackFiles = append(in.TrackFiles, tf)
			}
		case "garp_master_delay":
			in.Gratuitous.SecondDelay = c.durationPtr(k, 1, time.Second)
		case "garp_master_repeat":
			in.Gratuitous.Repeat = c.int(k, 1)
		case "garp_master_refresh":
			in.Gratuitous.Refresh = c.duration(k, 1, time.Second)
		case "garp_master_refresh_repeat":
			in.Gratuitous.RefreshRepeat = c.int(k, 1)
		case "garp_interval", "gna_interval":
			in.Gratuitous.Interval = c.duration(k, 1, time.Second)
		case "authentication":
			c.note(k, "VRRPv3 has no authentication (RFC 5798 §9 removed it); dropped")
		case "version":
			if len(a) == 1 && a[0] != "3" {
				c.note(k, "vrrpd speaks VRRPv3 only; this instance was VRRPv%s", a[0])
			}
		case "lvs_sync_daemon_interface":
			if len(a) == 1 {
				c.cfg.LVSSync = &config.LVSSync{Interface: a[0], Instance: in.Name}
			}
		case "mcast_src_ip":
			c.note(k, "the advert source is the interface's primary address; use unicast_source with unicast peers to pin it")
		case "use_vmac":
			useVMAC = k
			in.VMAC = true
			if len(a) == 1 {
				in.VMACInterface = a[0]
			}
		case "vmac_xmit_base":
			xmitBase = true
		case "dont_track_primary":
			c.note(k, "vrrpd always tracks the instance's own interface")
		case "smtp_alert":
			c.note(k, "e-mail alerts are not supported: use notify hooks or the event stream")
		case "virtual_routes", "virtual_rules":
			c.note(k, "virtual routes and rules are not supported: add them from a notify_master hook")
		default:
			if !c.notify(k, &in.Notify) {
				c.note(k, "vrrp_instance option not carried over")
			}
		}
	}
	if in.Preempt != nil && !*in.Preempt && in.PreemptDelay > 0 {
		// keepalived ignores preempt_delay under nopreempt; vrrpd refuses the pair.
		c.note(preemptDelay, "dropped: it has no effect with nopreempt")
		in.PreemptDelay = 0
	}
	if in.VMAC && !xmitBase {
		c.note(useVMAC, "adverts leave by the interface itself, as with keepalived's vmac_xmit_base; the virtual MAC carries the addresses")
	}
	if in.Accept == nil && c.strict {
		f := false
		in.Accept = &f
	}
	c.cfg.Instances = append(c.cfg.Instances, in)
}

// vip reads one virtual_ipaddress line: ADDR[/LEN] [brd X] [dev IF] [scope S] [label L].
func (c *converter) vip(v *Stmt, iface string) (netip.Prefix, bool) {
	if len(v.Words) == 0 {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(v.Words[0])
	if err != nil {
		a, aerr := netip.ParseAddr(v.Words[0])
		if aerr != nil {
			c.note(v, "not an address: %v", err)
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen()) // keepalived's default: a host address
	}
	for i := 1; i+1 < len(v.Words); i += 2 {
		switch v.Words[i] {
		case "dev":
			if v.Words[i+1] != iface {
				c.note(v, "the address is added to the instance's interface %s, not %s", iface, v.Words[i+1])
			}
		case "label", "scope", "brd", "broadcast":
			c.note(v, "%s is not carried over; vrrpd adds the address with defaults", v.Words[i])
		default:
			c.note(v, "option %q not carried over", v.Words[i])
		}
	}
	return p, true
}

func (c *converter) addr(s *Stmt, w string) netip.Addr {
	a, err := netip.ParseAddr(w)
	if err != nil {
		c.note(s, "not an address: %v", err)
	}
	return a
}

// argv splits a keepalived script string ("/path/to/x arg1 'arg 2'") into an argv.
func (c *converter) argv(s *Stmt) []string {
	if len(s.Args()) == 0 {
		c.note(s, "no command given")
		return nil
	}
	// The lexer already grouped double-quoted words; a quoted whole command is one word to split again.
	var out []string
	for _, w := range s.Args() {
		if strings.ContainsAny(w, " \t") {
			parts, err := splitLine(strings.ReplaceAll(w, "'", "\""))
			if err == nil {
				out = append(out, parts...)
				continue
			}
		}
		out = append(out, w)
	}
	return out
}

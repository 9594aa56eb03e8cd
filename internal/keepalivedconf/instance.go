package keepalivedconf

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hachat/hachat/internal/config"
)

// instBuild is a vrrp_instance being converted: the result so far and the
// lines whose meaning depends on others, settled once the block is read.
type instBuild struct {
	in                   config.Instance
	preemptDelay, auth   *Stmt
	versionSet, xmitBase bool
	seen                 map[netip.Prefix]bool // virtual addresses already added
	// followIfs are the other interfaces the instance's addresses, routes
	// and rules use, which keepalived tracks (see trackFollowers).
	followIfs []string
}

// follow records an interface an address, route or rule of the instance
// uses; track is false for keepalived's no_track.
func (b *instBuild) follow(ifname string, track bool) {
	if track && ifname != "" && !slices.Contains(b.followIfs, ifname) {
		b.followIfs = append(b.followIfs, ifname)
	}
}

// trackFollowers tracks, with weight 0, the interfaces the instance's
// device addresses, routes and rules use: keepalived puts the instance in
// FAULT while one is down, since it could not add them there (vrrp.c
// vrrp_complete_instance: TRACK_ADDR, TRACK_ROUTE, TRACK_RULE), unless the
// line says no_track.
func (c *converter) trackFollowers(s *Stmt, b *instBuild) {
	var added []string
	for _, ifn := range b.followIfs {
		if ifn == b.in.Interface || slices.ContainsFunc(b.in.TrackInterfaces, func(t config.TrackInterface) bool { return t.Name == ifn }) {
			continue
		}
		b.in.TrackInterfaces = append(b.in.TrackInterfaces, config.TrackInterface{Name: ifn})
		added = append(added, ifn)
	}
	if len(added) > 0 {
		c.info(s, "keepalived faults the instance while an interface its addresses, routes or rules use is down (no_track aside): %s tracked with weight 0, which does the same", strings.Join(added, ", "))
	}
}

// instance converts one vrrp_instance block: each line by the first step
// that knows its keyword, then the settings that depend on several lines.
func (c *converter) instance(s *Stmt) {
	if len(s.Args()) != 1 {
		c.refuse(s, "vrrp_instance needs a name")
		return
	}
	b := &instBuild{
		in:   config.Instance{Name: s.Args()[0], AdvertInterval: time.Second, Gratuitous: c.garp, Version: c.version},
		seen: map[netip.Prefix]bool{},
	}
	for _, k := range s.Children {
		switch {
		case c.instanceElection(b, k), c.instanceAddresses(b, k), c.instanceTracking(b, k),
			c.instanceGratuitous(b, k), c.instanceTransport(b, k):
		case c.notify(k, &b.in.Notify, "INSTANCE"):
		default:
			c.loss(k, "vrrp_instance option not carried over")
		}
	}
	c.settleInstance(s, b)
	c.cfg.Instances = append(c.cfg.Instances, b.in)
}

// instanceElection reads what decides the election: identity, priority,
// timing, preemption and the protocol version.
func (c *converter) instanceElection(b *instBuild, k *Stmt) bool {
	in, a := &b.in, k.Args()
	switch k.Key() {
	case "state":
		if len(a) == 1 && a[0] == "MASTER" {
			c.info(k, "the initial state only shortens the first election: vrrpd starts as backup and the highest priority is master within Master_Down_Interval, as keepalived ends up (priority 255, the address owner, takes over at once)")
		}
	case "interface":
		if len(a) == 1 {
			in.Interface = a[0]
		}
	case "virtual_router_id":
		in.VRID = c.int(k, 1)
	case "priority":
		in.Priority = c.int(k, 1)
		if in.Priority < 1 || in.Priority > 255 {
			c.refuse(k, "priority must be 1-255")
		}
	case "advert_int":
		in.AdvertInterval = c.duration(k, 1, time.Second)
		if in.AdvertInterval <= 0 {
			c.refuse(k, "advert_int must be positive")
		}
	case "nopreempt":
		f := false
		in.Preempt = &f
	case "preempt":
		t := true
		in.Preempt = &t
	case "preempt_delay":
		b.preemptDelay = k
		in.PreemptDelay = c.duration(k, 1, time.Second)
	case "version":
		if len(a) == 1 && (a[0] == "2" || a[0] == "3") {
			in.Version = c.int(k, 1)
			b.versionSet = true
		} else {
			c.refuse(k, "version must be 2 or 3")
		}
	case "authentication":
		b.auth = k
	default:
		return false
	}
	return true
}

// instanceAddresses reads the addresses the Master holds and who may use them.
func (c *converter) instanceAddresses(b *instBuild, k *Stmt) bool {
	in := &b.in
	switch k.Key() {
	case "virtual_ipaddress", "virtual_ipaddress_excluded":
		for _, v := range k.Children {
			p, dev, track, ok := c.vip(v, in.Interface)
			switch {
			case !ok:
			case b.seen[p]:
				// keepalived adds the address once; the second add fails (EEXIST).
				c.info(v, "%v is listed twice: added once, as keepalived ends up doing", p)
			case dev != "":
				b.seen[p] = true
				in.DeviceAddresses = append(in.DeviceAddresses, config.DeviceAddress{Address: p, Interface: dev})
				b.follow(dev, track)
			default:
				b.seen[p] = true
				in.VirtualAddresses = append(in.VirtualAddresses, p)
			}
		}
		if k.Key() == "virtual_ipaddress_excluded" {
			c.info(k, "excluded addresses are carried over as ordinary virtual addresses: added and removed with the others, and listed in adverts too")
		}
	case "accept":
		t := true
		in.Accept = &t
	case "no_accept":
		f := false
		in.Accept = &f
	case "virtual_routes":
		c.virtualRoutes(k, b)
	case "virtual_rules":
		c.virtualRules(k, b)
	default:
		return false
	}
	return true
}

// instanceTracking reads what changes the priority or faults the instance.
func (c *converter) instanceTracking(b *instBuild, k *Stmt) bool {
	in := &b.in
	switch k.Key() {
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
				c.refuse(t, "no vrrp_track_file of that name")
				continue
			}
			if len(t.Words) >= 3 && t.Words[1] == "weight" {
				tf.Weight = c.int(t, 2)
			}
			in.TrackFiles = append(in.TrackFiles, tf)
		}
	case "dont_track_primary":
		c.loss(k, "vrrpd always tracks the instance's own interface: the instance faults when it goes down")
	case "smtp_alert":
		in.SMTPAlert = boolArg(k)
		c.setAlert(in.Name, k)
	default:
		return false
	}
	return true
}

// instanceGratuitous reads the gratuitous ARP / unsolicited NA settings.
func (c *converter) instanceGratuitous(b *instBuild, k *Stmt) bool {
	g := &b.in.Gratuitous
	switch k.Key() {
	case "garp_master_delay":
		g.SecondDelay = c.durationPtr(k, 1, time.Second)
	case "garp_master_repeat":
		g.Repeat = c.int(k, 1)
	case "garp_master_refresh":
		g.Refresh = c.duration(k, 1, time.Second)
	case "garp_master_refresh_repeat":
		g.RefreshRepeat = c.int(k, 1)
	case "garp_interval", "gna_interval":
		g.Interval = c.duration(k, 1, time.Second)
	default:
		return false
	}
	return true
}

// instanceTransport reads how adverts travel: unicast, virtual MAC, and the
// LVS sync daemon that follows the instance.
func (c *converter) instanceTransport(b *instBuild, k *Stmt) bool {
	in, a := &b.in, k.Args()
	switch k.Key() {
	case "unicast_src_ip":
		if len(a) == 1 {
			in.UnicastSource = c.addr(k, a[0])
		}
	case "unicast_peer":
		for _, p := range k.Children {
			if len(p.Words) > 1 {
				c.loss(p, "per-peer options are not supported; the address is kept")
			}
			if len(p.Words) > 0 {
				if ad := c.addr(p, p.Words[0]); ad.IsValid() {
					in.UnicastPeers = append(in.UnicastPeers, ad)
				}
			}
		}
	case "mcast_src_ip":
		c.loss(k, "multicast adverts leave from the interface's primary address; use unicast_source with unicast peers to pin the source")
	case "use_vmac":
		in.VMAC = true
		if len(a) == 1 {
			in.VMACInterface = a[0]
		}
	case "vmac_xmit_base":
		b.xmitBase = true
	case "lvs_sync_daemon_interface":
		if len(a) == 1 {
			c.cfg.LVSSync = &config.LVSSync{Interface: a[0], Instance: in.Name}
		}
	default:
		return false
	}
	return true
}

// settleInstance applies what depends on several lines or on keepalived's
// defaults, once the whole block is read.
func (c *converter) settleInstance(s *Stmt, b *instBuild) {
	in := &b.in
	if in.Preempt != nil && !*in.Preempt && in.PreemptDelay > 0 {
		// keepalived ignores preempt_delay under nopreempt; vrrpd refuses the pair.
		c.info(b.preemptDelay, "dropped: it has no effect with nopreempt")
		in.PreemptDelay = 0
	}
	in.VMACXmitBase = in.VMAC && b.xmitBase
	if in.VMAC && !b.xmitBase && len(in.UnicastPeers) > 0 {
		// keepalived: "unicast with use_vmac requires vmac_xmit_base - setting".
		in.VMACXmitBase = true
		c.info(s, "use_vmac with unicast peers: keepalived sets vmac_xmit_base itself, and so does the result")
	}
	if in.IPv6() && in.Version == 2 && !b.versionSet {
		in.Version = 3 // keepalived runs IPv6 instances as VRRPv3 whatever vrrp_version says
	}
	if in.Version == 2 && in.AdvertInterval%time.Second != 0 {
		c.refuse(s, "VRRPv2 (keepalived's default without vrrp_version 3) has whole-second advert intervals (RFC 3768 §5.3.7), and keepalived rounds advert_int %v: say vrrp_version 3 (or version 3 in the instance) or a whole number of seconds", in.AdvertInterval)
	}
	if b.auth != nil {
		c.authentication(b.auth, in)
	}
	c.trackFollowers(s, b)
	if in.Accept == nil && c.strict {
		f := false
		in.Accept = &f
	}
}

// vip reads one virtual_ipaddress line: ADDR[/LEN] [brd X] [dev IF] [scope
// S] [label L] [no_track]; dev is the interface when it is not the
// instance's, track whether keepalived faults the instance while dev is
// down (it does unless no_track: it could not add the address there).
func (c *converter) vip(v *Stmt, iface string) (p netip.Prefix, dev string, track, ok bool) {
	if len(v.Words) == 0 {
		return netip.Prefix{}, "", false, false
	}
	p, err := netip.ParsePrefix(v.Words[0])
	if err != nil {
		a, aerr := netip.ParseAddr(v.Words[0])
		if aerr != nil {
			c.refuse(v, "not an address: %v", err)
			return netip.Prefix{}, "", false, false
		}
		p = netip.PrefixFrom(a, a.BitLen()) // keepalived's default: a host address
	}
	track = true
	for i := 1; i < len(v.Words); i += 2 {
		if v.Words[i] == "no_track" {
			track = false
			i--
			continue
		}
		if i+1 >= len(v.Words) {
			c.loss(v, "option %q without a value is not carried over", v.Words[i])
			break
		}
		switch v.Words[i] {
		case "dev":
			if v.Words[i+1] != iface {
				dev = v.Words[i+1]
			}
		case "label":
			c.info(v, "the label only names the address for ifconfig (%s); the address itself is carried over", v.Words[i+1])
		case "brd", "broadcast":
			c.info(v, "the broadcast address is derived from the prefix, as ip addr add does with brd +")
		case "scope":
			if v.Words[i+1] != "global" {
				c.loss(v, "scope %s is not carried over: vrrpd adds addresses with scope global", v.Words[i+1])
			}
		default:
			c.loss(v, "option %q not carried over", v.Words[i])
		}
	}
	return p, dev, track, true
}

func (c *converter) addr(s *Stmt, w string) netip.Addr {
	a, err := netip.ParseAddr(w)
	if err != nil {
		c.refuse(s, "not an address: %v", err)
	}
	return a
}

// authentication carries keepalived's VRRPv2 authentication block:
// auth_type PASS becomes the instance's simple text password (RFC 3768
// §5.3.6), which keepalived peers check. Where keepalived itself ignores
// the block (VRRPv3, vrrp_strict, no auth_pass) so does the result; AH,
// which RFC 3768 removed, is refused: its keepalived peers drop vrrpd's
// adverts.
func (c *converter) authentication(k *Stmt, in *config.Instance) {
	var typ, pass *Stmt
	for _, s := range k.Children {
		switch s.Key() {
		case "auth_type":
			typ = s
		case "auth_pass":
			pass = s
		default:
			c.loss(s, "authentication option not carried over")
		}
	}
	switch {
	case typ == nil || len(typ.Args()) != 1:
		c.info(k, "no auth_type: keepalived runs without authentication, and so does vrrpd")
		return
	case typ.Args()[0] != "PASS" && typ.Args()[0] != "AH":
		c.info(typ, "keepalived ignores an unknown auth_type and runs without authentication, and so does vrrpd")
		return
	case in.Version != 2:
		c.info(k, "keepalived ignores authentication with VRRP version 3, and so does vrrpd")
		return
	case c.strict:
		c.info(k, "keepalived ignores authentication under vrrp_strict, and so does vrrpd")
		return
	case typ.Args()[0] == "AH":
		c.refuse(typ, "auth_type AH (the IPsec AH authentication of RFC 2338) cannot be carried over: RFC 3768 removed it and RFC 5798 has no authentication at all, so no VRRP router but keepalived speaks it, and a keepalived peer that keeps it drops every advert without it (two masters in a mixed cluster); change the keepalived side to auth_type PASS or remove the authentication block, then import again")
		return
	case pass == nil || len(pass.Args()) != 1 || pass.Args()[0] == "":
		c.info(k, "auth_type PASS without auth_pass: keepalived ignores the block, and so does vrrpd")
		return
	}
	pw := pass.Args()[0]
	if len(pw) > 8 {
		c.info(pass, "keepalived truncates auth_pass to its first 8 bytes, the Authentication Data of RFC 3768 §5.3.10: carried over as %q", pw[:8])
		pw = pw[:8]
	}
	in.Authentication = config.Authentication{Type: config.AuthPass, Password: pw}
}

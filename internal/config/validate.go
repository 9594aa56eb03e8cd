package config

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
)

// Defaults applied before validation.
const (
	DefaultControlSocket  = "/run/vrrpd/vrrpd.sock"
	DefaultAdvertInterval = time.Second
	DefaultPriority       = 100 // keepalived's default, vrrpd.yaml(5)
	DefaultVersion        = 3
	// Values of Instance.Checksum.
	ChecksumStrict       = "strict"
	ChecksumLenient      = "lenient"
	DefaultNotifyTimeout = 10 * time.Second
	// DefaultSMTPConnectTimeout is keepalived's smtp_connect_timeout.
	DefaultSMTPConnectTimeout = 30 * time.Second
	// DefaultRealtimePriority is low among realtime priorities: above every
	// normal process, below the kernel's own threads and anything an
	// operator has raised on purpose.
	DefaultRealtimePriority = 10

	DefaultGratuitousRepeat = 5               // keepalived garp_master_repeat
	DefaultGratuitousDelay  = 5 * time.Second // keepalived garp_master_delay
	DefaultScriptInterval   = time.Second
	DefaultFileInterval     = time.Second

	maxWeight = 253 // keepalived: weights -253..253 keep a 1..254 priority reachable
)

func (c *Config) applyDefaults() {
	if c.Global.ControlSocket == "" {
		c.Global.ControlSocket = DefaultControlSocket
	}
	if c.Global.LogLevel == "" {
		c.Global.LogLevel = "info"
	}
	if c.Global.Dataplane == "" {
		c.Global.Dataplane = "auto"
	}
	if c.Global.RealtimePriority == nil {
		p := DefaultRealtimePriority
		c.Global.RealtimePriority = &p
	}
	if c.Global.NotifyTimeout == 0 {
		c.Global.NotifyTimeout = DefaultNotifyTimeout
	}
	if a := c.Global.Alerts; a != nil {
		if a.ConnectTimeout == 0 {
			a.ConnectTimeout = DefaultSMTPConnectTimeout
		}
		if a.Helo == "" {
			a.Helo = "localhost"
		}
		if _, _, err := net.SplitHostPort(a.SMTPServer); err != nil && a.SMTPServer != "" {
			a.SMTPServer = net.JoinHostPort(a.SMTPServer, "25")
		}
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		if in.AdvertInterval == 0 {
			in.AdvertInterval = DefaultAdvertInterval
		}
		if in.Priority == 0 {
			in.Priority = DefaultPriority
		}
		if in.Version == 0 {
			in.Version = DefaultVersion
		}
		if in.Preempt == nil {
			t := true
			in.Preempt = &t
		}
		if in.Accept == nil {
			t := true
			in.Accept = &t
		}
		g := &in.Gratuitous
		if g.Repeat == 0 {
			g.Repeat = DefaultGratuitousRepeat
		}
		if g.SecondDelay == nil {
			d := DefaultGratuitousDelay
			g.SecondDelay = &d
		}
		if g.RefreshRepeat == 0 {
			g.RefreshRepeat = 1
		}
		for j := range in.TrackFiles {
			if in.TrackFiles[j].Interval == 0 {
				in.TrackFiles[j].Interval = DefaultFileInterval
			}
		}
	}
	for i := range c.Scripts {
		s := &c.Scripts[i]
		if s.Interval == 0 {
			s.Interval = DefaultScriptInterval
		}
		if s.Timeout == 0 {
			s.Timeout = s.Interval
		}
		if s.Rise == 0 {
			s.Rise = 1
		}
		if s.Fall == 0 {
			s.Fall = 1
		}
	}
	c.applyBalancerDefaults()
}

// configCheck carries what the steps of Config.validate learn for the ones
// after them: the names of the scripts and of the instances.
type configCheck struct {
	v       *validator
	scripts map[string]bool
	names   map[string]bool // instances
}

// configSteps validate a configuration one section at a time, in the order
// their errors are reported: instances track scripts, sync groups and
// virtual servers name instances.
var configSteps = []func(c *Config, cc *configCheck){
	(*Config).validateGlobal,
	(*Config).validateScripts,
	(*Config).validateInstances,
	(*Config).validateSyncGroups,
	func(c *Config, cc *configCheck) { c.validateBalancer(cc.v) },
}

func (c *Config) validate(v *validator) {
	cc := &configCheck{v: v, scripts: map[string]bool{}, names: map[string]bool{}}
	for _, step := range configSteps {
		step(c, cc)
	}
}

// validateGlobal checks the global section.
func (c *Config) validateGlobal(cc *configCheck) {
	v := cc.v
	g := c.Global
	switch g.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.errorf("global.log_level", "unknown level %q: want debug, info, warn or error", g.LogLevel)
	}
	switch g.Dataplane {
	case "auto", "ipvs", "nftables":
	default:
		v.errorf("global.dataplane", "unknown data plane %q: want auto, ipvs or nftables", g.Dataplane)
	}
	if !filepath.IsAbs(g.ControlSocket) {
		v.errorf("global.control_socket", "%q must be an absolute path", g.ControlSocket)
	}
	if g.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(g.MetricsListen); err != nil {
			v.errorf("global.metrics_listen", "%q is not host:port (for example 127.0.0.1:9650)", g.MetricsListen)
		}
	}
	if p := *g.RealtimePriority; p < 0 || p > 99 {
		v.errorf("global.realtime_priority", "%d is out of range 0-99 (0 disables)", p)
	}
	if g.NotifyTimeout < 0 {
		v.errorf("global.notify_timeout", "must not be negative")
	}
	if g.Alerts != nil {
		g.Alerts.validate(v)
	}
}

// validateScripts checks the scripts and collects their names.
func (c *Config) validateScripts(cc *configCheck) {
	v, scripts := cc.v, cc.scripts
	for i, s := range c.Scripts {
		p := fmt.Sprintf("scripts[%d]", i)
		switch {
		case s.Name == "":
			v.errorf(p+".name", "every script needs a name")
		case scripts[s.Name]:
			v.errorf(p+".name", "script %q is defined twice", s.Name)
		}
		scripts[s.Name] = true
		s.validate(v, p)
	}
}

// validateInstances checks each instance, collects their names and checks
// what must be unique across them: VRIDs per interface and family, virtual
// addresses, virtual MAC interfaces.
func (c *Config) validateInstances(cc *configCheck) {
	v, scripts, names := cc.v, cc.scripts, cc.names
	type vridKey struct {
		ifname string
		is6    bool
		vrid   int
	}
	vrids := map[vridKey]string{}
	vips := map[netip.Addr]string{}
	vmacs := map[string]string{}
	for i := range c.Instances {
		in := &c.Instances[i]
		p := fmt.Sprintf("instances[%d]", i)
		switch {
		case in.Name == "":
			v.errorf(p+".name", "every instance needs a name")
		case names[in.Name]:
			v.errorf(p+".name", "instance %q is defined twice", in.Name)
		}
		names[in.Name] = true
		in.validate(v, p, scripts)
		k := vridKey{in.Interface, in.IPv6(), in.VRID}
		if other, dup := vrids[k]; dup && in.Interface != "" {
			v.errorf(p+".vrid", "VRID %d on %s is already used by instance %q: a VRID must be unique per interface and family", in.VRID, in.Interface, other)
		}
		vrids[k] = in.Name
		if in.VMAC {
			if other, dup := vmacs[in.VMACName()]; dup {
				v.errorf(p+".vmac_interface", "%q is already the virtual MAC interface of instance %q: name one with vmac_interface", in.VMACName(), other)
			}
			vmacs[in.VMACName()] = in.Name
		}
		for j, a := range in.AllVirtualAddresses() {
			if other, dup := vips[a.Addr()]; dup {
				v.errorf(fmt.Sprintf("%s.virtual_addresses[%d]", p, j), "%v is already a virtual address of instance %q", a.Addr(), other)
			}
			vips[a.Addr()] = in.Name
		}
	}
}

// validateSyncGroups checks the sync groups: each names instances, and an
// instance is in one group at most.
func (c *Config) validateSyncGroups(cc *configCheck) {
	v, names := cc.v, cc.names
	member := map[string]string{}
	groups := map[string]bool{}
	for i, sg := range c.SyncGroups {
		p := fmt.Sprintf("sync_groups[%d]", i)
		switch {
		case sg.Name == "":
			v.errorf(p+".name", "every sync group needs a name")
		case groups[sg.Name]:
			v.errorf(p+".name", "sync group %q is defined twice", sg.Name)
		}
		groups[sg.Name] = true
		if len(sg.Instances) == 0 {
			v.errorf(p+".instances", "missing: the instances that fail over together")
		}
		for j, name := range sg.Instances {
			q := fmt.Sprintf("%s.instances[%d]", p, j)
			switch other, dup := member[name]; {
			case !names[name]:
				v.errorf(q, "no instance is named %q", name)
			case dup:
				v.errorf(q, "instance %q is already in sync group %q", name, other)
			}
			member[name] = sg.Name
		}
		sg.Notify.validate(v, p+".notify")
	}
}

func (s *Script) validate(v *validator, p string) {
	if len(s.Command) == 0 || s.Command[0] == "" {
		v.errorf(p+".command", "missing: the command to run, as a list such as [/usr/bin/check, arg]")
	} else if !filepath.IsAbs(s.Command[0]) {
		v.errorf(p+".command", "%q must be an absolute path", s.Command[0])
	}
	if s.Interval < 10*time.Millisecond {
		v.errorf(p+".interval", "%v is too short: at least 10ms", s.Interval)
	}
	// A timeout above the interval is allowed, as in keepalived (interval
	// 1, timeout 10): the next run waits for the running one.
	if s.Timeout <= 0 {
		v.errorf(p+".timeout", "%v must be positive", s.Timeout)
	}
	if s.Rise < 1 || s.Rise > 100 {
		v.errorf(p+".rise", "%d is out of range 1-100", s.Rise)
	}
	if s.Fall < 1 || s.Fall > 100 {
		v.errorf(p+".fall", "%d is out of range 1-100", s.Fall)
	}
	if s.Weight < -maxWeight || s.Weight > maxWeight {
		v.errorf(p+".weight", "%d is out of range -253..253", s.Weight)
	}
}

// instanceCheck is one instance under validation: where its errors go, its
// path in the file, and the names of the scripts it may track.
type instanceCheck struct {
	v       *validator
	p       string
	scripts map[string]bool
}

// instanceSteps validate an instance one concern at a time, in the order
// their errors are reported.
var instanceSteps = []func(in *Instance, ic instanceCheck){
	(*Instance).validateIdentity,
	(*Instance).validateTimers,
	(*Instance).validateAddresses,
	(*Instance).validateWire,
	(*Instance).validateVMAC,
	(*Instance).validateGratuitous,
	(*Instance).validateTrackers,
	func(in *Instance, ic instanceCheck) { in.Notify.validate(ic.v, ic.p+".notify") },
	func(in *Instance, ic instanceCheck) { in.validateFollowers(ic.v, ic.p) },
}

func (in *Instance) validate(v *validator, p string, scripts map[string]bool) {
	ic := instanceCheck{v: v, p: p, scripts: scripts}
	for _, step := range instanceSteps {
		step(in, ic)
	}
}

// validateIdentity checks the interface, the VRID and the priority.
func (in *Instance) validateIdentity(ic instanceCheck) {
	v, p := ic.v, ic.p
	if in.Interface == "" {
		v.errorf(p+".interface", "missing: the interface the instance runs on")
	} else if len(in.Interface) > 15 {
		v.errorf(p+".interface", "%q is longer than an interface name can be (15)", in.Interface)
	}
	if in.VRID < 1 || in.VRID > 255 {
		v.errorf(p+".vrid", "%d is out of range 1-255", in.VRID)
	}
	if in.Priority < 1 || in.Priority > 255 {
		v.errorf(p+".priority", "%d is out of range 1-255 (255 means address owner)", in.Priority)
	}
}

// validateTimers checks the protocol version with its advert interval, and
// the preempt delay.
func (in *Instance) validateTimers(ic instanceCheck) {
	v, p := ic.v, ic.p
	switch in.Version {
	case 3:
		if in.AdvertInterval < 10*time.Millisecond || in.AdvertInterval > 40950*time.Millisecond || in.AdvertInterval%(10*time.Millisecond) != 0 {
			v.errorf(p+".advert_interval", "%v must be a multiple of 10ms between 10ms and 40.95s (RFC 5798 §5.2.7)", in.AdvertInterval)
		}
	case 2:
		if in.AdvertInterval < time.Second || in.AdvertInterval > 255*time.Second || in.AdvertInterval%time.Second != 0 {
			v.errorf(p+".advert_interval", "%v must be a whole number of seconds between 1s and 255s with version 2 (RFC 3768 §5.3.7)", in.AdvertInterval)
		}
		if in.IPv6() {
			v.errorf(p+".version", "VRRPv2 carries IPv4 addresses only (RFC 3768): use version 3 for IPv6")
		}
	default:
		v.errorf(p+".version", "%d is not a VRRP version vrrpd speaks: want 2 (RFC 3768) or 3 (RFC 5798)", in.Version)
	}
	if in.PreemptDelay < 0 || in.PreemptDelay > 1000*time.Second {
		v.errorf(p+".preempt_delay", "%v is out of range 0-1000s", in.PreemptDelay)
	} else if in.PreemptDelay > 0 && in.Preempt != nil && !*in.Preempt {
		v.errorf(p+".preempt_delay", "set, but preempt is false: remove one of them")
	}
}

// validateAddresses checks the virtual addresses, one family, and the
// unicast peers.
func (in *Instance) validateAddresses(ic instanceCheck) {
	v, p := ic.v, ic.p
	if len(in.VirtualAddresses) == 0 {
		v.errorf(p+".virtual_addresses", "missing: at least one virtual address")
	}
	if n := len(in.AllVirtualAddresses()); n > 255 {
		v.errorf(p+".virtual_addresses", "%d addresses (with device_addresses): an advert carries at most 255", n)
	}
	is6 := in.IPv6()
	for j, a := range in.VirtualAddresses {
		q := fmt.Sprintf("%s.virtual_addresses[%d]", p, j)
		switch {
		case a.Addr().Is6() != is6 || a.Addr().Is4In6():
			v.errorf(q, "%v: all virtual addresses of an instance must be of one family (use two instances for IPv4 and IPv6)", a)
		case a.Addr().IsMulticast() || a.Addr().IsUnspecified() || a.Addr().IsLoopback():
			v.errorf(q, "%v cannot be a virtual address", a)
		}
	}
	if in.UnicastSource.IsValid() && in.UnicastSource.Is6() != is6 {
		v.errorf(p+".unicast_source", "%v is not of the family of the virtual addresses", in.UnicastSource)
	}
	if in.UnicastSource.IsValid() && len(in.UnicastPeers) == 0 {
		v.errorf(p+".unicast_peers", "missing: unicast_source is set, so list the peers to send adverts to")
	}
	seen := map[netip.Addr]bool{}
	for j, a := range in.UnicastPeers {
		q := fmt.Sprintf("%s.unicast_peers[%d]", p, j)
		switch {
		case a.Is6() != is6:
			v.errorf(q, "%v is not of the family of the virtual addresses", a)
		case a.IsMulticast() || a.IsUnspecified():
			v.errorf(q, "%v is not a unicast address", a)
		case seen[a]:
			v.errorf(q, "%v is listed twice", a)
		case a == in.UnicastSource:
			v.errorf(q, "%v is our own unicast_source", a)
		}
		seen[a] = true
	}
}

// validateWire checks what the adverts carry: checksum, VRRPv2
// compatibility, authentication.
func (in *Instance) validateWire(ic instanceCheck) {
	v, p := ic.v, ic.p
	is6 := in.IPv6()
	switch in.Checksum {
	case "", ChecksumStrict, ChecksumLenient:
	default:
		v.errorf(p+".checksum", "%q: want strict (the default) or lenient", in.Checksum)
	}
	if in.Version == 2 && (in.ChecksumMessageOnly || in.Checksum != "") {
		f := ".checksum"
		if in.ChecksumMessageOnly {
			f = ".checksum_message_only"
		}
		v.errorf(p+f, "does not apply to version 2: a VRRPv2 checksum never covers the pseudo-header (RFC 3768 §5.3.8)")
	}
	if in.V2Compat {
		switch {
		case in.Version != 3:
			v.errorf(p+".v2_compat", "applies to version 3 only: a version 2 instance speaks VRRPv2 already")
		case is6:
			v.errorf(p+".v2_compat", "applies to IPv4 only: VRRPv2 has no IPv6 (RFC 3768)")
		case in.AdvertInterval%time.Second != 0 || in.AdvertInterval > 255*time.Second:
			v.errorf(p+".advert_interval", "%v: with v2_compat it must be whole seconds up to 255s, as VRRPv2 adverts carry it (RFC 3768 §5.3.7)", in.AdvertInterval)
		}
	}
	validateAuth(v, p, in)
	if in.ChecksumMessageOnly && is6 {
		v.errorf(p+".checksum_message_only", "applies to IPv4 only: the IPv6 checksum always covers the pseudo-header")
	}
}

// validateVMAC checks the virtual MAC interface.
func (in *Instance) validateVMAC(ic instanceCheck) {
	v, p := ic.v, ic.p
	if in.VMACInterface != "" && !in.VMAC {
		v.errorf(p+".vmac_interface", "set, but vmac is false: remove it or set vmac: true")
	}
	if in.VMACXmitBase && !in.VMAC {
		v.errorf(p+".vmac_xmit_base", "set, but vmac is false: there is no virtual MAC to send from")
	}
	if name := in.VMACName(); in.VMAC && (len(name) > 15 || strings.ContainsAny(name, "/ \t") || name == in.Interface) {
		v.errorf(p+".vmac_interface", "%q is not a usable interface name (at most 15 characters, no '/' or spaces, not the instance's interface)", name)
	}
}

// validateGratuitous checks the gratuitous ARP / unsolicited NA bursts.
func (in *Instance) validateGratuitous(ic instanceCheck) {
	v, p := ic.v, ic.p
	g := in.Gratuitous
	gp := p + ".gratuitous"
	if g.Repeat < 1 || g.Repeat > 100 {
		v.errorf(gp+".repeat", "%d is out of range 1-100", g.Repeat)
	}
	if g.Interval < 0 || g.Interval > time.Second {
		v.errorf(gp+".interval", "%v is out of range 0-1s", g.Interval)
	}
	if g.SecondDelay != nil && (*g.SecondDelay < 0 || *g.SecondDelay > time.Hour) {
		v.errorf(gp+".second_delay", "%v is out of range 0-1h (0 disables the second burst)", *g.SecondDelay)
	}
	if g.Refresh < 0 || (g.Refresh > 0 && g.Refresh < 100*time.Millisecond) {
		v.errorf(gp+".refresh", "%v: want 0 (off) or at least 100ms", g.Refresh)
	}
	if g.RefreshRepeat < 1 || g.RefreshRepeat > 100 {
		v.errorf(gp+".refresh_repeat", "%d is out of range 1-100", g.RefreshRepeat)
	}
}

// validateTrackers checks the tracked interfaces, scripts and files.
func (in *Instance) validateTrackers(ic instanceCheck) {
	v, p, scripts := ic.v, ic.p, ic.scripts
	for j, t := range in.TrackInterfaces {
		q := fmt.Sprintf("%s.track_interfaces[%d]", p, j)
		if t.Name == "" {
			v.errorf(q+".name", "missing: the interface to track")
		}
		if t.Weight < -maxWeight || t.Weight > maxWeight {
			v.errorf(q+".weight", "%d is out of range -253..253 (0 means fault when down)", t.Weight)
		}
	}
	for j, t := range in.TrackScripts {
		q := fmt.Sprintf("%s.track_scripts[%d]", p, j)
		if !scripts[t.Name] {
			v.errorf(q+".name", "no script is named %q (define it under scripts)", t.Name)
		}
		if t.Weight != nil && (*t.Weight < -maxWeight || *t.Weight > maxWeight) {
			v.errorf(q+".weight", "%d is out of range -253..253", *t.Weight)
		}
	}
	for j, t := range in.TrackFiles {
		q := fmt.Sprintf("%s.track_files[%d]", p, j)
		if !filepath.IsAbs(t.Path) {
			v.errorf(q+".path", "%q must be an absolute path", t.Path)
		}
		if t.Weight < -254 || t.Weight > 254 {
			v.errorf(q+".weight", "%d is out of range -254..254", t.Weight)
		}
		if t.Interval < 10*time.Millisecond {
			v.errorf(q+".interval", "%v is too short: at least 10ms", t.Interval)
		}
	}
}

func (n *Notify) validate(v *validator, p string) {
	for _, c := range []struct {
		field string
		cmd   []string
	}{{"master", n.Master}, {"backup", n.Backup}, {"fault", n.Fault}, {"stop", n.Stop}, {"any", n.Any}} {
		if len(c.cmd) > 0 && !filepath.IsAbs(c.cmd[0]) {
			v.errorf(p+"."+c.field, "%q must be an absolute path", c.cmd[0])
		}
	}
}

// IPv6 reports whether the instance's virtual addresses are IPv6 (the
// family is taken from the first one).
func (in *Instance) IPv6() bool {
	return len(in.VirtualAddresses) > 0 && in.VirtualAddresses[0].Addr().Is6() && !in.VirtualAddresses[0].Addr().Is4In6()
}

// SecondBurstDelay is the delay of the second gratuitous burst; 0 = none.
func (g Gratuitous) SecondBurstDelay() time.Duration {
	if g.SecondDelay == nil {
		return DefaultGratuitousDelay
	}
	return *g.SecondDelay
}

// Instance returns the instance called name, or nil.
func (c *Config) Instance(name string) *Instance {
	for i := range c.Instances {
		if c.Instances[i].Name == name {
			return &c.Instances[i]
		}
	}
	return nil
}

// Script returns the script called name, or nil.
func (c *Config) Script(name string) *Script {
	for i := range c.Scripts {
		if c.Scripts[i].Name == name {
			return &c.Scripts[i]
		}
	}
	return nil
}

// SyncGroupOf returns the sync group the instance belongs to, or nil.
func (c *Config) SyncGroupOf(instance string) *SyncGroup {
	for i := range c.SyncGroups {
		for _, n := range c.SyncGroups[i].Instances {
			if n == instance {
				return &c.SyncGroups[i]
			}
		}
	}
	return nil
}

// validateAuth checks the VRRPv2 authentication of in at path p.
func validateAuth(v *validator, p string, in *Instance) {
	a := in.Authentication
	switch strings.ToLower(a.Type) {
	case "":
		if a.Password != "" {
			v.errorf(p+".authentication.type", "missing: a password needs type: pass")
		}
		return
	case AuthPass:
		if n := len(a.Password); n < 1 || n > 8 {
			v.errorf(p+".authentication.password", "%d bytes: want 1-8, the Authentication Data of a VRRPv2 advert (RFC 3768 §5.3.10)", n)
		}
	case "ah":
		v.errorf(p+".authentication.type", "AH is not supported: RFC 3768 removed the IP Authentication Header and keepalived deprecates it; use pass or no authentication")
		return
	default:
		v.errorf(p+".authentication.type", "%q: want pass (RFC 3768 §5.3.6 simple text password)", a.Type)
		return
	}
	if in.Version != 2 && !in.V2Compat {
		v.errorf(p+".authentication", "needs VRRPv2 adverts to carry it: set version: 2 (or v2_compat: true); VRRPv3 has no authentication (RFC 5798 §9)")
	}
}

func (a *Alerts) validate(v *validator) {
	if host, _, err := net.SplitHostPort(a.SMTPServer); err != nil || host == "" {
		v.errorf("global.alerts.smtp_server", "%q is not host:port (for example 198.18.0.25:25)", a.SMTPServer)
	}
	if len(a.To) == 0 {
		v.errorf("global.alerts.to", "alerts need at least one recipient")
	}
	for i, to := range append([]string{a.From}, a.To...) {
		if strings.ContainsAny(to, "\r\n<> ") {
			f := "global.alerts.from"
			if i > 0 {
				f = fmt.Sprintf("global.alerts.to[%d]", i-1)
			}
			v.errorf(f, "%q is not a bare e-mail address", to)
		}
	}
	if a.ConnectTimeout < 0 {
		v.errorf("global.alerts.connect_timeout", "must not be negative")
	}
}

// Package config defines vrrpd's configuration file: VRRP instances, sync groups,
// trackers and the virtual services of the built-in L4 balancer.
//
// The file is YAML. Parse is a pure function from bytes to a validated Config;
// every error names the file, the line and the field, so an operator can fix it
// without reading our source.
package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config is one whole vrrpd configuration file.
type Config struct {
	Global         Global          `yaml:"global"`
	Instances      []Instance      `yaml:"instances"`
	SyncGroups     []SyncGroup     `yaml:"sync_groups"`
	Scripts        []Script        `yaml:"scripts"`
	VirtualServers []VirtualServer `yaml:"virtual_servers"`
	// LVSSync runs the kernel's IPVS connection-sync daemon, following the
	// named instance: master daemon while MASTER, backup otherwise.
	LVSSync *LVSSync `yaml:"lvs_sync"`

	// source and lines locate fields for Warnings after Parse.
	source string
	lines  map[string]int
}

// Global holds process-wide settings.
type Global struct {
	RouterID      string `yaml:"router_id"`
	ControlSocket string `yaml:"control_socket"` // default /run/vrrpd/vrrpd.sock
	MetricsListen string `yaml:"metrics_listen"` // empty: no metrics listener
	LogLevel      string `yaml:"log_level"`      // debug, info, warn, error
	// Dataplane selects how virtual services are programmed: "auto" (IPVS when
	// the kernel has it, nftables otherwise), "ipvs" or "nftables".
	Dataplane string `yaml:"dataplane"`
	// RealtimePriority (1-99) runs each instance's loop and timer on locked
	// OS threads with SCHED_RR at this priority, so a busy host does not
	// make adverts or takeovers late (keepalived's vrrp_rt_priority). The
	// default is DefaultRealtimePriority; 0 leaves scheduling alone.
	RealtimePriority *int `yaml:"realtime_priority"`
	// NotifyTimeout bounds each notify command; default 10s.
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
	// Alerts, when set, mails state changes of instances and sync groups
	// with smtp_alert and real servers going up or down (keepalived's
	// notification_email and smtp_server).
	Alerts *Alerts `yaml:"alerts"`
}

// Alerts says where e-mail alerts go.
type Alerts struct {
	// SMTPServer is host:port; a bare host means port 25.
	SMTPServer string   `yaml:"smtp_server"`
	From       string   `yaml:"from"` // default vrrpd@<hostname>, filled by the daemon
	To         []string `yaml:"to"`   // at least one recipient
	Helo       string   `yaml:"helo"` // default "localhost"
	// ConnectTimeout bounds each mail's whole SMTP exchange; default 30s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// Instance is one VRRP virtual router on one interface.
type Instance struct {
	Name      string `yaml:"name"`
	Interface string `yaml:"interface"`
	VRID      int    `yaml:"vrid"`
	// Version is the VRRP version spoken: 3 (RFC 5798, the default) or 2
	// (RFC 3768, IPv4 only, whole-second intervals), keepalived's default.
	Version int `yaml:"version"`
	// Priority is 1-255; default DefaultPriority (100), as keepalived.
	Priority         int            `yaml:"priority"`
	AdvertInterval   time.Duration  `yaml:"advert_interval"`
	VirtualAddresses []netip.Prefix `yaml:"virtual_addresses"`
	Preempt          *bool          `yaml:"preempt"` // default true
	PreemptDelay     time.Duration  `yaml:"preempt_delay"`
	// Accept lets a Master that does not own the virtual addresses
	// (priority below 255) accept packets addressed to them (RFC 5798
	// Accept_Mode). Default true, as keepalived without vrrp_strict; false
	// refuses them with an nftables table (vrrp/acceptmode).
	Accept *bool `yaml:"accept"`
	// VMAC puts the virtual addresses on a macvlan interface with the
	// virtual router MAC of RFC 5798 §7.3 (00:00:5e:00:01:VRID, or
	// 00:00:5e:00:02:VRID for IPv6), up only while Master: hosts keep one
	// MAC for the gateway across a failover. keepalived's use_vmac (with
	// vmac_xmit_base: adverts leave by the interface itself).
	VMAC bool `yaml:"vmac"`
	// VMACInterface names the macvlan; default "vrrp.<vrid>".
	VMACInterface string `yaml:"vmac_interface"`
	// VMACXmitBase sends the adverts of a vmac instance from the interface
	// itself, with its own MAC (keepalived's vmac_xmit_base), instead of
	// from the virtual router MAC (RFC 5798 §7.3, the default).
	VMACXmitBase bool `yaml:"vmac_xmit_base"`
	// DeviceAddresses, VirtualRoutes and VirtualRules follow the Master
	// like the virtual addresses (routes.go).
	DeviceAddresses []DeviceAddress `yaml:"device_addresses"`
	VirtualRoutes   []Route         `yaml:"virtual_routes"`
	VirtualRules    []Rule          `yaml:"virtual_rules"`
	// UnicastSource and UnicastPeers switch the instance from multicast to
	// unicast adverts; adverts from any other source are dropped.
	UnicastSource netip.Addr   `yaml:"unicast_source"`
	UnicastPeers  []netip.Addr `yaml:"unicast_peers"`
	// ChecksumMessageOnly sends the RFC 9568 IPv4 checksum (message only)
	// instead of the pseudo-header form keepalived and FRR send.
	ChecksumMessageOnly bool `yaml:"checksum_message_only"`
	// Checksum is how received IPv4 VRRPv3 checksums are checked: "strict"
	// (the default) accepts only the form this instance sends (the
	// pseudo-header form unless checksum_message_only), as keepalived does;
	// "lenient" accepts both forms.
	Checksum string `yaml:"checksum"`
	// V2Compat is RFC 5798 §8.4.2's VRRPv2 compatibility for a version 3
	// IPv4 instance: send VRRPv2 adverts beside the VRRPv3 ones and obey
	// VRRPv2 Masters, for a migration from VRRPv2 routers. Whole-second
	// advert_interval only.
	V2Compat bool `yaml:"v2_compat"`
	// Authentication is the VRRPv2 simple text password (RFC 3768
	// §5.3.6), keepalived's `authentication { auth_type PASS }`: sent in
	// every VRRPv2 advert, and VRRPv2 adverts without it are dropped.
	// Version 2 or v2_compat only.
	Authentication Authentication `yaml:"authentication"`

	Gratuitous      Gratuitous       `yaml:"gratuitous"`
	TrackInterfaces []TrackInterface `yaml:"track_interfaces"`
	TrackScripts    []TrackRef       `yaml:"track_scripts"`
	TrackFiles      []TrackFile      `yaml:"track_files"`
	Notify          Notify           `yaml:"notify"`
	// SMTPAlert mails the instance's state changes; default false.
	SMTPAlert bool `yaml:"smtp_alert"`
}

// VMACName is the instance's macvlan interface when VMAC is on.
func (in *Instance) VMACName() string {
	if in.VMACInterface != "" {
		return in.VMACInterface
	}
	return fmt.Sprintf("vrrp.%d", in.VRID)
}

// Gratuitous controls gratuitous ARP / unsolicited NA on becoming master.
type Gratuitous struct {
	Repeat        int            `yaml:"repeat"`         // packets per burst, default 5
	Interval      time.Duration  `yaml:"interval"`       // between packets of a burst, default 0
	SecondDelay   *time.Duration `yaml:"second_delay"`   // second burst after this, default 5s; 0 disables
	Refresh       time.Duration  `yaml:"refresh"`        // periodic refresh while master; 0 disables
	RefreshRepeat int            `yaml:"refresh_repeat"` // packets per refresh, default 1
}

// Authentication is a VRRPv2 instance's authentication. The zero value is
// none (Auth Type 0), keepalived's default.
type Authentication struct {
	// Type is AuthPass; empty means none. keepalived's AH is refused: RFC
	// 3768 removed it and keepalived deprecates it.
	Type string `yaml:"type"`
	// Password is 1-8 bytes, sent padded with zeros to 8 as keepalived
	// does. It travels in clear: it guards against misconfiguration (two
	// clusters on one VRID), not against an attacker (RFC 3768 §10).
	Password string `yaml:"password"`
}

// AuthPass is the simple text password authentication type.
const AuthPass = "pass"

// TrackInterface lowers priority (or faults, with weight 0) when a link is down.
type TrackInterface struct {
	Name   string `yaml:"name"`
	Weight int    `yaml:"weight"`
}

// TrackRef points at a named script in Config.Scripts, optionally overriding its weight.
type TrackRef struct {
	Name   string `yaml:"name"`
	Weight *int   `yaml:"weight"`
}

// TrackFile reads an integer from a file: 0 is healthy; with weight 0 any
// non-zero value faults; otherwise priority += value × weight.
type TrackFile struct {
	Path   string `yaml:"path"`
	Weight int    `yaml:"weight"`
	// Interval is how often the file is read; default 1s.
	Interval time.Duration `yaml:"interval"`
}

// Script is a tracked command, shared by the instances that name it.
type Script struct {
	Name     string        `yaml:"name"`
	Command  []string      `yaml:"command"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	Rise     int           `yaml:"rise"`
	Fall     int           `yaml:"fall"`
	Weight   int           `yaml:"weight"`
}

// Notify names hook commands run on state changes with the arguments
// (instance, state, priority).
type Notify struct {
	Master []string `yaml:"master"`
	Backup []string `yaml:"backup"`
	Fault  []string `yaml:"fault"`
	Stop   []string `yaml:"stop"`
	Any    []string `yaml:"any"`
}

// SyncGroup makes instances fail over together.
type SyncGroup struct {
	Name      string   `yaml:"name"`
	Instances []string `yaml:"instances"`
	Notify    Notify   `yaml:"notify"`
	// SMTPAlert mails the group's state changes; default false.
	SMTPAlert bool `yaml:"smtp_alert"`
}

// LVSSync configures IPVS connection synchronisation between balancers.
type LVSSync struct {
	Instance  string `yaml:"instance"`  // VRRP instance whose state it follows
	Interface string `yaml:"interface"` // multicast interface for sync messages
	SyncID    int    `yaml:"sync_id"`   // default: the instance's VRID
}

// VirtualServer is one balanced service: an address:port/protocol or a firewall mark.
type VirtualServer struct {
	Name        string         `yaml:"name"`
	Address     netip.AddrPort `yaml:"address"`
	FWMark      uint32         `yaml:"fwmark"`
	Protocol    string         `yaml:"protocol"`   // tcp (default), udp, sctp
	Scheduler   string         `yaml:"scheduler"`  // rr, wrr, lc, wlc (default), lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf
	Forwarding  string         `yaml:"forwarding"` // nat (default), dr, tun
	Persistence *Persistence   `yaml:"persistence"`
	// Quorum is the least sum of live weights before the sorry server is used.
	Quorum      int             `yaml:"quorum"`
	Hysteresis  int             `yaml:"hysteresis"`
	SorryServer *netip.AddrPort `yaml:"sorry_server"`
	// Instance ties the service to a VRRP instance (informational for ipvs;
	// nftables only answers on the master).
	Instance string `yaml:"instance"`
	// DrainTimeout bounds how long a removed real server keeps weight 0 while
	// its connections end before it is deleted.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// Check is the default health check of the real servers.
	Check       *Check       `yaml:"check"`
	RealServers []RealServer `yaml:"real_servers"`
	// SMTPAlert is the default of its real servers' smtp_alert.
	SMTPAlert *bool `yaml:"smtp_alert"`
	// QuorumUp and QuorumDown are commands run when the service gains or
	// loses its quorum (keepalived's quorum_up, quorum_down); Omega also
	// runs quorum_down when vrrpd stops while the quorum is held.
	QuorumUp   []string `yaml:"quorum_up"`
	QuorumDown []string `yaml:"quorum_down"`
	Omega      bool     `yaml:"omega"`
}

// Persistence keeps a client on one real server.
type Persistence struct {
	Timeout time.Duration `yaml:"timeout"`
	Netmask netip.Addr    `yaml:"netmask"` // default 255.255.255.255 (or /128)
}

// RealServer is one backend of a VirtualServer.
type RealServer struct {
	Address        netip.AddrPort `yaml:"address"`
	Weight         *int           `yaml:"weight"` // default 1
	UpperThreshold int            `yaml:"upper_threshold"`
	LowerThreshold int            `yaml:"lower_threshold"`
	Forwarding     string         `yaml:"forwarding"` // overrides the service's
	InitiallyUp    *bool          `yaml:"initially_up"`
	Check          *Check         `yaml:"check"` // overrides the service's
	// Checks are further checks: the server is up while all are.
	Checks []Check `yaml:"checks"`
	// SMTPAlert mails when the server goes up or down; default the
	// service's smtp_alert, else true (keepalived.conf(5)).
	SMTPAlert *bool `yaml:"smtp_alert"`
}

// Alerted reports whether rs's up/down changes are mailed.
func (vs *VirtualServer) Alerted(rs *RealServer) bool {
	switch {
	case rs.SMTPAlert != nil:
		return *rs.SMTPAlert
	case vs.SMTPAlert != nil:
		return *vs.SMTPAlert
	}
	return true
}

// Check is a health check. A real server is up while every one of its
// checks is (keepalived: every checker of a real_server).
type Check struct {
	Type string `yaml:"type"` // tcp, http, https, exec, icmp, udp, smtp, dns
	Port int    `yaml:"port"` // default: the real server's port
	// Address is the address to check instead of the real server's
	// (keepalived's connect_ip); Source binds the probe's source address
	// (bindto).
	Address netip.Addr    `yaml:"address"`
	Source  netip.Addr    `yaml:"source"`
	Path    string        `yaml:"path"`
	Status  []StatusRange `yaml:"status"` // codes or ranges: [200, "300-399"]
	// Digest is the hex MD5 of the body an http check expects
	// (keepalived's digest, as genhash prints it).
	Digest  string   `yaml:"digest"`
	Host    string   `yaml:"host"`
	SNI     string   `yaml:"sni"`
	Command []string `yaml:"command"`
	// Helo is the name an smtp check sends in HELO; default the host name.
	Helo string `yaml:"helo"`
	// QueryName and QueryType are what a dns check asks; defaults "." and SOA.
	QueryName string `yaml:"query_name"`
	QueryType string `yaml:"query_type"`
	// Payload is what a udp check sends, in hex; RequireReply makes it
	// wait for an answer, which must start with Expect (hex) when set.
	// Without RequireReply only an ICMP port unreachable fails it.
	Payload      string        `yaml:"payload"`
	RequireReply bool          `yaml:"require_reply"`
	Expect       string        `yaml:"expect"`
	Interval     time.Duration `yaml:"interval"`
	Timeout      time.Duration `yaml:"timeout"`
	// RetryInterval is the time between probes while an up server is
	// failing but has not failed Fall times (keepalived's
	// delay_before_retry); 0: every Interval.
	RetryInterval    time.Duration `yaml:"retry_interval"`
	Rise             int           `yaml:"rise"`
	Fall             int           `yaml:"fall"`
	InhibitOnFailure bool          `yaml:"inhibit_on_failure"`
}

// StatusRange is an HTTP status code or an inclusive range of them,
// written 200 or "200-299" (keepalived's status_code).
type StatusRange struct{ Lo, Hi int }

// UnmarshalText reads "200" or "200-299".
func (r *StatusRange) UnmarshalText(b []byte) error {
	lo, hi, isRange := strings.Cut(string(b), "-")
	l, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return err
	}
	h := l
	if isRange {
		if h, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return err
		}
	}
	*r = StatusRange{l, h}
	return nil
}

// MarshalText writes "200" or "200-299".
func (r StatusRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

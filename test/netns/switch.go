package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
)

// Bridge is the name of the bridge device inside every switch namespace.
const Bridge = "br0"

// Switch is an L2 switch: a Linux bridge in a namespace of its own. It embeds
// the namespace as a Host, so captures run with sw.Start(ctx, "tcpdump", ...).
type Switch struct {
	*Host
	ports map[string]*Port // by bridge-side port name
}

// Port is one cable: a veth pair from a host interface to a switch port.
type Port struct {
	sw     *Switch
	host   *Host
	ifname string // host side
	peer   string // switch side, enslaved to the bridge
}

// Switch creates a namespace holding bridge br0, up, with STP off (ports
// forward at once), multicast snooping off (a plain switch floods), and
// bridge netfilter calls off, so nothing in iptables can touch bridged frames.
func (l *Lab) Switch(name string) (*Switch, error) {
	ns, err := l.addNS(name)
	if err != nil {
		return nil, err
	}
	sw := &Switch{Host: &Host{lab: l, name: name, ns: ns}, ports: map[string]*Port{}}
	l.mu.Lock()
	l.switches[name] = sw
	l.mu.Unlock()
	if err := ipCmd("-n", ns, "link", "add", Bridge, "type", "bridge", "stp_state", "0", "mcast_snooping", "0"); err != nil {
		return nil, err
	}
	if err := ipCmd("-n", ns, "link", "set", Bridge, "up"); err != nil {
		return nil, err
	}
	for _, k := range []string{"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables", "net.bridge.bridge-nf-call-arptables"} {
		// Absent when br_netfilter is not in the kernel: then there is nothing to turn off.
		if err := sw.Sysctl(k, "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return sw, nil
}

// Link connects host to sw with a veth pair: ifname on the host, carrying
// addrs (each must be in 198.18.0.0/15 or 2001:2::/48), and a bridge port in
// the switch named after the host. Both ends are created directly inside
// their namespaces; the root namespace never sees them.
func (l *Lab) Link(h *Host, sw *Switch, ifname string, addrs ...netip.Prefix) (*Port, error) {
	if !nameRE.MatchString(ifname) {
		return nil, fmt.Errorf("netns: link %s: interface %q: %w", h.name, ifname, ErrBadName)
	}
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return nil, fmt.Errorf("netns: link %s/%s: %w", h.name, ifname, err)
		}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	peer := h.name
	for n := 2; sw.ports[peer] != nil; n++ {
		s := strconv.Itoa(n)
		peer = truncate(h.name, 14-len(s)) + "-" + s
	}
	p := &Port{sw: sw, host: h, ifname: ifname, peer: peer}
	sw.ports[peer] = p
	l.mu.Unlock()

	if err := ipCmd("link", "add", "name", ifname, "netns", h.ns, "type", "veth", "peer", "name", peer, "netns", sw.ns); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.ports = append(h.ports, p)
	h.mu.Unlock()
	if err := ipCmd("-n", sw.ns, "link", "set", "dev", peer, "master", Bridge, "up"); err != nil {
		return nil, err
	}
	for _, a := range addrs {
		args := []string{"-n", h.ns, "addr", "add", a.String(), "dev", ifname}
		if a.Addr().Is6() {
			args = append(args, "nodad") // usable at once, like the IPv4 ones
		}
		if err := ipCmd(args...); err != nil {
			return nil, err
		}
	}
	if err := ipCmd("-n", h.ns, "link", "set", "dev", ifname, "up"); err != nil {
		return nil, err
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Host is the host end of the cable.
func (p *Port) Host() *Host { return p.host }

// Ifname is the interface name on the host.
func (p *Port) Ifname() string { return p.ifname }

// SwitchPort is the bridge port's name inside the switch namespace.
func (p *Port) SwitchPort() string { return p.peer }

// Down pulls the cable at the switch: the host keeps its interface up but
// sees NO-CARRIER, as with a dead switch port or a cut cable.
func (p *Port) Down() error {
	return ipCmd("-n", p.sw.ns, "link", "set", "dev", p.peer, "down")
}

// Up plugs the cable back in.
func (p *Port) Up() error {
	return ipCmd("-n", p.sw.ns, "link", "set", "dev", p.peer, "up")
}

// Isolate sets the bridge port's "isolated" flag: isolated ports cannot
// reach each other but still reach every non-isolated port. Isolating two
// routers partitions them from each other while a client still sees both.
func (p *Port) Isolate(on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	return ipCmd("-n", p.sw.ns, "link", "set", "dev", p.peer, "type", "bridge_slave", "isolated", v)
}

// MAC is the host interface's hardware address.
func (p *Port) MAC() (net.HardwareAddr, error) {
	p.host.mu.Lock()
	defer p.host.mu.Unlock()
	nl, err := p.host.handle()
	if err != nil {
		return nil, err
	}
	link, err := nl.LinkByName(p.ifname)
	if err != nil {
		return nil, fmt.Errorf("netns: %s: link %s: %w", p.host.name, p.ifname, err)
	}
	return link.Attrs().HardwareAddr, nil
}

// port finds h's only cable into sw.
func (sw *Switch) port(h *Host) (*Port, error) {
	sw.lab.mu.Lock()
	defer sw.lab.mu.Unlock()
	var found *Port
	for _, p := range sw.ports {
		if p.host == h {
			if found != nil {
				return nil, fmt.Errorf("netns: switch %s: host %s has several ports; use Port.Down", sw.name, h.name)
			}
			found = p
		}
	}
	if found == nil {
		return nil, fmt.Errorf("netns: switch %s: host %s is not connected", sw.name, h.name)
	}
	return found, nil
}

// PortDown pulls h's cable at the switch (see Port.Down).
func (sw *Switch) PortDown(h *Host) error {
	p, err := sw.port(h)
	if err != nil {
		return err
	}
	return p.Down()
}

// PortUp plugs h's cable back in.
func (sw *Switch) PortUp(h *Host) error {
	p, err := sw.port(h)
	if err != nil {
		return err
	}
	return p.Up()
}

// Partition isolates the ports of hosts from each other (see Port.Isolate);
// Heal undoes it.
func (sw *Switch) Partition(hosts ...*Host) error {
	return sw.isolate(true, hosts)
}

// Heal clears the isolation set by Partition.
func (sw *Switch) Heal(hosts ...*Host) error {
	return sw.isolate(false, hosts)
}

func (sw *Switch) isolate(on bool, hosts []*Host) error {
	var errs []error
	for _, h := range hosts {
		p, err := sw.port(h)
		if err == nil {
			err = p.Isolate(on)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

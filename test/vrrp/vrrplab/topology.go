package vrrplab

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
)

// ProbePort is the TCP port of the probe responder on each router.
const ProbePort = 7000

// Topology is client, lb1 and lb2 on one switch, with a VIP shared by the routers:
//
//	client 198.18.N.10   lb1 198.18.N.11   lb2 198.18.N.12   VIP 198.18.N.100/24
type Topology struct {
	Lab      *netns.Lab
	Switch   *netns.Switch
	Client   *netns.Host
	LB1, LB2 *netns.Host
	Port1    *netns.Port // lb1's cable
	Port2    *netns.Port // lb2's cable
	Addr1    netip.Prefix
	Addr2    netip.Prefix
	VIP      netip.Prefix
	Ifname   string // the routers' interface, "eth0"

	servers []*probe.Server
}

// Build creates the topology in lab on subnet 198.18.<subnet>.0/24 and starts
// a probe responder (answering "lb1" or "lb2") on each router's wildcard
// address, so it answers on the VIP exactly while that router holds it.
func Build(lab *netns.Lab, subnet int) (*Topology, error) {
	if subnet < 0 || subnet > 255 {
		return nil, fmt.Errorf("vrrplab: subnet %d out of 0-255", subnet)
	}
	p := func(host int, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(subnet), byte(host)}), bits)
	}
	t := &Topology{Lab: lab, Ifname: "eth0", Addr1: p(11, 24), Addr2: p(12, 24), VIP: p(100, 24)}
	var err error
	if t.Switch, err = lab.Switch("sw"); err != nil {
		return nil, err
	}
	if t.Client, err = lab.Host("client"); err != nil {
		return nil, err
	}
	if t.LB1, err = lab.Host("lb1"); err != nil {
		return nil, err
	}
	if t.LB2, err = lab.Host("lb2"); err != nil {
		return nil, err
	}
	if _, err = lab.Link(t.Client, t.Switch, t.Ifname, p(10, 24)); err != nil {
		return nil, err
	}
	if t.Port1, err = lab.Link(t.LB1, t.Switch, t.Ifname, t.Addr1); err != nil {
		return nil, err
	}
	if t.Port2, err = lab.Link(t.LB2, t.Switch, t.Ifname, t.Addr2); err != nil {
		return nil, err
	}
	for _, h := range []*netns.Host{t.LB1, t.LB2} {
		var s *probe.Server
		err := h.Do(func() (err error) {
			s, err = probe.Listen(fmt.Sprintf(":%d", ProbePort), h.Name())
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("vrrplab: probe responder on %s: %w", h.Name(), err)
		}
		t.servers = append(t.servers, s)
	}
	return t, nil
}

// AddIPv6 gives client, lb1 and lb2 the addresses 2001:2::10, ::11 and ::12
// (RFC 5180's benchmarking range) and makes the VIP 2001:2::100/64. It
// waits until the link-local addresses, which IPv6 adverts come from, are
// past duplicate address detection.
func (t *Topology) AddIPv6() error {
	ctx := context.Background()
	for i, h := range []*netns.Host{t.Client, t.LB1, t.LB2} {
		if out, err := h.Run(ctx, "ip", "addr", "add", fmt.Sprintf("2001:2::%d/64", 10+i), "dev", t.Ifname, "nodad"); err != nil {
			return fmt.Errorf("vrrplab: %w: %s", err, out)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, h := range []*netns.Host{t.Client, t.LB1, t.LB2} {
		for {
			out, err := h.Run(ctx, "ip", "-6", "addr", "show", "dev", t.Ifname, "tentative")
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) == "" {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("vrrplab: %s: addresses still tentative after 10s: %s", h.Name(), out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.VIP = netip.MustParsePrefix("2001:2::100/64")
	return nil
}

// Close stops the probe responders (the lab removes everything else).
func (t *Topology) Close() {
	for _, s := range t.servers {
		s.Close()
	}
}

// Target is the probe target: the VIP's probe port.
func (t *Topology) Target() netip.AddrPort {
	return netip.AddrPortFrom(t.VIP.Addr(), ProbePort)
}

// StartProbe starts a 5 ms TCP probe of the VIP from the client's namespace.
func (t *Topology) StartProbe(ctx context.Context) (*probe.Prober, error) {
	return probe.Start(ctx, probe.Config{Target: t.Target(), Enter: t.Client.Do})
}

// VIPHolders lists the routers whose interfaces hold the VIP, read by netlink.
func (t *Topology) VIPHolders() ([]string, error) {
	var out []string
	for _, h := range []*netns.Host{t.LB1, t.LB2} {
		has, err := h.HasAddr(t.VIP.Addr())
		if err != nil {
			return nil, err
		}
		if has {
			out = append(out, h.Name())
		}
	}
	return out, nil
}

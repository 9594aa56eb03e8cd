package vrrpd

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"testing"

	"github.com/hachat/hachat/vrrp/vrrptest"
)

// TestFollowersMoveWithTheMaster checks keepalived.conf(5)'s
// virtual_ipaddress with `dev`, virtual_routes and virtual_rules through
// the node: the address on the other interface, the route and the rule are
// there while the instance is Master and gone when it leaves the Master state.
func TestFollowersMoveWithTheMaster(t *testing.T) {
	const cfg = `instances:
  - name: front
    interface: eth0
    vrid: 51
    priority: 100
    advert_interval: 20ms
    virtual_addresses: [198.18.1.100/24]
    device_addresses: [{address: 198.18.2.17/32, interface: eth1}]
    virtual_routes:
      - {to: 198.18.9.0/24, via: 198.18.1.254, source: 198.18.1.100}
    virtual_rules:
      - {from: 198.18.1.0/24, table: 2, priority: 100}
`
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, cfg)); err != nil {
		t.Fatal(err)
	}
	dev := netip.MustParsePrefix("198.18.2.17/32")
	waitFor(t, "front MASTER with its followers", func() bool {
		return n.Status()[0].State == "MASTER" && len(k.routes.Rules()) == 1
	})
	if !k.addrs.Has("eth1", dev) || k.addrs.Has("eth0", dev) {
		t.Errorf("%v not on eth1 alone: %v", dev, k.addrs.Calls())
	}
	if got, want := k.routes.Routes(), []string{"198.18.9.0/24 via 198.18.1.254 src 198.18.1.100"}; !slices.Equal(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}

	n.SetMaintenance("front", true)
	waitFor(t, "followers gone", func() bool { return len(k.routes.Rules()) == 0 && !k.addrs.Has("eth1", dev) })
	if r := k.routes.Routes(); len(r) != 0 {
		t.Errorf("routes left: %q", r)
	}
}

type annLog []string

func (a *annLog) Announce(ifname string, addr netip.Addr) error {
	*a = append(*a, ifname+" "+addr.String())
	return nil
}

// TestDeviceAddressesGoToTheirInterface: an address with `dev eth1` is
// added, read back, announced and removed on eth1; the others stay on the
// instance's interface.
func TestDeviceAddressesGoToTheirInterface(t *testing.T) {
	ic := mustParse(t, `instances:
  - {name: a, interface: eth0, vrid: 1, virtual_addresses: [198.18.1.100/24], device_addresses: [{address: 198.18.2.17/32, interface: eth1}]}
`).Instances[0]
	fa := vrrptest.NewFakeAddrs()
	var ann annLog
	am, an := withDeviceAddresses(ic, "eth0", fa, &ann)
	for _, p := range ic.AllVirtualAddresses() {
		if err := am.AddAddr("eth0", p); err != nil {
			t.Fatal(err)
		}
		if err := an.Announce("eth0", p.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	have, err := am.Addrs("eth0")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"add eth0 198.18.1.100/24", "add eth1 198.18.2.17/32"}
	if !slices.Equal(fa.Calls(), want) || len(have) != 2 {
		t.Errorf("calls %q, read back %v; want %q and both", fa.Calls(), have, want)
	}
	if w := (annLog{"eth0 198.18.1.100", "eth1 198.18.2.17"}); !slices.Equal(ann, w) {
		t.Errorf("announced %q, want %q", ann, w)
	}
	if err := am.DelAddr("eth0", netip.MustParsePrefix("198.18.2.17/32")); err != nil || fa.Has("eth1", netip.MustParsePrefix("198.18.2.17/32")) {
		t.Errorf("not removed from eth1: %v %q", err, fa.Calls())
	}
}

// TestVMACSendsFromTheVirtualMAC: RFC 5798 §7.3 and keepalived's use_vmac
// send adverts from the virtual MAC, so a vmac instance opens its send
// socket on the macvlan; vmac_xmit_base, and unicast peers (which the
// macvlan has no route to; keepalived requires vmac_xmit_base there),
// keep the interface's own socket.
func TestVMACSendsFromTheVirtualMAC(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"vmac", "    vmac: true\n", []string{"vrrp.51"}},
		{"vmac_xmit_base", "    vmac: true\n    vmac_xmit_base: true\n", nil},
		{"unicast", "    vmac: true\n    unicast_source: 198.18.1.11\n    unicast_peers: [198.18.1.12]\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
			ctx, cancel := context.WithCancel(context.Background())
			n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
			defer func() { n.Shutdown(); cancel(); n.Wait() }()
			cfg := "instances:\n  - name: front\n    interface: eth0\n    vrid: 51\n    advert_interval: 20ms\n    virtual_addresses: [198.18.1.100/24]\n" + tc.extra
			if err := n.Apply(mustParse(t, cfg)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "MASTER", func() bool { return n.Status()[0].State == "MASTER" })
			k.mu.Lock()
			defer k.mu.Unlock()
			if !slices.Equal(k.vmacSend, tc.want) {
				t.Errorf("send sockets on %q, want %q", k.vmacSend, tc.want)
			}
		})
	}
}

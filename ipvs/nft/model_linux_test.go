package nft

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/hachat/hachat/ipvs/table"
	"github.com/hachat/hachat/test/netns"
)

// fakeResolver knows the MACs in macs and nothing else.
type fakeResolver struct {
	macs map[netip.Addr]net.HardwareAddr
}

func (r fakeResolver) Interface(name string) (int, net.HardwareAddr, error) {
	i, err := net.InterfaceByName(name)
	if err != nil {
		return 0, nil, err
	}
	return i.Index, i.HardwareAddr, nil
}

func (r fakeResolver) Neighbour(_ int, a netip.Addr) (net.HardwareAddr, error) {
	if m, ok := r.macs[a]; ok {
		return m, nil
	}
	return nil, ErrUnresolved
}

type fixedCount map[ConnKey]ConnCount

func (c fixedCount) Count() (map[ConnKey]ConnCount, error) { return c, nil }

// natAndDR is a NAT service and a DR service on the same real servers; the
// second DR real server's MAC is unknown.
func natAndDR() (nat, dr table.Service) {
	vip := netip.MustParseAddrPort("198.18.1.100:80")
	rs1, rs2 := netip.MustParseAddrPort("198.18.2.21:80"), netip.MustParseAddrPort("198.18.2.22:80")
	nat = table.Service{ServiceKey: table.ServiceKey{Address: vip, Protocol: table.TCP}, Scheduler: "rr",
		Destinations: []table.Destination{{Address: rs1, Weight: 1, Forwarding: table.NAT}}}
	dr = table.Service{ServiceKey: table.ServiceKey{Address: netip.MustParseAddrPort("198.18.1.100:90"), Protocol: table.TCP}, Scheduler: "mh",
		Destinations: []table.Destination{{Address: rs1, Weight: 1, Forwarding: table.DR}, {Address: rs2, Weight: 1, Forwarding: table.DR}}}
	return nat, dr
}

// openWith opens the data plane in a host of its own with eth0 (a veth)
// and programs svcs.
func openWith(t *testing.T, h *netns.Host, ct ConnCounter, svcs ...table.Service) *DataPlane {
	t.Helper()
	if out, err := h.Run(context.Background(), "ip", "link", "add", "eth0", "up", "type", "veth", "peer", "name", "eth1"); err != nil {
		t.Fatal(err, out)
	}
	var d *DataPlane
	err := h.Do(func() (err error) {
		d, err = Open(Options{NoSysctls: true, Conntrack: ct,
			Resolver:    fakeResolver{macs: map[netip.Addr]net.HardwareAddr{netip.MustParseAddr("198.18.2.21"): {2, 0, 0, 0, 0, 1}}},
			DRInterface: func(table.ServiceKey) string { return "eth0" }})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var ops []table.Op
	for _, s := range svcs {
		ops = append(ops, table.Op{Kind: table.CreateService, Service: s})
		for _, dst := range s.Destinations {
			ops = append(ops, table.Op{Kind: table.CreateDestination, Service: s, Dest: dst})
		}
	}
	if err := d.Apply(ops); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStandbyRewritesOnlyOnChange: setting the same standby set again
// leaves the tables alone (the kernel gives a re-created table a new
// handle), with a DR service present, whose standby state the inet table
// cannot show; a change rewrites them once.
func TestStandbyRewritesOnlyOnChange(t *testing.T) {
	l := netns.NewT(t, "nfts")
	h := l.MustHost("lb")
	nat, dr := natAndDR()
	d := openWith(t, h, fixedCount{}, nat, dr)
	handles := func() string {
		out, err := h.Run(context.Background(), "sh", "-c", "nft -a list ruleset | grep '^table'")
		if err != nil || !strings.Contains(out, "# handle") {
			t.Fatal(err, out)
		}
		return out
	}
	for _, step := range []struct {
		standby []table.ServiceKey
		rewrite bool
	}{
		{nil, false}, {nil, false},
		{[]table.ServiceKey{dr.ServiceKey}, true}, {[]table.ServiceKey{dr.ServiceKey}, false},
		{[]table.ServiceKey{dr.ServiceKey, nat.ServiceKey}, true}, {[]table.ServiceKey{nat.ServiceKey, dr.ServiceKey}, false},
		{nil, true}, {nil, false},
	} {
		before := handles()
		if err := d.SetStandby(step.standby); err != nil {
			t.Fatal(err)
		}
		if after := handles(); (after != before) != step.rewrite {
			t.Errorf("standby %v: rewritten %v, want %v\n%s\n%s", step.standby, after != before, step.rewrite, before, after)
		}
	}
}

// TestModelSkipsConntrackButKeepsRetries: Model reads the services without
// conntrack's counts, yet still reports a DR real server whose MAC was not
// resolved with weight -1, so that the reconciler retries it; Services has
// the counts.
func TestModelSkipsConntrackButKeepsRetries(t *testing.T) {
	l := netns.NewT(t, "nftm")
	h := l.MustHost("lb")
	nat, dr := natAndDR()
	vip, rs1 := nat.Address, nat.Destinations[0].Address
	d := openWith(t, h, fixedCount{{vip, rs1}: {Active: 4, Inactive: 2}}, nat, dr)
	model, err := d.Model()
	if err != nil {
		t.Fatal(err)
	}
	full, err := d.Services()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ss   []table.ServiceState
		want uint32
	}{{"Model", model, 0}, {"Services", full, 6}} {
		got := map[string]table.DestinationState{}
		for _, s := range c.ss {
			for _, dst := range s.Dests {
				got[s.Address.String()+">"+dst.Address.String()] = dst
			}
		}
		if n := got["198.18.1.100:80>198.18.2.21:80"]; n.ActiveConns+n.InactiveConns != c.want {
			t.Errorf("%s: NAT real server has %d+%d connections, want %d", c.name, n.ActiveConns, n.InactiveConns, c.want)
		}
		if w := got["198.18.1.100:90>198.18.2.22:80"].Weight; w != -1 {
			t.Errorf("%s: unresolved DR real server has weight %d, want -1 (so that it is retried)", c.name, w)
		}
		if w := got["198.18.1.100:90>198.18.2.21:80"].Weight; w != 1 {
			t.Errorf("%s: resolved DR real server has weight %d, want 1", c.name, w)
		}
	}
}

package config

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFollowersParse reads the keepalived.conf(5) "virtual_routes",
// "virtual_rules" and "virtual_ipaddress ... dev" equivalents.
func TestFollowersParse(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(base+`    device_addresses:
      - {address: 198.18.2.17/32, interface: eth1}
    virtual_routes:
      - {to: 198.18.9.0/24, via: 198.18.1.254, interface: eth0, source: 198.18.1.100, table: 100, metric: 5, scope: global}
      - {to: 198.18.10.0/24, nexthops: [{via: 198.18.1.252}, {via: 198.18.1.253, weight: 2}]}
      - {to: 198.18.11.1/32, type: blackhole}
    virtual_rules:
      - {from: 198.18.1.0/24, table: 2, priority: 100}
`))
	if err != nil {
		t.Fatal(err)
	}
	in := c.Instances[0]
	want := []Route{
		{To: netip.MustParsePrefix("198.18.9.0/24"), Via: netip.MustParseAddr("198.18.1.254"), Interface: "eth0", Source: netip.MustParseAddr("198.18.1.100"), Table: 100, Metric: 5, Scope: "global"},
		{To: netip.MustParsePrefix("198.18.10.0/24"), Nexthops: []Nexthop{{Via: netip.MustParseAddr("198.18.1.252")}, {Via: netip.MustParseAddr("198.18.1.253"), Weight: 2}}},
		{To: netip.MustParsePrefix("198.18.11.1/32"), Type: "blackhole"},
	}
	eq := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	peq := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if d := cmp.Diff(want, in.VirtualRoutes, eq, peq); d != "" {
		t.Errorf("routes (-want +got):\n%s", d)
	}
	if r := in.VirtualRules; len(r) != 1 || r[0].Table != 2 || r[0].Priority != 100 || r[0].From != netip.MustParsePrefix("198.18.1.0/24") {
		t.Errorf("rules = %+v", r)
	}
	if d := in.DeviceAddresses; len(d) != 1 || d[0].Interface != "eth1" {
		t.Errorf("device addresses = %+v", d)
	}
}

func TestFollowersErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"route without destination", "    virtual_routes: [{via: 198.18.1.254}]\n", "virtual_routes[0].to: missing"},
		{"route going nowhere", "    virtual_routes: [{to: 198.18.9.0/24}]\n", "needs via, nexthops or interface"},
		{"blackhole with gateway", "    virtual_routes: [{to: 198.18.9.0/24, type: blackhole, via: 198.18.1.1}]\n", "has no gateway"},
		{"mixed family gateway", "    virtual_routes: [{to: 198.18.9.0/24, via: 2001:db8::1}]\n", "not of the family"},
		{"bad scope", "    virtual_routes: [{to: 198.18.9.0/24, interface: eth0, scope: moon}]\n", "scope: \"moon\""},
		{"rule without table", "    virtual_rules: [{from: 198.18.1.0/24}]\n", "virtual_rules[0].table: missing"},
		{"device address without interface", "    device_addresses: [{address: 198.18.2.17/32}]\n", "device_addresses[0].interface: missing"},
		{"vmac_xmit_base without vmac", "    vmac_xmit_base: true\n", "vmac is false"},
		{"device address on the own interface", "    device_addresses: [{address: 198.18.2.17/32, interface: eth0}]\n", "put 198.18.2.17/32 in virtual_addresses"},
		{"device address of the other family", "    device_addresses: [{address: 2001:db8::17/128, interface: eth1}]\n", "of one family"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(base+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestWarningsFollowerInterfaceAbsent: like keepalived, vrrpd -t warns of
// an interface a device address or a virtual route names that is absent.
func TestWarningsFollowerInterfaceAbsent(t *testing.T) {
	c, err := Parse("t.yaml", []byte(base+"    device_addresses: [{address: 198.18.2.17/32, interface: eth9}]\n    virtual_routes: [{to: 198.18.9.0/24, interface: eth8}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range c.Warnings(func(n string) bool { return n == "eth0" }) {
		got = append(got, w.Field)
	}
	want := []string{"instances[0].device_addresses[0].interface", "instances[0].virtual_routes[0].interface"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

func TestQuorumCommandsErrors(t *testing.T) {
	const vs = `virtual_servers:
  - address: 198.18.1.100:80
    real_servers: [{address: 198.18.2.21:80}]
`
	for _, tc := range []struct{ name, yaml, want string }{
		{"relative command", "    quorum_up: [quorum-up.sh]\n", "virtual_servers[0].quorum_up: \"quorum-up.sh\" must be an absolute path"},
		{"omega without quorum_down", "    omega: true\n", "no quorum_down to run at shutdown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(base+vs+tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

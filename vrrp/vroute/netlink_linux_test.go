//go:build linux

package vroute

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNS creates a network namespace with an interface eth1 holding
// 198.18.1.1/24 and 2001:db8::1/64, and returns a netlink handle in it.
func testNS(t *testing.T) (string, *netlink.Handle) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command (iproute2)")
	}
	name := fmt.Sprintf("vroute-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	// A veth pair: the kernel here has no dummy driver.
	run("-n", name, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1p")
	run("-n", name, "link", "set", "eth1p", "up")
	run("-n", name, "addr", "add", "198.18.1.1/24", "dev", "eth1")
	run("-n", name, "addr", "add", "2001:db8::1/64", "dev", "eth1", "nodad")
	run("-n", name, "link", "set", "eth1", "up")
	ns, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return name, h
}

func ipOut(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestNetlinkInstallsWhatIPShows adds the kinds of keepalived.conf(5)
// virtual_routes and virtual_rules the Debian samples use (a gateway with a
// source, a device route, a multipath "or" route, a blackhole, a default
// route in another table, rules by source and destination), checks that
// `ip route` and `ip rule` show them, that adding twice is not an error,
// and that Remove leaves nothing behind.
func TestNetlinkInstallsWhatIPShows(t *testing.T) {
	ns, h := testNS(t)
	k := NewNetlink(h)
	a := netip.MustParseAddr
	p := netip.MustParsePrefix
	s := Set{
		Routes: []Route{
			{To: p("198.18.9.0/24"), Via: a("198.18.1.254"), Source: a("198.18.1.1"), Interface: "eth1"},
			{To: p("198.18.11.0/24"), Interface: "eth1", Scope: ScopeLink},
			{To: p("198.18.13.0/24"), Nexthops: []Nexthop{{Via: a("198.18.1.252"), Interface: "eth1"}, {Via: a("198.18.1.253"), Interface: "eth1"}}},
			{To: p("198.18.15.0/24"), Interface: "eth1", Nexthops: []Nexthop{{Via: a("198.18.1.250")}, {Via: a("198.18.1.251"), Weight: 3}}}, // keepalived's "via A or B dev eth1"
			{To: p("198.18.14.1/32"), Type: TypeBlackhole},
			{To: p("0.0.0.0/0"), Via: a("198.18.1.254"), Table: 100},
			{To: p("2001:db8:9::/48"), Via: a("2001:db8::fe"), Interface: "eth1"},
		},
		Rules: []Rule{
			{From: p("198.18.2.0/24"), Table: 2, Priority: 100},
			{To: p("198.18.3.0/24"), Table: 2, Priority: 101},
		},
	}
	for range 2 {
		if err := s.Install(k); err != nil {
			t.Fatal(err)
		}
	}
	routes := ipOut(t, ns, "route", "show", "table", "all")
	for _, want := range []string{
		"198.18.9.0/24 via 198.18.1.254 dev eth1 proto static src 198.18.1.1",
		"198.18.11.0/24 dev eth1 proto static scope link",
		"198.18.13.0/24 proto static",
		"nexthop via 198.18.1.252 dev eth1 weight 1",
		"nexthop via 198.18.1.253 dev eth1 weight 1",
		"nexthop via 198.18.1.250 dev eth1 weight 1",
		"nexthop via 198.18.1.251 dev eth1 weight 3",
		"blackhole 198.18.14.1 proto static",
		"default via 198.18.1.254 dev eth1 table 100 proto static",
		"2001:db8:9::/48 via 2001:db8::fe dev eth1 proto static",
	} {
		if !strings.Contains(routes, want) {
			t.Errorf("ip route show table all lacks %q:\n%s", want, routes)
		}
	}
	rules := ipOut(t, ns, "rule", "show")
	for _, want := range []string{"100:\tfrom 198.18.2.0/24 lookup 2", "101:\tfrom all to 198.18.3.0/24 lookup 2"} {
		if !strings.Contains(rules, want) {
			t.Errorf("ip rule show lacks %q:\n%s", want, rules)
		}
	}
	for range 2 {
		if err := s.Remove(k); err != nil {
			t.Fatal(err)
		}
	}
	after := ipOut(t, ns, "route", "show", "table", "all")
	for _, l := range strings.Split(after, "\n") {
		if strings.Contains(l, "proto static") {
			t.Errorf("left behind: %s", l)
		}
	}
	if r := ipOut(t, ns, "rule", "show"); slices.ContainsFunc(strings.Split(r, "\n"), func(l string) bool { return strings.Contains(l, "lookup 2") }) {
		t.Errorf("rules left behind:\n%s", r)
	}
}

// TestNetlinkRemoveWithoutInterface: removing a route whose interface does
// not exist (never created, or gone) is not an error, as at start-up, when
// vrrpd removes what a previous run may have left.
func TestNetlinkRemoveWithoutInterface(t *testing.T) {
	_, h := testNS(t)
	s := Set{Routes: []Route{{To: netip.MustParsePrefix("198.18.9.0/24"), Interface: "nosuch0"}}}
	if err := s.Remove(NewNetlink(h)); err != nil {
		t.Errorf("remove: %v", err)
	}
	if err := s.Install(NewNetlink(h)); err == nil {
		t.Error("install on a missing interface: no error")
	}
}

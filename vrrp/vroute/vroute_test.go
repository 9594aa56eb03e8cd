package vroute_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/vrrp/vroute"
	"github.com/hachat/hachat/vrrp/vroute/vroutetest"
)

var sample = vroute.Set{
	Routes: []vroute.Route{
		{To: netip.MustParsePrefix("198.18.9.0/24"), Via: netip.MustParseAddr("198.18.1.254"), Source: netip.MustParseAddr("198.18.1.100")},
		{To: netip.MustParsePrefix("198.18.10.1/32"), Type: vroute.TypeBlackhole},
	},
	Rules: []vroute.Rule{{From: netip.MustParsePrefix("198.18.1.0/24"), Table: 2, Priority: 100}},
}

// TestInstallOrderKeepalived checks the order of keepalived.conf(5)'s
// virtual_routes and virtual_rules on a Master change: routes then rules
// when becoming Master, rules then routes, each list backwards, when
// leaving it.
func TestInstallOrderKeepalived(t *testing.T) {
	var k vroutetest.Fake
	if err := sample.Install(&k); err != nil {
		t.Fatal(err)
	}
	if err := sample.Remove(&k); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"add route 198.18.9.0/24 via 198.18.1.254 src 198.18.1.100",
		"add route blackhole 198.18.10.1/32",
		"add rule from 198.18.1.0/24 priority 100 table 2",
		"del rule from 198.18.1.0/24 priority 100 table 2",
		"del route blackhole 198.18.10.1/32",
		"del route 198.18.9.0/24 via 198.18.1.254 src 198.18.1.100",
	}
	if d := cmp.Diff(want, k.Calls()); d != "" {
		t.Errorf("calls (-want +got):\n%s", d)
	}
	if len(k.Routes()) != 0 || len(k.Rules()) != 0 {
		t.Errorf("left behind: %v %v", k.Routes(), k.Rules())
	}
}

// TestInstallGoesOnAfterFailure: one route the kernel refuses must not keep
// the others away; every failure is reported.
func TestInstallGoesOnAfterFailure(t *testing.T) {
	k := &vroutetest.Fake{Fail: errors.New("EINVAL")}
	err := sample.Install(k)
	if err == nil || strings.Count(err.Error(), "EINVAL") != 3 {
		t.Errorf("err = %v, want three failures", err)
	}
	if len(k.Calls()) != 3 {
		t.Errorf("calls = %v, want all three tried", k.Calls())
	}
}

package ipvs

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/health"
)

// TestProberPerCheckType checks that each check type of vrrpd.yaml(5)
// becomes the keepalived checker it stands for, aimed at connect_ip and
// connect_port when given and at the real server otherwise.
func TestProberPerCheckType(t *testing.T) {
	rs := netip.MustParseAddrPort("198.18.3.1:80")
	other := netip.MustParseAddr("198.18.3.9")
	for _, tc := range []struct {
		ch   Check
		want health.Prober
	}{
		{Check{Type: "tcp"}, &health.TCP{Addr: "198.18.3.1:80"}},
		{Check{Type: "tcp", Address: other, Port: 81}, &health.TCP{Addr: "198.18.3.9:81"}},
		{Check{Type: "http", Path: "/x", Status: []health.StatusRange{{Lo: 200, Hi: 299}, {Lo: 503, Hi: 503}}, Digest: "9b3a0c85a887a256d6939da88aabd8cd"},
			&health.HTTP{URL: "http://198.18.3.1:80/x", ExpectStatus: []health.StatusRange{{Lo: 200, Hi: 299}, {Lo: 503, Hi: 503}}, Digest: "9b3a0c85a887a256d6939da88aabd8cd"}},
		{Check{Type: "icmp"}, &health.ICMP{Addr: rs.Addr()}},
		{Check{Type: "udp", Payload: []byte{10, 11}, RequireReply: true, Expect: []byte{12}}, &health.UDP{Addr: "198.18.3.1:80", Payload: []byte{10, 11}, RequireReply: true, Expect: []byte{12}}},
		{Check{Type: "smtp", Port: 25, Helo: "lb"}, &health.SMTP{Addr: "198.18.3.1:25", Helo: "lb"}},
		{Check{Type: "dns", Port: 53, QueryName: "example.org", QueryType: "A"}, &health.DNS{Addr: "198.18.3.1:53", Name: "example.org", Type: "A"}},
	} {
		t.Run(tc.ch.Type, func(t *testing.T) {
			got, err := prober(&tc.ch, rs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("prober (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTargetAllChecks: a real server with several checks is one health
// target probing all of them (up while every one passes, keepalived's rule
// for several checkers), with the first check's schedule, the retry
// interval, and the longest timeout.
func TestTargetAllChecks(t *testing.T) {
	c := with(func(_ *Config, vs *VirtualService) {
		vs.RealServers[1].Checks = []Check{
			{Type: "tcp", Interval: 5 * time.Second, Timeout: time.Second, RetryInterval: 2 * time.Second, Rise: 2, Fall: 3},
			{Type: "icmp", Interval: 5 * time.Second, Timeout: 3 * time.Second, RetryInterval: 2 * time.Second, Rise: 2, Fall: 3},
		}
	})
	s := specs(c)
	tg, ok, err := s[0].reals[1].target()
	if err != nil || !ok {
		t.Fatalf("target: %v %v", ok, err)
	}
	all, isAll := tg.Prober.(health.All)
	if !isAll || len(all) != 2 {
		t.Fatalf("prober %#v, want health.All of the tcp and icmp checks", tg.Prober)
	}
	if b, ok := all[1].(health.Bounded); !ok || b.Timeout != 3*time.Second {
		t.Errorf("second probe %#v, want the icmp check bounded by its 3s timeout", all[1])
	} else if _, ok := b.Prober.(*health.ICMP); !ok {
		t.Errorf("second probe %T, want *health.ICMP", b.Prober)
	}
	got := []time.Duration{tg.Interval, tg.Timeout, tg.RetryInterval}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, 3 * time.Second, 2 * time.Second}, got); diff != "" || tg.Fall != 3 {
		t.Errorf("interval, timeout, retry (-want +got):\n%s fall %d", diff, tg.Fall)
	}
	if tg, ok, _ := s[0].reals[0].target(); ok {
		t.Errorf("a real server without checks has a target: %+v", tg)
	}
}

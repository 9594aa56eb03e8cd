package ipvs

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/ipvs/health"
)

// TestProberPerCheckType checks that each check type of vrrpd.yaml(5)
// becomes the keepalived checker it stands for, aimed at connect_ip and
// connect_port when given and at the real server otherwise.
func TestProberPerCheckType(t *testing.T) {
	rs := netip.MustParseAddrPort("198.18.3.1:80")
	other := netip.MustParseAddr("198.18.3.9")
	for _, tc := range []struct {
		ch   config.Check
		want health.Prober
	}{
		{config.Check{Type: "tcp"}, &health.TCP{Addr: "198.18.3.1:80"}},
		{config.Check{Type: "tcp", Address: other, Port: 81}, &health.TCP{Addr: "198.18.3.9:81"}},
		{config.Check{Type: "http", Path: "/x", Status: []config.StatusRange{{Lo: 200, Hi: 299}, {Lo: 503, Hi: 503}}, Digest: "9b3a0c85a887a256d6939da88aabd8cd"},
			&health.HTTP{URL: "http://198.18.3.1:80/x", ExpectStatus: []health.StatusRange{{Lo: 200, Hi: 299}, {Lo: 503, Hi: 503}}, Digest: "9b3a0c85a887a256d6939da88aabd8cd"}},
		{config.Check{Type: "icmp"}, &health.ICMP{Addr: rs.Addr()}},
		{config.Check{Type: "udp", Payload: "0a0b", RequireReply: true, Expect: "0c"}, &health.UDP{Addr: "198.18.3.1:80", Payload: []byte{10, 11}, RequireReply: true, Expect: []byte{12}}},
		{config.Check{Type: "smtp", Port: 25, Helo: "lb"}, &health.SMTP{Addr: "198.18.3.1:25", Helo: "lb"}},
		{config.Check{Type: "dns", Port: 53, QueryName: "example.org", QueryType: "A"}, &health.DNS{Addr: "198.18.3.1:53", Name: "example.org", Type: "A"}},
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

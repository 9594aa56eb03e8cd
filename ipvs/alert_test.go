package ipvs

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/health/healthtest"
	"github.com/hachat/hachat/ipvs/ipvstest"
)

// TestKeepalivedConfSmtpAlertRealServer: every health verdict change of a
// real server reaches OnRealServer with the server's smtp_alert
// (keepalived.conf(5): default yes, here off for the second server).
func TestKeepalivedConfSmtpAlertRealServer(t *testing.T) {
	y := with(func(_ *Config, vs *VirtualService) { vs.RealServers[1].Alert = false })
	var got []RealServerChange
	clk := healthtest.NewFakeClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	b, err := NewBalancer(y, Options{Plane: &ipvstest.DataPlane{}, Clock: clk, Sync: &fakeSync{},
		OnRealServer: func(c RealServerChange) { got = append(got, c) }})
	if err != nil {
		t.Fatal(err)
	}
	b.onHealth(health.Update{ID: "vs TCP 198.18.1.100:80 rs 198.18.2.21:80", State: health.Down})
	b.onHealth(health.Update{ID: "vs TCP 198.18.1.100:80 rs 198.18.2.22:80", State: health.Down})
	b.onHealth(health.Update{ID: "vs TCP 198.18.1.100:80 rs 198.18.2.21:80", State: health.Up})
	rs1, rs2 := netip.MustParseAddrPort("198.18.2.21:80"), netip.MustParseAddrPort("198.18.2.22:80")
	want := []RealServerChange{
		{Service: "web", RealServer: rs1, Up: false, Alert: true},
		{Service: "web", RealServer: rs2, Up: false, Alert: false},
		{Service: "web", RealServer: rs1, Up: true, Alert: true},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

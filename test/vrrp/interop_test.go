package vrrptest

import (
	"testing"
	"time"

	"github.com/hachat/hachat/test/vrrp/vrrplab"
)

// TestKeepalivedInterop runs vrrpd and keepalived (VRRPv3) for the same VRID
// and VIP on one segment, in both roles: one master at a time, failover
// either way (node loss and graceful), and preempting failback.
func TestKeepalivedInterop(t *testing.T) {
	roles := []struct {
		name         string
		impl1, impl2 func(*testing.T) vrrplab.Impl
	}{
		{"vrrpd-master/keepalived-backup", vrrpd, keepalived},
		{"keepalived-master/vrrpd-backup", keepalived, vrrpd},
	}
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			e := setup(t, r.impl1(t), r.impl2(t), true)
			e.elect()
			for _, k := range []vrrplab.Kind{vrrplab.Graceful, vrrplab.NodeLoss} {
				c, err := e.pair.Cycle(e.wctx(), e.pr, k, advert)
				e.must(err)
				e.holders("lb1")
				t.Logf("%s: failover %v (lb2 after %v); failback %v (lb1 after %v)", k,
					c.Failover, c.Takeover.Round(time.Millisecond), c.Failback, c.Returned.Round(time.Millisecond))
			}
		})
	}
}

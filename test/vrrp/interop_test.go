package vrrp

import (
	"testing"
	"time"

	"github.com/hachat/hachat/test/vrrp/vrrplab"
	"github.com/hachat/hachat/vrrp"
)

// TestKeepalivedInterop runs vrrpd and keepalived (VRRPv3) for the same VRID
// and VIP on one segment, in both roles: one master at a time, failover
// either way (node loss and graceful), and preempting failback.
func TestKeepalivedInterop(t *testing.T) {
	keepalivedInterop(t, 3, advert, false, "")
}

// TestRFC3768KeepalivedV2Interop is TestKeepalivedInterop with both
// routers speaking VRRPv2 (RFC 3768), keepalived's default: vrrpd with
// version: 2, keepalived with vrrp_version 2, one-second adverts (v2
// counts whole seconds).
func TestRFC3768KeepalivedV2Interop(t *testing.T) {
	keepalivedInterop(t, 2, time.Second, false, "")
}

// TestRFC3768_5_3_6_KeepalivedV2PassInterop is TestRFC3768KeepalivedV2Interop
// with keepalived's default sample authentication, auth_type PASS
// auth_pass 1111, on both routers: keepalived drops adverts without the
// password (RFC 3768 §7.1), so two masters here mean vrrpd's adverts lack
// it, and an auth drop on vrrpd's side means it misreads keepalived's.
func TestRFC3768_5_3_6_KeepalivedV2PassInterop(t *testing.T) {
	keepalivedInterop(t, 2, time.Second, false, "1111")
}

// TestRFC5798_8_4_2_V2CompatWithKeepalivedV2 runs vrrpd as a VRRPv3 router
// in VRRPv2 compatibility (v2_compat) beside a stock keepalived speaking
// VRRPv2, in both roles: the upgrade path RFC 5798 §8.4 describes.
func TestRFC5798_8_4_2_V2CompatWithKeepalivedV2(t *testing.T) {
	keepalivedInterop(t, 2, time.Second, true, "")
}

// keepalivedInterop runs the interop scenario with both routers speaking
// version; compat makes vrrpd a VRRPv3 router in VRRPv2 compatibility;
// pass is the VRRPv2 password of both ("" for none).
func keepalivedInterop(t *testing.T, version int, interval time.Duration, compat bool, pass string) {
	roles := []struct {
		name         string
		impl1, impl2 func(*testing.T) vrrplab.Impl
	}{
		{"vrrpd-master/keepalived-backup", vrrpd, keepalived},
		{"keepalived-master/vrrpd-backup", keepalived, vrrpd},
	}
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			impl1, impl2 := r.impl1(t), r.impl2(t)
			e := setup(t, impl1, impl2, true)
			for _, s := range []*vrrplab.Spec{&e.pair.Spec1, &e.pair.Spec2} {
				s.Version, s.Advert, s.AuthPass = version, interval, pass
			}
			if compat {
				for i, impl := range []vrrplab.Impl{impl1, impl2} {
					if s := []*vrrplab.Spec{&e.pair.Spec1, &e.pair.Spec2}[i]; isVrrpd(impl) {
						s.Version, s.V2Compat = 3, true
					}
				}
			}
			e.elect()
			// vrrpd must parse every keepalived advert and agree on the master.
			ours, peer, peerAddr := e.topo.LB2, "keepalived lb1", e.topo.Addr1.Addr()
			wantState := "BACKUP"
			if isVrrpd(impl1) {
				ours, peer, peerAddr, wantState = e.topo.LB1, "keepalived lb2", e.topo.Addr2.Addr(), "MASTER"
			}
			st := e.vrrpdState(ours)
			wantV := uint8(version)
			if compat {
				wantV = 3
			}
			if st.Version != wantV || st.V2Compat != compat {
				t.Errorf("vrrpd speaks version %d (v2_compat %v), want %d (v2_compat %v)", st.Version, st.V2Compat, wantV, compat)
			}
			if wantAuth := (pass != ""); (st.AuthType == vrrp.AuthPass) != wantAuth {
				t.Errorf("vrrpd auth type %d, want a password: %v", st.AuthType, wantAuth)
			}
			if st.State != wantState {
				t.Errorf("vrrpd on %s is %s, want %s", ours.Name(), st.State, wantState)
			}
			if wantState == "BACKUP" && (st.AdvertsReceived == 0 || st.Master != peerAddr.String()) {
				t.Errorf("vrrpd backup heard %d adverts, master %q; want adverts from %s (%v)", st.AdvertsReceived, st.Master, peer, peerAddr)
			}
			for _, d := range wireDrops {
				if n := st.Drops[d]; n > 0 {
					t.Errorf("vrrpd dropped %d adverts from %s as %s", n, peer, d)
				}
			}
			for _, k := range []vrrplab.Kind{vrrplab.Graceful, vrrplab.NodeLoss} {
				c, err := e.pair.Cycle(e.wctx(), e.pr, k, interval)
				e.must(err)
				e.holders("lb1")
				t.Logf("%s: failover %v (lb2 after %v); failback %v (lb1 after %v)", k,
					c.Failover, c.Takeover.Round(time.Millisecond), c.Failback, c.Returned.Round(time.Millisecond))
			}
		})
	}
}

package vrrp

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hachat/hachat/test/vrrp/vrrplab"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/host"
	"github.com/hachat/hachat/vrrp/router"
)

// TestRFC5798_5_2_8_ForgedMessageOnlyAdvertsRefused replays issue #13's
// attack: five priority-254 adverts whose IPv4 checksum leaves out the
// pseudo-header (RFC 5798 §5.2.8 includes it) reach a vrrpd Master. It
// refuses them as checksum_form_refused and stays Master, as keepalived
// 2.2.7 does. The same advert with the pseudo-header checksum is accepted,
// so the test can fail.
func TestRFC5798_5_2_8_ForgedMessageOnlyAdvertsRefused(t *testing.T) {
	e := setup(t, vrrpd(t), vrrpd(t), true)
	e.must(e.pair.Start1())
	e.holders("lb1")
	send := func(form vrrp.ChecksumForm, n int) {
		src := e.topo.Addr2.Addr()
		adv := &vrrp.Advert{VRID: vrrplab.VRID, Priority: 254, MaxAdvertInt: advert, Addresses: []netip.Addr{e.topo.VIP.Addr()}}
		b, err := adv.Marshal(src, vrrp.MulticastGroup4, form)
		e.must(err)
		e.must(e.topo.LB2.Do(func() error {
			c, err := host.ListenConn(e.topo.Ifname, false)
			if err != nil {
				return err
			}
			defer c.Close()
			for range n {
				if err := c.WritePacket(b, src, vrrp.MulticastGroup4); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	waitStatus := func(what string, ok func(router.Status) bool) router.Status {
		t.Helper()
		ctx, cancel := context.WithTimeout(e.ctx, eventTimeout)
		defer cancel()
		for {
			st := e.vrrpdState(e.topo.LB1)
			if ok(st) {
				return st
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: status %+v", what, st)
			case <-time.After(5 * time.Millisecond): // polling the control socket, bounded by ctx
			}
		}
	}

	send(vrrp.ChecksumMessageOnly, 5)
	st := waitStatus("five refused adverts", func(s router.Status) bool { return s.Drops[vrrp.DropChecksumForm] == 5 })
	if st.State != "MASTER" || st.AdvertsReceived != 0 {
		t.Errorf("after the forged adverts: %s with %d adverts accepted, want MASTER with none", st.State, st.AdvertsReceived)
	}
	e.holders("lb1")

	send(vrrp.ChecksumPseudoHeader, 1)
	waitStatus("the pseudo-header advert accepted", func(s router.Status) bool { return s.AdvertsReceived == 1 })
}

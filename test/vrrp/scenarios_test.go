package vrrp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/vrrp/vrrplab"
	"github.com/hachat/hachat/vrrp/router"
)

// masterDown is RFC 5798 section 6.1's Master_Down_Interval for the backup
// (priority 100): 3·Advertisement_Interval + (256-100)·Advertisement_Interval/256.
var masterDown = 3*advert + (256-100)*advert/256

// TestElectionHigherPriorityBecomesMaster: RFC 5798 6.4.2/6.4.3, the router
// with the higher priority (lb1, 150) ends as the only master, even when it
// starts after lb2.
func TestElectionHigherPriorityBecomesMaster(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, true)
		e.elect()
		e.never(3*masterDown, "lb2 took the VIP while lb1 is master", func() bool {
			h, _ := e.topo.VIPHolders()
			return !slices.Equal(h, []string{"lb1"})
		})
	})
}

// TestNodeLossLinkDown: lb1's cable is pulled; lb2 takes over after
// Master_Down_Interval (6.4.2) and lb1 preempts when the cable is back.
func TestNodeLossLinkDown(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, true)
		e.elect()
		fail := e.pr.Mark("cable pulled")
		e.must(e.topo.Port1.Down())
		e.answeredBy(fail, "lb2")
		has, err := e.topo.LB2.HasAddr(e.topo.VIP.Addr())
		e.must(err)
		if !has {
			t.Fatal("lb2 answers on the VIP but netlink shows no VIP on lb2")
		}
		back := e.pr.Mark("cable back")
		e.logGap("failover", fail, back)
		e.must(e.topo.Port1.Up())
		e.answeredBy(back, "lb1")
		e.holders("lb1")
		e.logGap("failback", back, time.Time{})
	})
}

// TestNodeLossKill9AndLink: the master's daemon is killed with -9 while its
// cable is pulled (power loss); lb2 serves; after a "reboot" lb1 preempts and
// lb2's VIP is gone.
func TestNodeLossKill9AndLink(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, true)
		e.elect()
		c, err := e.pair.Cycle(e.wctx(), e.pr, vrrplab.NodeLoss, advert)
		e.must(err)
		e.holders("lb1")
		t.Logf("failover: %v (lb2 answered after %v); failback: %v", c.Failover, c.Takeover.Round(time.Millisecond), c.Failback)
	})
}

// TestGracefulStopAndFailback: SIGTERM makes the master send priority 0
// (6.4.3) and remove its VIP; lb2 takes over after Skew_Time; when lb1
// returns it preempts (6.4.2, Preempt_Mode true) and lb2 releases the VIP.
func TestGracefulStopAndFailback(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, true)
		e.elect()
		stop := e.pr.Mark("stop lb1")
		e.must(e.pair.R1.Stop(5 * time.Second))
		e.pair.R1 = nil
		has, err := e.topo.LB1.HasAddr(e.topo.VIP.Addr())
		e.must(err)
		if has {
			t.Fatal("lb1's daemon exited after SIGTERM but left the VIP configured")
		}
		e.holders("lb2")
		e.answeredBy(stop, "lb2")
		start := e.pr.Mark("restart lb1")
		e.logGap("graceful failover", stop, start)
		e.must(e.pair.Start1())
		e.answeredBy(start, "lb1")
		e.holders("lb1")
		g := e.logGap("failback with preempt", start, time.Time{})
		if g.Failed > 0 {
			t.Logf("note: failback lost %d probes (a benchmark target, not asserted here)", g.Failed)
		}
	})
}

// TestNopreemptKeepsBackupMaster: with Preempt_Mode false, lb1 (higher
// priority) does not take the VIP from a working lb2 (6.4.2), and takes it
// only when lb2 leaves.
func TestNopreemptKeepsBackupMaster(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, false)
		e.must(e.pair.Start2())
		e.holders("lb2")
		since := e.pr.Mark("lb2 master")
		e.answeredBy(since, "lb2")
		e.must(e.pair.Start1())
		e.never(5*masterDown+time.Second, "lb1 preempted although preempt is off", func() bool {
			has, _ := e.topo.LB1.HasAddr(e.topo.VIP.Addr())
			return has
		})
		if isVrrpd(impl) {
			// Not merely slow: lb1 hears lb2 and chose to stay Backup.
			st := e.vrrpdState(e.topo.LB1)
			if st.State != "BACKUP" || st.AdvertsReceived == 0 || st.Master != e.topo.Addr2.Addr().String() {
				t.Fatalf("lb1 state %s, %d adverts received, master %q; want BACKUP hearing %v",
					st.State, st.AdvertsReceived, st.Master, e.topo.Addr2.Addr())
			}
		}
		stop := e.pr.Mark("stop lb2")
		e.must(e.pair.R2.Stop(5 * time.Second))
		e.pair.R2 = nil
		e.holders("lb1")
		e.answeredBy(stop, "lb1")
	})
}

// TestBothDownVIPUnreachable: with both routers stopped nobody holds the VIP
// and every probe fails.
func TestBothDownVIPUnreachable(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, true)
		e.elect()
		e.pair.StopAll(5 * time.Second)
		e.holders()
		down := e.pr.Mark("both down")
		e.must(e.pr.WaitFailed(e.wctx(), down, 40))
		s := e.pr.Snapshot().Window(down, time.Time{})
		if ok := s.Responders(); len(ok) > 0 {
			t.Fatalf("with both routers down the VIP still answered: %v", ok)
		}
	})
}

// TestPartitionAndHeal: lb1 and lb2 cannot hear each other but the client
// reaches both: both become master. After the heal exactly one master is
// left (lb1, higher priority, 6.4.3) and lb2's VIP is gone.
func TestPartitionAndHeal(t *testing.T) {
	forEachImpl(t, func(t *testing.T, impl vrrplab.Impl) {
		e := setup(t, impl, impl, true)
		e.elect()
		e.must(e.topo.Switch.Partition(e.topo.LB1, e.topo.LB2))
		e.holders("lb1", "lb2")
		e.must(e.topo.Switch.Heal(e.topo.LB1, e.topo.LB2))
		heal := e.pr.Mark("heal")
		e.holders("lb1")
		// Which router the client's ARP entry names now tells whether the
		// master re-announced the VIP after the heal (a diagnostic only).
		neigh, _ := e.topo.Client.Run(e.ctx, "ip", "neigh", "show", e.topo.VIP.Addr().String())
		mac1, _ := e.topo.Port1.MAC()
		mac2, _ := e.topo.Port2.MAC()
		t.Logf("client ARP entry once lb2 released the VIP: %s (lb1 %v, lb2 %v)", strings.TrimSpace(neigh), mac1, mac2)
		e.answeredBy(heal, "lb1")
		e.logGap("after the heal", heal, time.Time{})
		e.never(3*masterDown, "a second master appeared after the heal", func() bool {
			h, _ := e.topo.VIPHolders()
			return !slices.Equal(h, []string{"lb1"})
		})
	})
}

// TestVMACFailover: with a virtual MAC (RFC 5798 §7.3) the client resolves
// the VIP to 00:00:5e:00:01:33 and keeps that entry across a failover: only
// the switch has to learn where the MAC went. The stopped master's macvlan
// is gone, the new master's is up. Run with each implementation on both
// routers and with the two mixed.
func TestVMACFailover(t *testing.T) {
	impls := map[string]func(*testing.T) vrrplab.Impl{"vrrpd": vrrpd, "keepalived": keepalived}
	for _, names := range [][2]string{{"vrrpd", "vrrpd"}, {"keepalived", "keepalived"}, {"vrrpd", "keepalived"}, {"keepalived", "vrrpd"}} {
		t.Run(names[0]+"-"+names[1], func(t *testing.T) {
			vmacFailover(t, impls[names[0]](t), impls[names[1]](t), false)
		})
	}
	// keepalived sending its adverts from the virtual MAC (RFC 5798 §7.3:
	// the Master's adverts carry it as their source): the vrrpd Master's own
	// macvlan carries the same MAC, and the kernel hands such a frame to the
	// macvlan, not to the interface vrrpd's socket is on. keepalived (150)
	// starting beside a vrrpd Master (100) must still make it step down.
	for _, names := range [][2]string{{"keepalived", "vrrpd"}, {"vrrpd", "keepalived"}, {"vrrpd", "vrrpd"}} {
		t.Run(names[0]+"-"+names[1]+"-xmit-vmac", func(t *testing.T) {
			vmacFailoverXmit(t, impls[names[0]](t), impls[names[1]](t), false, true)
		})
	}
	// IPv6: 00:00:5e:00:02:33.
	t.Run("vrrpd-vrrpd-ipv6", func(t *testing.T) { vmacFailover(t, vrrpd(t), vrrpd(t), true) })
	t.Run("keepalived-vrrpd-ipv6-xmit-vmac", func(t *testing.T) { vmacFailoverXmit(t, keepalived(t), vrrpd(t), true, true) })
	t.Run("vrrpd-vrrpd-ipv6-xmit-vmac", func(t *testing.T) { vmacFailoverXmit(t, vrrpd(t), vrrpd(t), true, true) })
}

func vmacFailover(t *testing.T, impl1, impl2 vrrplab.Impl, v6 bool) {
	vmacFailoverXmit(t, impl1, impl2, v6, false)
}

// vmacFailoverXmit is vmacFailover; xmit makes both send from the virtual
// MAC (RFC 5798 §7.3), which the client sees as the adverts' source.
func vmacFailoverXmit(t *testing.T, impl1, impl2 vrrplab.Impl, v6, xmit bool) {
	e := setupFamily(t, impl1, impl2, true, v6)
	e.must(e.pair.UseVMAC())
	e.pair.Spec1.VMACXmit, e.pair.Spec2.VMACXmit = xmit, xmit
	if xmit {
		// lb2 is Master (its macvlan up) before lb1 starts: the case
		// where lb1's adverts come from the MAC lb2's macvlan has.
		e.must(e.pair.Start2())
		e.holders("lb2")
		e.must(e.pair.Start1())
		e.must(e.pair.Steady(e.wctx(), e.pr))
	} else {
		e.elect()
	}
	for _, h := range []*netns.Host{e.topo.LB1, e.topo.LB2} {
		if !xmit || h == e.topo.LB1 && !isVrrpd(impl1) || h == e.topo.LB2 && !isVrrpd(impl2) {
			continue
		}
		// lb2 was Master before lb1 started: the vrrpd side heard the
		// other, as lb2 the adverts that made it step down, as lb1 those
		// of the Master it preempted.
		if st := e.vrrpdState(h); st.AdvertsReceived == 0 {
			t.Errorf("vrrpd on %s heard no adverts (state %s, drops %v)", h.Name(), st.State, st.Drops)
		}
	}
	// The virtual MAC interface's receive socket lives through the
	// macvlan going down and up (it is down on a Backup) without failing.
	for _, r := range []vrrplab.Router{e.pair.R1, e.pair.R2} {
		if strings.Contains(r.Log(), "VRRP socket failed") {
			t.Errorf("a VRRP socket failed:\n%s", r.Log())
		}
	}
	vmac := router.VirtualMAC(vrrplab.VRID, v6).String()
	// RFC 5798 §7.3: the Master's adverts come from the virtual MAC, as
	// keepalived's use_vmac sends them; with vmac_xmit_base from the
	// interface's own MAC.
	cctx, ccancel := context.WithTimeout(e.ctx, 10*time.Second)
	srcs, err := advertSources(cctx, e.topo.Client, e.topo.Ifname, v6, 3)
	ccancel()
	e.must(err)
	for _, m := range srcs {
		switch {
		case xmit && m.String() != vmac:
			t.Errorf("advert from %v, want the virtual MAC %s (RFC 5798 §7.3)", m, vmac)
		case !xmit && m.String() == vmac:
			t.Errorf("advert from the virtual MAC, want the interface's own (vmac_xmit_base)")
		}
	}
	ifname := fmt.Sprintf("vrrp.%d", vrrplab.VRID)
	neigh := func() string {
		out, err := e.topo.Client.Run(e.ctx, "ip", "neigh", "show", e.topo.VIP.Addr().String(), "dev", e.topo.Ifname)
		e.must(err)
		return out
	}
	if n := neigh(); !strings.Contains(n, vmac) {
		t.Fatalf("client's neighbour entry for the VIP: %q, want the virtual MAC %s", n, vmac)
	}
	stop := e.pr.Mark("stop lb1")
	e.must(e.pair.R1.Stop(5 * time.Second))
	e.pair.R1 = nil
	e.answeredBy(stop, "lb2")
	e.logGap("failover", stop, time.Time{})
	if n := neigh(); !strings.Contains(n, vmac) {
		t.Errorf("after the failover the client's entry is %q, want still %s", n, vmac)
	}
	if out, err := e.topo.LB1.Run(e.ctx, "ip", "link", "show", ifname); err == nil {
		t.Errorf("lb1's %s still there after its daemon stopped:\n%s", ifname, out)
	}
	if out, err := e.topo.LB2.Run(e.ctx, "ip", "-br", "link", "show", ifname); err != nil || !strings.Contains(out, "UP") || !strings.Contains(out, vmac) {
		t.Errorf("lb2's %s after takeover: %v %q, want up with %s", ifname, err, out, vmac)
	}
}

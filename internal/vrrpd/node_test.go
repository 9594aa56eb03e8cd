package vrrpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/vrrptest"
	"github.com/prometheus/client_golang/prometheus"
)

// fakeBalancer records what vrrpd tells the balancer.
type fakeBalancer struct {
	mu      sync.Mutex
	roles   []string
	reloads int
	refuse  error
}

func (f *fakeBalancer) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *fakeBalancer) Reload(*ipvs.Config) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	f.reloads++
	return nil
}
func (f *fakeBalancer) VRRPStateChanged(inst string, master bool) {
	f.mu.Lock()
	f.roles = append(f.roles, fmt.Sprintf("%s=%v", inst, master))
	f.mu.Unlock()
}
func (f *fakeBalancer) Status() []ipvs.ServiceStatus       { return nil }
func (f *fakeBalancer) Collectors() []prometheus.Collector { return nil }
func (f *fakeBalancer) roleLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.roles)
}

const withService = `global: {realtime_priority: 0}
instances:
  - name: front
    interface: eth0
    vrid: 51
    priority: %d
    advert_interval: 20ms
    virtual_addresses: [198.18.1.100/24]
virtual_servers:
  - name: irc
    address: 198.18.1.100:6667
    instance: front
    real_servers:
      - address: 198.18.2.21:6667
`

func mustParse(t *testing.T, s string) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBalancerWiring: a configuration with virtual servers starts the
// balancer, which hears of the MASTER role, gets reloads, and can refuse
// one, in which case nothing changes.
func TestBalancerWiring(t *testing.T) {
	fb := &fakeBalancer{}
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), func(*ipvs.Config, *slog.Logger) (Balancer, error) { return fb, nil })
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, fmt.Sprintf(withService, 100))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "front MASTER", func() bool { return n.Status()[0].State == "MASTER" })
	if got := fb.roleLog(); !slices.Equal(got, []string{"front=true"}) {
		t.Errorf("balancer roles %v, want [front=true]", got)
	}
	// The VIP was added once, after the unresolved neighbour entries were
	// flushed (the role is reported from the same takeover, just before;
	// vrrp's TestTakeOverOrder and TestTakeOverFlushesUnresolvedNeighborsFirst
	// check the order of the rest).
	if calls, want := k.addrs.Calls(), []string{"flush-neigh eth0", "add eth0 198.18.1.100/24"}; len(calls) < 2 || !slices.Equal(calls[:2], want) {
		t.Errorf("address calls %v, want them to begin with %v", calls, want)
	}

	if err := n.Apply(mustParse(t, fmt.Sprintf(withService, 120))); err != nil {
		t.Fatal(err)
	}
	if fb.reloads != 1 {
		t.Errorf("reloads %d, want 1", fb.reloads)
	}
	waitFor(t, "priority 120", func() bool { return n.Status()[0].Priority == 120 })

	fb.refuse = errors.New("scheduler xyz not supported")
	err := n.Apply(mustParse(t, fmt.Sprintf(withService, 130)))
	if err == nil {
		t.Fatal("refused reload returned no error")
	}
	if p := n.Status()[0].Priority; p != 120 {
		t.Errorf("priority %d after a refused reload, want 120", p)
	}

	// Maintenance: the role goes false after the VIP is gone.
	n.SetMaintenance("front", true)
	waitFor(t, "role false", func() bool { return slices.Contains(fb.roleLog(), "front=false") })
	if k.addrs.Has("eth0", frontVIP) {
		t.Error("VIP still present after the role went false")
	}
}

// TestAcceptModeRefusesNonOwnerAddresses: the addresses of instances with
// accept off are refused unless the instance owns them (priority 255); a
// reload that turns accept on lifts the refusal, and shutdown removes the
// rules.
func TestAcceptModeRefusesNonOwnerAddresses(t *testing.T) {
	const cfg = `instances:
  - {name: a, interface: eth0, vrid: 1, priority: 100, accept: %v, virtual_addresses: [198.18.1.100/24]}
  - {name: a6, interface: eth0, vrid: 1, priority: 100, accept: %[1]v, virtual_addresses: ["2001:2::100/64"]}
  - {name: b, interface: eth0, vrid: 2, priority: 100, virtual_addresses: [198.18.1.101/24]}
  - {name: owner, interface: eth0, vrid: 3, priority: 255, accept: false, virtual_addresses: [198.18.1.102/24]}
`
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	k.addrs.AddAddr("eth0", netip.MustParsePrefix("fe80::11/64"))
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { cancel(); n.Wait() }()
	for _, accept := range []bool{false, true} {
		if err := n.Apply(mustParse(t, fmt.Sprintf(cfg, accept))); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.AcceptDropped("ipv4"); got != 7 {
		t.Errorf("dropped %d, want the filter's count", got)
	}
	n.Shutdown()
	k.acc.mu.Lock()
	defer k.acc.mu.Unlock()
	want := [][]netip.Addr{{netip.MustParseAddr("198.18.1.100"), netip.MustParseAddr("2001:2::100")}, nil}
	if !slices.EqualFunc(k.acc.sets, want, func(a, b []netip.Addr) bool { return slices.Equal(a, b) }) {
		t.Errorf("refused %v, want %v", k.acc.sets, want)
	}
	if !k.acc.closed {
		t.Error("rules not removed at shutdown")
	}
}

// TestVMAC: with vmac on, the instance creates its macvlan (down) with the
// RFC 5798 virtual MAC, brings it up just before adding the addresses to
// it, and at shutdown takes it down after removing them, then deletes it.
func TestVMAC(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { cancel(); n.Wait() }()
	cfg := strings.Replace(fmt.Sprintf(withService, 100), "    advert_interval: 20ms\n", "    advert_interval: 20ms\n    vmac: true\n", 1)
	if err := n.Apply(mustParse(t, cfg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "front MASTER", func() bool { return n.Status()[0].State == "MASTER" })
	n.Shutdown()
	want := []string{"vmac-ensure eth0 vrrp.51 00:00:5e:00:01:33", "vmac-up vrrp.51", "add vrrp.51 198.18.1.100/24",
		"del vrrp.51 198.18.1.100/24", "vmac-down vrrp.51", "vmac-del vrrp.51"}
	calls := k.addrs.Calls()
	at := -1
	for _, w := range want {
		i := slices.Index(calls, w)
		if i <= at {
			t.Fatalf("calls %q: want %q in this order: %q", calls, w, want)
		}
		at = i
	}
	if k.addrs.Has("eth0", frontVIP) {
		t.Error("the virtual address went to the interface itself")
	}
}

func TestNeedsRestart(t *testing.T) {
	base := mustParse(t, fmt.Sprintf(withService, 100)).Instances[0]
	for _, tc := range []struct {
		name   string
		change func(*config.Instance)
		want   bool
	}{
		{"identical", func(*config.Instance) {}, false},
		{"priority", func(c *config.Instance) { c.Priority = 150 }, false},
		{"trackers", func(c *config.Instance) { c.TrackFiles = []config.TrackFile{{Path: "/x"}} }, false},
		{"notify", func(c *config.Instance) { c.Notify.Master = []string{"/bin/true"} }, false},
		{"becomes owner", func(c *config.Instance) { c.Priority = 255 }, true},
		{"vrid", func(c *config.Instance) { c.VRID = 52 }, true},
		{"interval", func(c *config.Instance) { c.AdvertInterval *= 2 }, false},
		{"version", func(c *config.Instance) { c.Version, c.AdvertInterval = 2, time.Second }, true},
		{"vips", func(c *config.Instance) { c.VirtualAddresses = nil }, true},
		{"interface", func(c *config.Instance) { c.Interface = "eth1" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			c.VirtualAddresses = slices.Clone(base.VirtualAddresses)
			tc.change(&c)
			if got := needsRestart(base, c); got != tc.want {
				t.Errorf("needsRestart = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSocketReopened: a VRRP socket that fails is reopened, and the
// instance keeps sending through the new one.
func TestSocketReopened(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, "global: {realtime_priority: 0}\ninstances:\n  - {name: vi, interface: eth0, vrid: 3, priority: 100, advert_interval: 20ms, virtual_addresses: [198.18.1.100/24]}\n")); err != nil {
		t.Fatal(err)
	}
	conns := func() []*vrrptest.FakeConn { k.mu.Lock(); defer k.mu.Unlock(); return slices.Clone(k.conns) }
	waitFor(t, "first adverts", func() bool { return conns()[0].SentCount() > 0 })
	conns()[0].Close()
	waitFor(t, "a second socket sending", func() bool { c := conns(); return len(c) == 2 && c[1].SentCount() > 2 })
}

// TestInstanceStartsWhenItsInterfaceAppears: an instance whose interface
// has no address yet is retried until it can start.
func TestInstanceStartsWhenItsInterfaceAppears(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	n.retryEvery = 10 * time.Millisecond
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	err := n.Apply(mustParse(t, "global: {realtime_priority: 0}\ninstances:\n  - {name: vi, interface: eth9, vrid: 3, priority: 100, advert_interval: 20ms, virtual_addresses: [198.18.1.100/24]}\n"))
	if err == nil {
		t.Fatal("an instance on an interface without address started")
	}
	k.addrs.AddAddr("eth9", netip.MustParsePrefix("198.18.1.11/24"))
	waitFor(t, "instance running after the retry", func() bool { s := n.Status(); return len(s) == 1 && s[0].State != "" })
}

func TestUnicastSourceMustBeOurs(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	n.retryEvery = time.Hour
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	err := n.Apply(mustParse(t, "global: {realtime_priority: 0}\ninstances:\n  - {name: vi, interface: eth0, vrid: 3, priority: 100, virtual_addresses: [198.18.1.100/24], unicast_source: 198.18.1.99, unicast_peers: [198.18.1.12]}\n"))
	if err == nil || !strings.Contains(err.Error(), "unicast_source 198.18.1.99 is not an address of eth0") {
		t.Errorf("err = %v", err)
	}
	if err := n.Apply(mustParse(t, "global: {realtime_priority: 0}\ninstances:\n  - {name: vi, interface: eth0, vrid: 3, priority: 100, virtual_addresses: [198.18.1.100/24], unicast_source: 198.18.1.11, unicast_peers: [198.18.1.12]}\n")); err != nil {
		t.Errorf("own unicast_source refused: %v", err)
	}
}

// TestRFC5798_6_4_2_IntervalReloadedInPlace: a reload that changes only
// advert_interval keeps the Master as Master (no restart, no flap): RFC
// 5798 lets Backups learn the new Master_Adver_Interval from its adverts.
func TestRFC5798_6_4_2_IntervalReloadedInPlace(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), func(*ipvs.Config, *slog.Logger) (Balancer, error) { return &fakeBalancer{}, nil })
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, fmt.Sprintf(withService, 100))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "front MASTER", func() bool { return n.Status()[0].State == "MASTER" })
	since := n.Status()[0].LastTransition
	if err := n.Apply(mustParse(t, strings.Replace(fmt.Sprintf(withService, 100), "advert_interval: 20ms", "advert_interval: 50ms", 1))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "interval 50ms", func() bool { return n.Status()[0].AdvertInterval == 50*time.Millisecond })
	st := n.Status()[0]
	if st.State != "MASTER" || !st.LastTransition.Equal(since) || st.MasterAdverInterval != 50*time.Millisecond {
		t.Errorf("after the reload: %s since %v (was %v), Master_Adver_Interval %v; want MASTER without a transition, 50ms",
			st.State, st.LastTransition, since, st.MasterAdverInterval)
	}
}

// TestStopLogsNoSlowBalancerWarning: a normal stop of a Master with a
// balancer logs no "balancer slow to switch role" warning (the instance's
// role reporter is gone by then; Node.stop tells the balancer itself).
func TestStopLogsNoSlowBalancerWarning(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fb := &fakeBalancer{}
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, log, func(*ipvs.Config, *slog.Logger) (Balancer, error) { return fb, nil })
	if err := n.Apply(mustParse(t, fmt.Sprintf(withService, 100))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "front MASTER", func() bool { return n.Status()[0].State == "MASTER" })
	n.Shutdown()
	cancel()
	n.Wait()
	if !slices.Contains(fb.roleLog(), "front=false") {
		t.Errorf("balancer roles %v: never told the instance stopped", fb.roleLog())
	}
	if s := buf.String(); strings.Contains(s, "slow to switch") {
		t.Errorf("normal stop logged:\n%s", s)
	}
}

// syncBuffer is a bytes.Buffer safe for the node's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestStatusShowsInterfaceDrops: adverts refused on the interface before
// any instance could take them (here a bad checksum) show in the status
// and in vrrpctl status's DROPS column, not only in /metrics.
func TestStatusShowsInterfaceDrops(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { n.Shutdown(); cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, fmt.Sprintf(withService, 100))); err != nil {
		t.Fatal(err)
	}
	adv := &vrrp.Advert{VRID: 51, Priority: 254, MaxAdvertInt: 20 * time.Millisecond, Addresses: []netip.Addr{frontVIP.Addr()}}
	src := netip.MustParseAddr("198.18.1.12")
	b, err := adv.Marshal(src, vrrp.MulticastGroup4, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	b[7] ^= 0xff
	k.mu.Lock()
	conn := k.conns[0]
	k.mu.Unlock()
	conn.Inject(vrrp.Packet{Src: src, Dst: vrrp.MulticastGroup4, TTL: 255, Payload: b})
	waitFor(t, "interface drop in the status", func() bool { return n.Status()[0].InterfaceDrops[vrrp.DropChecksum] == 1 })
	var out bytes.Buffer
	control.FormatStatus(&out, control.Response{Instances: n.Status()}, time.Now())
	if !strings.Contains(out.String(), "interface-drop bad_checksum=1") {
		t.Errorf("vrrpctl status table:\n%s\nwant the interface drop in it", out.String())
	}
}

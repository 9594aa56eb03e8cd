package ipvs

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/health/healthtest"
	"github.com/hachat/hachat/ipvs/ipvstest"
	"github.com/hachat/hachat/ipvs/kernel"
	"github.com/hachat/hachat/ipvs/syncd"
	"github.com/hachat/hachat/ipvs/table"
)

// base is the configuration the tests start from, as vrrpd translates it
// (internal/vrrpd's TestBalancerConfig checks that translation): the
// service "web" on 198.18.1.100:80, rr, draining 30s, tied to the VRRP
// instance vi1 on eth0, with two real servers, the second at weight 2.
func base() *Config {
	return &Config{
		Interfaces: map[string]string{"vi1": "eth0"},
		Services: []VirtualService{{
			Name: "web", Address: netip.MustParseAddrPort("198.18.1.100:80"), Protocol: table.TCP,
			Scheduler: "rr", Instance: "vi1", DrainTimeout: 30 * time.Second, SorryForwarding: table.NAT,
			RealServers: []RealServer{
				{Address: netip.MustParseAddrPort("198.18.2.21:80"), Weight: 1, Forwarding: table.NAT, Alert: true},
				{Address: netip.MustParseAddrPort("198.18.2.22:80"), Weight: 2, Forwarding: table.NAT, Alert: true},
			},
		}},
	}
}

// with returns base changed by edit.
func with(edit func(c *Config, web *VirtualService)) *Config {
	c := base()
	edit(c, &c.Services[0])
	return c
}

// withoutSecond is base without its second real server.
func withoutSecond() *Config {
	return with(func(_ *Config, vs *VirtualService) { vs.RealServers = vs.RealServers[:1] })
}

// tcpCheck is check {type: tcp} with vrrpd's defaults and interval.
func tcpCheck(interval time.Duration) Check {
	return Check{Type: "tcp", Interval: interval, Timeout: min(2*time.Second, interval), Rise: 2, Fall: 3}
}

var web = table.ServiceKey{Address: netip.MustParseAddrPort("198.18.1.100:80"), Protocol: table.TCP}

type fakeSync struct{ calls []string }

func (f *fakeSync) Ensure(d *syncd.Daemon) error {
	if d == nil {
		f.calls = append(f.calls, "none")
	} else {
		f.calls = append(f.calls, d.Role.String()+" "+d.Interface)
	}
	return nil
}

func newTest(t *testing.T, cfg *Config, plane table.DataPlane) (*Balancer, *healthtest.FakeClock) {
	t.Helper()
	clk := healthtest.NewFakeClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	b, err := NewBalancer(cfg, Options{Plane: plane, Clock: clk, Sync: &fakeSync{}})
	if err != nil {
		t.Fatal(err)
	}
	return b, clk
}

func weights(t *testing.T, p table.DataPlane, k table.ServiceKey) map[string]int {
	t.Helper()
	ss, err := p.Services()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.ServiceKey == k {
			out := map[string]int{}
			for _, d := range s.Dests {
				out[d.Address.String()] = d.Weight
			}
			return out
		}
	}
	return nil
}

func mustReconcile(t *testing.T, b *Balancer) {
	t.Helper()
	if err := b.Reconcile(); err != nil {
		t.Fatal(err)
	}
}

// TestKernelIdempotentAndRestart runs the reconciler over the kernel adapter
// and the fake IPVS client (with the kernel's quirks): the first round
// creates everything, the second changes nothing, and a new balancer (a
// restarted vrrpd) finds the table as it wants it and changes nothing.
func TestKernelIdempotentAndRestart(t *testing.T) {
	c := &ipvstest.Client{}
	y := with(func(_ *Config, vs *VirtualService) { vs.Persistence, vs.PersistenceMask = 300*time.Second, 24 })
	b, _ := newTest(t, y, kernel.New(c))
	mustReconcile(t, b)
	want := []string{
		"CreateService 6/198.18.1.100:80",
		"CreateDestination 198.18.2.21 6/198.18.1.100:80",
		"CreateDestination 198.18.2.22 6/198.18.1.100:80",
	}
	if diff := cmp.Diff(want, c.Calls); diff != "" {
		t.Fatalf("first round (-want +got):\n%s", diff)
	}
	c.ResetCalls()
	mustReconcile(t, b)
	if len(c.Calls) != 0 {
		t.Errorf("second round changed the kernel: %v", c.Calls)
	}
	b2, _ := newTest(t, y, kernel.New(c))
	mustReconcile(t, b2)
	if len(c.Calls) != 0 {
		t.Errorf("restarted balancer changed the kernel: %v", c.Calls)
	}
	if got := weights(t, kernel.New(c), web); !cmp.Equal(got, map[string]int{"198.18.2.21:80": 1, "198.18.2.22:80": 2}) {
		t.Errorf("weights %v", got)
	}
}

// TestReloadDrainsRemovedServer: a real server removed by a reload goes to
// weight 0 at once, stays while it has connections, and is removed when
// they end; an unrelated service created by hand is never touched.
func TestReloadDrainsRemovedServer(t *testing.T) {
	p := &ipvstest.DataPlane{}
	foreign := table.Op{Kind: table.CreateService, Service: table.Service{ServiceKey: table.ServiceKey{FWMark: 7}, Scheduler: "wlc"}}
	if err := p.Apply([]table.Op{foreign}); err != nil {
		t.Fatal(err)
	}
	b, clk := newTest(t, base(), p)
	mustReconcile(t, b)
	p.SetConns(web, "198.18.2.22:80", 3, 1)
	if err := b.Reload(withoutSecond()); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, b)
	if got := weights(t, p, web); got["198.18.2.22:80"] != 0 {
		t.Fatalf("after reload: %v, want 198.18.2.22 drained at weight 0", got)
	}
	clk.Advance(10 * time.Second)
	mustReconcile(t, b)
	if _, ok := weights(t, p, web)["198.18.2.22:80"]; !ok {
		t.Fatal("removed while it still had connections and before the drain timeout")
	}
	p.SetConns(web, "198.18.2.22:80", 0, 0)
	mustReconcile(t, b)
	if got := weights(t, p, web); len(got) != 1 {
		t.Fatalf("after connections ended: %v", got)
	}
	for _, op := range p.Ops {
		if op.Service.FWMark == 7 && op.Kind != table.CreateService {
			t.Errorf("foreign service touched: %v", op)
		}
	}
}

func TestReloadDrainTimeout(t *testing.T) {
	p := &ipvstest.DataPlane{}
	b, clk := newTest(t, base(), p)
	mustReconcile(t, b)
	p.SetConns(web, "198.18.2.22:80", 3, 0)
	if err := b.Reload(withoutSecond()); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, b)
	clk.Advance(30 * time.Second)
	mustReconcile(t, b)
	if got := weights(t, p, web); len(got) != 1 {
		t.Fatalf("after the drain timeout: %v", got)
	}
}

// TestReloadRetiresService: a service removed from the config is drained,
// then removed.
func TestReloadRetiresService(t *testing.T) {
	p := &ipvstest.DataPlane{}
	b, _ := newTest(t, base(), p)
	mustReconcile(t, b)
	empty := with(func(c *Config, _ *VirtualService) { c.Services = nil })
	if err := b.Reload(empty); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, b) // weights to 0, and no connections: removed next round
	mustReconcile(t, b)
	if ss, _ := p.Services(); len(ss) != 0 {
		t.Fatalf("services left: %+v", ss)
	}
}

// TestHealthInhibitAndQuorum walks a service with inhibit_on_failure, a
// quorum of 2 and a sorry server through failures.
func TestHealthInhibitAndQuorum(t *testing.T) {
	y := with(func(_ *Config, vs *VirtualService) {
		vs.Quorum = 2
		sorry := netip.MustParseAddrPort("198.18.2.99:80")
		vs.Sorry = &sorry
		ch := tcpCheck(time.Second)
		ch.InhibitOnFailure = true
		for i := range vs.RealServers {
			vs.RealServers[i].Checks = []Check{ch}
		}
	})
	p := &ipvstest.DataPlane{}
	b, _ := newTest(t, y, p)
	mustReconcile(t, b)
	if got := weights(t, p, web); !cmp.Equal(got, map[string]int{"198.18.2.21:80": 1, "198.18.2.22:80": 2}) {
		t.Fatalf("start: %v", got)
	}
	b.onHealth(health.Update{ID: "vs TCP 198.18.1.100:80 rs 198.18.2.21:80", State: health.Down})
	mustReconcile(t, b)
	if got := weights(t, p, web); !cmp.Equal(got, map[string]int{"198.18.2.21:80": 0, "198.18.2.22:80": 2}) {
		t.Fatalf("rs1 down, inhibited: %v", got)
	}
	b.onHealth(health.Update{ID: "vs TCP 198.18.1.100:80 rs 198.18.2.22:80", State: health.Down})
	mustReconcile(t, b)
	if got := weights(t, p, web); !cmp.Equal(got, map[string]int{"198.18.2.21:80": 0, "198.18.2.22:80": 0, "198.18.2.99:80": 1}) {
		t.Fatalf("quorum lost: %v, want the sorry server", got)
	}
	var buf bytes.Buffer
	FormatStatus(&buf, b.Status())
	for _, w := range []string{"TCP  198.18.1.100:80 rr standby quorum lost", "198.18.2.99:80", "sorry", "down"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("status lacks %q:\n%s", w, buf.String())
		}
	}
	b.onHealth(health.Update{ID: "vs TCP 198.18.1.100:80 rs 198.18.2.22:80", State: health.Up})
	mustReconcile(t, b)
	got := weights(t, p, web)
	if got["198.18.2.22:80"] != 2 || got["198.18.2.99:80"] != 0 {
		t.Fatalf("quorum back: %v, want rs2 at 2 and the sorry server drained", got)
	}
}

func TestInitiallyDown(t *testing.T) {
	y := with(func(_ *Config, vs *VirtualService) {
		vs.RealServers[1].InitiallyDown = true
		vs.RealServers[1].Checks = []Check{tcpCheck(5 * time.Second)}
	})
	p := &ipvstest.DataPlane{}
	b, _ := newTest(t, y, p)
	mustReconcile(t, b)
	if got := weights(t, p, web); !cmp.Equal(got, map[string]int{"198.18.2.21:80": 1}) {
		t.Fatalf("%v: a server that starts down must not be added", got)
	}
}

// TestVRRPRoles: the sync daemon follows lvs_sync.instance and the
// role-aware data plane gets the standby set.
func TestVRRPRoles(t *testing.T) {
	p := &ipvstest.DataPlane{Plane: "ipvs"}
	clk := healthtest.NewFakeClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	fs := &fakeSync{}
	b, err := NewBalancer(with(func(c *Config, _ *VirtualService) { c.Sync = &ConnSync{Instance: "vi1", Interface: "eth1", SyncID: 51} }), Options{Plane: p, Clock: clk, Sync: fs})
	if err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, b)
	if diff := cmp.Diff([]table.ServiceKey{web}, p.Standby, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("standby while backup (-want +got):\n%s", diff)
	}
	b.VRRPStateChanged("vi1", true)
	mustReconcile(t, b)
	if len(p.Standby) != 0 {
		t.Errorf("standby while master: %v", p.Standby)
	}
	b.VRRPStateChanged("vi1", false)
	mustReconcile(t, b)
	if diff := cmp.Diff([]string{"backup eth1", "master eth1", "backup eth1"}, fs.calls); diff != "" {
		t.Errorf("sync daemon (-want +got):\n%s", diff)
	}
}

func TestUnsupportedIsConfigError(t *testing.T) {
	p := &ipvstest.DataPlane{Plane: "nftables", Unsupported: map[string]bool{"rr": true}}
	_, err := NewBalancer(base(), Options{Plane: p})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `virtual server "web": nftables data plane: scheduler "rr"`) {
		t.Errorf("err = %v", err)
	}
}

func TestApplyErrorIsRetried(t *testing.T) {
	c := &ipvstest.Client{}
	fail := true
	c.Fail = func(call string) error {
		if fail && strings.HasPrefix(call, "CreateDestination") {
			return errors.New("injected")
		}
		return nil
	}
	b, _ := newTest(t, base(), kernel.New(c))
	if err := b.Reconcile(); err == nil {
		t.Fatal("want the injected error")
	}
	fail = false
	mustReconcile(t, b)
	if got := weights(t, kernel.New(c), web); len(got) != 2 {
		t.Errorf("after retry: %v", got)
	}
}

// TestRunLeavesStateOnExit: Run programs the table and, when its context
// ends, returns without removing anything (a stopping vrrpd must not
// disturb traffic).
func TestRunLeavesStateOnExit(t *testing.T) {
	p := &ipvstest.DataPlane{}
	b, err := NewBalancer(base(), Options{Plane: p, Sync: &fakeSync{}, ReconcileInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(weights(t, p, web)) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not program the service")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, op := range p.Ops {
		if op.Kind == table.RemoveService || op.Kind == table.RemoveDestination {
			t.Errorf("removal on exit: %v", op)
		}
	}
	if got := weights(t, p, web); len(got) != 2 {
		t.Errorf("after exit: %v", got)
	}
}

func TestFormatStatus(t *testing.T) {
	var buf bytes.Buffer
	FormatStatus(&buf, []ServiceStatus{{
		Name: "web", Service: "TCP 198.18.1.100:80", Scheduler: "wrr", Persistence: 300, DataPlane: "ipvs", Managed: true, Programmed: true,
		Stats: Stats{Connections: 18, CPS: 3, PacketsIn: 120, PacketsOut: 100, BytesIn: 9000, BytesOut: 12000},
		RealServers: []RealServerStatus{
			{Address: "198.18.2.21:80", Forwarding: "nat", Weight: 3, Health: "up", ActiveConns: 2, InactiveConns: 1, Stats: Stats{Connections: 12}},
			{Address: "198.18.2.22:80", Forwarding: "dr", Weight: 0, Health: "down", Stats: Stats{Connections: 6}},
		},
	}})
	want := `IP Virtual Server table (data plane ipvs)
Prot LocalAddress:Port Scheduler Forward Weight Health ActiveConn InActConn Conns CPS InPkts OutPkts InBytes OutBytes
  -> RemoteAddress:Port
TCP  198.18.1.100:80 wrr persistent 300                                        18   3    120     100    9000    12000
  -> 198.18.2.21:80                 Masq      3     up          2         1    12   0      0       0       0        0
  -> 198.18.2.22:80                Route      0   down          0         0     6   0      0       0       0        0
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// TestCollectors registers every collector and scrapes once: names must
// not clash and the per-real-server values must be there.
func TestCollectors(t *testing.T) {
	p := &ipvstest.DataPlane{}
	b, _ := newTest(t, base(), p)
	mustReconcile(t, b)
	reg := prometheus.NewPedanticRegistry()
	for _, c := range b.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, mf := range mfs {
		names[mf.GetName()] = len(mf.GetMetric())
	}
	if names["vrrpd_lb_real_server_weight"] != 2 || names["vrrpd_lb_service_programmed"] != 1 {
		t.Errorf("metrics: %v", names)
	}
}

// TestReloadRejectedKeepsOld: a reload the data plane cannot do is an
// error that names the service, and the running configuration stays.
func TestReloadRejectedKeepsOld(t *testing.T) {
	p := &ipvstest.DataPlane{Unsupported: map[string]bool{"lc": true}}
	b, _ := newTest(t, base(), p)
	mustReconcile(t, b)
	err := b.Reload(with(func(_ *Config, vs *VirtualService) { vs.Scheduler = "lc" }))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"web"`) {
		t.Fatalf("err = %v", err)
	}
	p.ResetOps()
	mustReconcile(t, b)
	if len(p.Ops) != 0 {
		t.Errorf("a rejected reload changed the data plane: %v", p.Ops)
	}
}

func TestKernelRejectsUnknownScheduler(t *testing.T) {
	p := kernel.New(&ipvstest.Client{})
	err := p.Supports(table.Service{Scheduler: "fastest"})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("err = %v", err)
	}
}

// onDemand is a data plane whose connection counts are costly: Model
// returns the services with the counts zeroed, and the calls are counted.
type onDemand struct {
	*ipvstest.DataPlane
	models, services int
}

func (p *onDemand) Model() ([]table.ServiceState, error) {
	p.models++
	ss, err := p.DataPlane.Services()
	for i := range ss {
		for j := range ss[i].Dests {
			ss[i].Dests[j].ActiveConns, ss[i].Dests[j].InactiveConns = 0, 0
		}
	}
	return ss, err
}

func (p *onDemand) Services() ([]table.ServiceState, error) {
	p.services++
	return p.DataPlane.Services()
}

// TestCountsOnlyWhileDraining: with a data plane whose counts cost a table
// dump, the reconciler reads counts only while a real server drains, and
// the drain still waits for its connections to end.
func TestCountsOnlyWhileDraining(t *testing.T) {
	p := &onDemand{DataPlane: &ipvstest.DataPlane{}}
	b, clk := newTest(t, base(), p)
	for range 3 {
		mustReconcile(t, b)
	}
	if p.services != 0 || p.models == 0 {
		t.Fatalf("steady state: %d reads with counts, %d without; want none with", p.services, p.models)
	}
	p.SetConns(web, "198.18.2.22:80", 3, 1)
	if err := b.Reload(withoutSecond()); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, b) // weight 0: the drain starts
	clk.Advance(5 * time.Second)
	mustReconcile(t, b)
	// Model zeroes the counts: had the reconciler read it, the server
	// would be gone.
	if n := p.services; n == 0 {
		t.Fatal("drain decided without reading connection counts")
	}
	if _, ok := weights(t, p, web)["198.18.2.22:80"]; !ok {
		t.Fatalf("draining server removed while it had connections: %v", weights(t, p, web))
	}
	p.SetConns(web, "198.18.2.22:80", 0, 0)
	mustReconcile(t, b)
	if got := weights(t, p, web); len(got) != 1 {
		t.Fatalf("after connections ended: %v", got)
	}
	n := p.services
	mustReconcile(t, b)
	if p.services != n {
		t.Fatal("counts still read after the drain ended")
	}
}

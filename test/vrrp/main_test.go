package vrrp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
	"github.com/hachat/hachat/test/vrrp/vrrplab"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
)

// advert is the Advertisement_Interval of every scenario: short enough that
// a failover takes well under a second, long enough for a busy 2-core box.
const advert = 100 * time.Millisecond

// eventTimeout bounds every wait for an observable effect.
const eventTimeout = 15 * time.Second

var (
	buildOnce sync.Once
	vrrpdBin  string
	buildErr  string
	binDir    string
)

func TestMain(m *testing.M) {
	// The daemons' timers are 100 ms; on a busy shared machine a starved
	// daemon fails over falsely. Raise this test binary and everything it
	// starts above ordinary load (root only; harmless to skip otherwise).
	if os.Geteuid() == 0 {
		_ = netns.Renice(-10)
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// vrrpd builds ./cmd/vrrpd once per test binary, or skips t if it does not build.
func vrrpd(t *testing.T) vrrplab.Impl {
	t.Helper()
	netns.RequireRoot(t) // before the build: -short and non-root runs skip fast
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vrrptest-")
		if err != nil {
			buildErr = err.Error()
			return
		}
		binDir = dir
		bin := filepath.Join(dir, "vrrpd")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/hachat/hachat/cmd/vrrpd").CombinedOutput()
		if err != nil {
			buildErr = err.Error() + ": " + string(out)
			return
		}
		vrrpdBin = bin
	})
	if vrrpdBin == "" {
		t.Skipf("vrrptest: skipped: ./cmd/vrrpd does not build yet: %s", buildErr)
	}
	return vrrplab.Vrrpd{Bin: vrrpdBin}
}

// keepalived returns the reference implementation, or skips t.
func keepalived(t *testing.T) vrrplab.Impl {
	t.Helper()
	netns.RequireRoot(t, "keepalived")
	return vrrplab.Keepalived{}
}

// forEachImpl runs fn as a subtest per implementation, both routers alike.
func forEachImpl(t *testing.T, fn func(t *testing.T, impl vrrplab.Impl)) {
	t.Run("vrrpd", func(t *testing.T) { fn(t, vrrpd(t)) })
	t.Run("keepalived", func(t *testing.T) { fn(t, keepalived(t)) })
}

// env is one scenario's lab.
type env struct {
	t    *testing.T
	ctx  context.Context
	pair *vrrplab.Pair
	topo *vrrplab.Topology
	pr   *probe.Prober
}

// setup builds the topology and starts the client's probe; the routers are
// not started.
func setup(t *testing.T, impl1, impl2 vrrplab.Impl, preempt bool) *env {
	t.Helper()
	return setupFamily(t, impl1, impl2, preempt, false)
}

// setupFamily is setup, with an IPv6 VIP (2001:2::100/64) when v6 is set:
// the hosts get IPv6 addresses and the probe targets the IPv6 VIP.
func setupFamily(t *testing.T, impl1, impl2 vrrplab.Impl, preempt, v6 bool) *env {
	t.Helper()
	netns.RequireRoot(t)
	lab := netns.NewT(t, "vrrp")
	topo, err := vrrplab.Build(lab, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(topo.Close)
	if v6 {
		if err := topo.AddIPv6(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	pair := vrrplab.NewPair(ctx, topo, impl1, impl2, advert, preempt)
	t.Cleanup(func() { pair.StopAll(3 * time.Second) })
	pr, err := topo.StartProbe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Stop() })
	return &env{t: t, ctx: ctx, pair: pair, topo: topo, pr: pr}
}

// wctx is a context for one wait.
func (e *env) wctx() context.Context {
	ctx, cancel := context.WithTimeout(e.ctx, eventTimeout)
	e.t.Cleanup(cancel)
	return ctx
}

// must fails the test on err.
func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// elect starts lb2, then lb1, and waits until lb1 alone holds the VIP and
// answers the client.
func (e *env) elect() {
	e.t.Helper()
	e.must(e.pair.Start2())
	e.must(e.pair.Start1())
	e.must(e.pair.Steady(e.wctx(), e.pr))
}

// answeredBy waits for a probe started after since to be answered by host.
func (e *env) answeredBy(since time.Time, host string) probe.Result {
	e.t.Helper()
	r, err := e.pr.WaitFrom(e.wctx(), since, host)
	e.must(err)
	return r
}

// holders waits until exactly hosts hold the VIP, by netlink.
func (e *env) holders(hosts ...string) {
	e.t.Helper()
	e.must(e.pair.WaitHolders(e.wctx(), hosts...))
}

// never watches for window and fails if cond ever holds: the only way to
// check that something does NOT happen.
func (e *env) never(window time.Duration, what string, cond func() bool) {
	e.t.Helper()
	end := time.Now().Add(window)
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	for time.Now().Before(end) {
		if cond() {
			e.t.Fatalf("%s (within %v)", what, window)
		}
		<-tk.C
	}
}

// logGap reports an outage for the record; timing is not asserted.
func (e *env) logGap(what string, from, to time.Time) probe.Gap {
	e.t.Helper()
	g := e.pr.Snapshot().OutageIn(from, to)
	e.t.Logf("%s: client saw %v", what, g)
	return g
}

// vrrpdState returns the state of the only instance of the vrrpd on h, read
// from its control socket; the test fails if there is not exactly one.
func (e *env) vrrpdState(h *netns.Host) router.Status {
	e.t.Helper()
	st, err := vrrplab.VrrpdStatus(h)
	e.must(err)
	if len(st) != 1 {
		e.t.Fatalf("vrrpd on %s reports %d instances, want 1", h.Name(), len(st))
	}
	return st[0]
}

// isVrrpd reports whether impl is our daemon (control socket available).
func isVrrpd(impl vrrplab.Impl) bool { return impl.Name() == "vrrpd" }

// wireDrops are the drop reasons that mean a peer's advert was malformed to
// us: with keepalived as the peer, any of them is an interop bug.
var wireDrops = []vrrp.DropReason{vrrp.DropTTL, vrrp.DropChecksum, vrrp.DropVersion, vrrp.DropType,
	vrrp.DropShort, vrrp.DropAddrFamily, vrrp.DropInterval, vrrp.DropLength, vrrp.DropAddrCount,
	vrrp.DropChecksumForm, vrrp.DropVersionMismatch, vrrp.DropIntervalMismatch, vrrp.DropAuthType, vrrp.DropAuthPassword}

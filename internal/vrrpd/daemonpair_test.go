package vrrpd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vroute"
	"github.com/hachat/hachat/vrrp/vroute/vroutetest"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

// serveFile does what vrrpd -f path does after its flags: load the file,
// log as the file says on stderr, serve with o.
func serveFile(ctx context.Context, path string, stderr io.Writer, o Options) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	log, err := cli.NewLogger(stderr, cfg.Global.LogLevel, "text")
	if err != nil {
		return err
	}
	return Serve(ctx, path, cfg, log, o)
}

// fakeKernel joins daemons on one in-memory segment.
type fakeKernel struct {
	link  *vrrptest.FakeLink
	src   netip.Addr
	addrs *vrrptest.FakeAddrs
	ann   *vrrptest.FakeAnnouncer
	mu    sync.Mutex
	conns []*vrrptest.FakeConn
	acc   fakeAccept
	// routes holds the virtual routes and rules.
	routes vroutetest.Fake
	// vmacSend lists the interfaces DialVMAC was asked for.
	vmacSend []string
}

// fakeAccept records what the node refuses.
type fakeAccept struct {
	mu     sync.Mutex
	sets   [][]netip.Addr
	closed bool
}

func (f *fakeAccept) Set(addrs []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets = append(f.sets, slices.Clone(addrs))
	return nil
}
func (f *fakeAccept) Dropped() (map[string]uint64, error) { return map[string]uint64{"ipv4": 7}, nil }
func (f *fakeAccept) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func newFakeKernel(link *vrrptest.FakeLink, src string) *fakeKernel {
	k := &fakeKernel{link: link, src: netip.MustParseAddr(src), addrs: vrrptest.NewFakeAddrs(), ann: &vrrptest.FakeAnnouncer{}}
	for _, ifn := range []string{"eth0", "eth1"} {
		k.addrs.AddAddr(ifn, netip.PrefixFrom(k.src, 24))
	}
	k.addrs.Log = nil
	return k
}

func (k *fakeKernel) Listen(ifname string, ipv6 bool) (vrrp.Conn, error) {
	c := k.link.Conn(k.src)
	k.mu.Lock()
	k.conns = append(k.conns, c)
	k.mu.Unlock()
	return c, nil
}

// ListenVMAC gives a socket on a segment of its own: the fake segment has
// no macvlan to divert frames from the virtual MAC.
func (k *fakeKernel) ListenVMAC(string, bool, net.HardwareAddr) (vrrp.Conn, error) {
	return vrrptest.NewFakeLink().Conn(), nil
}

// DialVMAC sends on the fake segment, as the macvlan sends through its
// parent; it records the interface.
func (k *fakeKernel) DialVMAC(ifname string, ipv6 bool) (vrrp.Conn, error) {
	k.mu.Lock()
	k.vmacSend = append(k.vmacSend, ifname)
	k.mu.Unlock()
	return k.link.Conn(k.src), nil
}
func (k *fakeKernel) Routes() vroute.Kernel               { return &k.routes }
func (k *fakeKernel) AcceptFilter() (AcceptFilter, error) { return &k.acc, nil }
func (k *fakeKernel) Addrs() router.AddrManager           { return k.addrs }
func (k *fakeKernel) Announcer() router.Announcer         { return k.ann }
func (k *fakeKernel) VMAC() router.VMACLinks              { return k.addrs }
func (k *fakeKernel) WatchLinks(ctx context.Context, hub *router.TrackHub) error {
	hub.SetUp(router.InterfaceKey("eth0"), true, "up")
	hub.SetUp(router.InterfaceKey("eth1"), true, "up")
	<-ctx.Done()
	return nil
}

const twoInstances = `global:
  router_id: %s
  control_socket: %s
  log_level: debug
  realtime_priority: %d
instances:
  - name: front
    interface: eth0
    vrid: 51
    priority: %d
    advert_interval: 20ms
    virtual_addresses: [198.18.1.100/24]
    gratuitous: {repeat: 1, second_delay: 0s}
  - name: back
    interface: eth1
    vrid: 52
    priority: %d
    advert_interval: 20ms
    virtual_addresses: [%s]
    gratuitous: {repeat: 1, second_delay: 0s}
`

type testDaemon struct {
	name, conf, sock string
	rt               int // realtime_priority
	k                *fakeKernel
	hup              chan os.Signal
	cancel           context.CancelFunc
	done             chan error
	log              *bytes.Buffer
}

func startDaemon(t *testing.T, link *vrrptest.FakeLink, name, src string, prio int) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &testDaemon{name: name, conf: filepath.Join(dir, "vrrpd.yaml"), sock: filepath.Join(dir, "s"),
		k: newFakeKernel(link, src), hup: make(chan os.Signal, 1), done: make(chan error, 1), log: &bytes.Buffer{}, rt: testRealtime}
	d.write(t, prio, prio, "198.18.2.254/24")
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	ready := make(chan struct{})
	go func() {
		d.done <- serveFile(ctx, d.conf, &syncWriter{w: d.log}, Options{
			Kernel: d.k, HUP: d.hup, Ready: func(string) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-d.done:
		t.Fatalf("%s exited: %v\n%s", name, err, d.log)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not start", name)
	}
	t.Cleanup(func() { cancel(); <-d.done })
	return d
}

func (d *testDaemon) write(t *testing.T, prioFront, prioBack int, backVIP string) {
	t.Helper()
	s := fmt.Sprintf(twoInstances, d.name, d.sock, d.rt, prioFront, prioBack, backVIP)
	if err := os.WriteFile(d.conf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (d *testDaemon) status(t *testing.T) map[string]router.Status {
	t.Helper()
	resp, err := control.Do(d.sock, control.Request{Command: control.CmdStatus})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]router.Status{}
	for _, s := range resp.Instances {
		m[s.Name] = s
	}
	return m
}

func (d *testDaemon) state(t *testing.T, inst string) string { return d.status(t)[inst].State }

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	frontVIP = netip.MustParsePrefix("198.18.1.100/24")
	backVIP  = netip.MustParsePrefix("198.18.2.254/24")
)

// TestDaemonPair runs two daemons on a fake segment through their whole
// life: election, maintenance hand-over and back, a refused reload, an
// in-place reload, a reload that restarts one instance while the other keeps
// its state, and a graceful stop that leaves no address behind.
func TestDaemonPair(t *testing.T) {
	t.Run("normal", func(t *testing.T) { testRealtime = 0; daemonPair(t) })
	// The same with the daemon's default SCHED_RR loops and timers (it
	// leaves this test process's threads in SCHED_RR).
	t.Run("realtime", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("SCHED_RR needs root")
		}
		testRealtime = 10
		defer func() { testRealtime = 0 }()
		daemonPair(t)
	})
}

// testRealtime is the realtime_priority of the daemons startDaemon starts;
// 0 keeps the test process out of SCHED_RR.
var testRealtime = 0

func daemonPair(t *testing.T) {
	link := vrrptest.NewFakeLink()
	a := startDaemon(t, link, "a", "198.18.0.1", 200)
	b := startDaemon(t, link, "b", "198.18.0.2", 100)
	waitFor(t, "a MASTER of both, b BACKUP", func() bool {
		sa, sb := a.status(t), b.status(t)
		return sa["front"].State == "MASTER" && sa["back"].State == "MASTER" && sb["front"].State == "BACKUP" && sb["back"].State == "BACKUP"
	})
	if !a.k.addrs.Has("eth0", frontVIP) || b.k.addrs.Has("eth0", frontVIP) {
		t.Fatal("VIP not on the master only")
	}

	// Maintenance: a hands front over gracefully; b takes it, and says so
	// on its event stream.
	evCtx, evCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer evCancel()
	sawMaster := make(chan error, 1)
	subscribed := make(chan struct{})
	go func() {
		sawMaster <- control.Events(evCtx, b.sock, func(ev router.InstanceEvent, _ []byte) bool {
			if ev.Kind == control.EventSubscribed {
				close(subscribed)
			}
			return !(ev.Instance == "front" && ev.Kind == "transition" && ev.To == "MASTER")
		})
	}()
	select {
	case <-subscribed:
	case <-evCtx.Done():
		t.Fatal("event subscription never confirmed")
	}
	if _, err := control.Do(a.sock, control.Request{Command: control.CmdMaintenance, Instance: "front", On: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-sawMaster; err != nil || evCtx.Err() != nil {
		t.Errorf("event stream: err %v, ctx %v (no transition to MASTER seen)", err, evCtx.Err())
	}
	waitFor(t, "b MASTER of front, a's VIP gone", func() bool {
		return b.state(t, "front") == "MASTER" && !a.k.addrs.Has("eth0", frontVIP) && b.k.addrs.Has("eth0", frontVIP)
	})
	if st := a.status(t)["front"]; !st.Maintenance || st.State != "BACKUP" {
		t.Errorf("a front: %+v", st)
	}
	if _, err := control.Do(a.sock, control.Request{Command: control.CmdMaintenance, Instance: "nope", On: true}); err == nil {
		t.Error("maintenance of an unknown instance did not fail")
	}
	if _, err := control.Do(a.sock, control.Request{Command: control.CmdMaintenance, Instance: "front", On: false}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a preempts front back", func() bool { return a.state(t, "front") == "MASTER" && b.state(t, "front") == "BACKUP" })

	// A bad configuration is refused and changes nothing.
	before := a.status(t)
	if err := os.WriteFile(a.conf, []byte("instances:\n  - name: front\n    vrid: 999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := control.Do(a.sock, control.Request{Command: control.CmdReload})
	if err == nil || !strings.Contains(err.Error(), "vrrpd.yaml:3: instances[0].vrid") {
		t.Errorf("bad reload: err = %v, want the file:line:field error", err)
	}
	after := a.status(t)
	for _, n := range []string{"front", "back"} {
		if after[n].State != "MASTER" || !after[n].LastTransition.Equal(before[n].LastTransition) {
			t.Errorf("%s changed by a refused reload: %+v", n, after[n])
		}
	}

	// Reload by SIGHUP: back's VIP changes (a restart of back), front's
	// priority changes (in place). Front keeps its state and its adverts
	// keep flowing; b never sees a reason to take over.
	frontBefore := a.status(t)["front"]
	bTransitions := b.status(t)["front"].LastTransition
	newBack := "198.18.2.253/24"
	a.write(t, 210, 200, newBack)
	a.hup <- os.Interrupt
	waitFor(t, "back restarted with the new VIP", func() bool {
		st := a.status(t)["back"]
		return st.State == "MASTER" && len(st.VIPs) == 1 && st.VIPs[0].String() == newBack
	})
	waitFor(t, "front priority 210", func() bool { return a.status(t)["front"].Priority == 210 })
	fa := a.status(t)["front"]
	if fa.State != "MASTER" || !fa.LastTransition.Equal(frontBefore.LastTransition) {
		t.Errorf("front was disturbed by the reload: %+v", fa)
	}
	if fa.AdvertsSent <= frontBefore.AdvertsSent {
		t.Error("front stopped advertising")
	}
	if !b.status(t)["front"].LastTransition.Equal(bTransitions) {
		t.Error("b's front changed state during a's reload")
	}
	if a.k.addrs.Has("eth1", backVIP) {
		t.Error("old back VIP left behind")
	}

	// Graceful stop: b takes over, a leaves nothing behind.
	a.cancel()
	if err := <-a.done; err != nil {
		t.Errorf("a exited: %v", err)
	}
	a.done <- nil // for the cleanup
	waitFor(t, "b MASTER of both", func() bool {
		s := b.status(t)
		return s["front"].State == "MASTER" && s["back"].State == "MASTER"
	})
	for _, p := range []netip.Prefix{frontVIP, backVIP, netip.MustParsePrefix(newBack)} {
		if a.k.addrs.Has("eth0", p) || a.k.addrs.Has("eth1", p) {
			t.Errorf("a left %v behind", p)
		}
	}
	if _, err := os.Stat(a.sock); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
}

func TestControlSocketMode(t *testing.T) {
	link := vrrptest.NewFakeLink()
	a := startDaemon(t, link, "a", "198.18.0.1", 200)
	fi, err := os.Stat(a.sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode %v, want 0600", fi.Mode().Perm())
	}
	// A second daemon on the same socket is refused.
	var errb bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = serveFile(ctx, a.conf, &errb, Options{Kernel: newFakeKernel(link, "198.18.0.3")})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second daemon: %v, log %s", err, errb.String())
	}
}

package router

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

var (
	rt0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vip  = netip.MustParsePrefix("198.18.0.100/24")
	srcA = netip.MustParseAddr("198.18.0.1")
	srcB = netip.MustParseAddr("198.18.0.2")
)

// recorder implements the three kernel interfaces and logs every call in
// one ordered list, so tests can check the order of operations.
type recorder struct {
	mu    sync.Mutex
	log   []string
	addrs *vrrptest.FakeAddrs
}

func newRecorder() *recorder { return &recorder{addrs: vrrptest.NewFakeAddrs()} }

func (r *recorder) add(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }

func (r *recorder) WritePacket(b []byte, src, dst netip.Addr) error {
	a, err := vrrp.ParseAdvert(b, src, dst)
	if err != nil {
		return err
	}
	r.add(fmt.Sprintf("advert prio=%d dst=%v", a.Priority, dst))
	return nil
}
func (r *recorder) AddAddr(ifn string, p netip.Prefix) error {
	r.add("add " + p.String())
	return r.addrs.AddAddr(ifn, p)
}
func (r *recorder) DelAddr(ifn string, p netip.Prefix) error {
	r.add("del " + p.String())
	return r.addrs.DelAddr(ifn, p)
}
func (r *recorder) Addrs(ifn string) ([]netip.Prefix, error) { return r.addrs.Addrs(ifn) }
func (r *recorder) Announce(ifn string, a netip.Addr) error {
	r.add("announce " + a.String())
	return nil
}
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.log
	r.log = nil
	return l
}

func testConfig(name string, prio uint8, src netip.Addr) InstanceConfig {
	return InstanceConfig{
		Name: name, Interface: "eth0",
		Machine:    vrrp.MachineConfig{VRID: 51, Priority: prio, AdvertInterval: 100 * time.Millisecond, Preempt: true, PrimaryAddr: src},
		VIPs:       []netip.Prefix{vip},
		Gratuitous: Gratuitous{Repeat: 2, SecondDelay: 5 * time.Second},
	}
}

func newTestInstance(t *testing.T, cfg InstanceConfig, r *recorder) (*Instance, *[]InstanceEvent) {
	t.Helper()
	var evs []InstanceEvent
	in, err := NewInstance(cfg, InstanceDeps{Sender: r, Addrs: r, Announcer: r, OnEvent: func(e InstanceEvent) { evs = append(evs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	return in, &evs
}

func advert(prio uint8) *vrrp.Advert {
	return &vrrp.Advert{Version: 3, Type: 1, VRID: 51, Priority: prio, MaxAdvertInt: 100 * time.Millisecond, Addresses: []netip.Addr{vip.Addr()}}
}

func TestStartupRemovesStaleVIP(t *testing.T) {
	r := newRecorder()
	r.addrs.AddAddr("eth0", vip) // left by a crashed run
	in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
	in.start(rt0)
	if got, want := r.take(), []string{"del " + vip.String()}; !cmp.Equal(got, want) {
		t.Errorf("start-up calls = %q, want %q", got, want)
	}
	if in.m.State() != vrrp.Backup || r.addrs.Has("eth0", vip) {
		t.Errorf("state %v, vip held %v; want BACKUP without the VIP", in.m.State(), r.addrs.Has("eth0", vip))
	}
}

// TestTakeOverOrder checks RFC 5798 §6.4.2 "Master_Down_Timer fires" and our
// ordering: the VIP is added, read back and announced before the first
// advert, which is what makes the old Master let go.
func TestTakeOverOrder(t *testing.T) {
	r := newRecorder()
	in, evs := newTestInstance(t, testConfig("vi", 100, srcA), r)
	in.start(rt0)
	r.take()
	down := in.m.Deadline()
	if want := rt0.Add(vrrp.MasterDownInterval(100, 100*time.Millisecond)); !down.Equal(want) {
		t.Fatalf("deadline %v, want %v", down, want)
	}
	if w := in.nextWake(); !w.Equal(down) {
		t.Fatalf("nextWake %v, want %v", w, down)
	}
	in.handleTimer(down.Add(3 * time.Millisecond))
	want := []string{"add " + vip.String(), "announce 198.18.0.100", "announce 198.18.0.100", "advert prio=100 dst=224.0.0.18"}
	if got := r.take(); !cmp.Equal(got, want) {
		t.Errorf("takeover calls:\n got %q\nwant %q", got, want)
	}
	if in.m.State() != vrrp.Master || !in.held {
		t.Errorf("state %v held %v, want MASTER holding", in.m.State(), in.held)
	}
	if _, n, _, mx := in.stats.Lateness.Snapshot(); n != 1 || mx != 3*time.Millisecond {
		t.Errorf("lateness count %d max %v, want 1 and 3ms", n, mx)
	}
	var kinds []string
	for _, e := range *evs {
		kinds = append(kinds, e.Kind+":"+e.To)
	}
	if !slices.Contains(kinds, "transition:MASTER") {
		t.Errorf("events %v lack the transition to MASTER", kinds)
	}
	// The second burst comes SecondDelay later.
	second := in.nextWake()
	if in.m.Deadline().Before(second) {
		in.handleTimer(in.m.Deadline()) // adverts first
		r.take()
	}
	if got := in.ann.secondAt; !got.Equal(down.Add(3*time.Millisecond + 5*time.Second)) {
		t.Errorf("second burst at %v", got)
	}
}

// TestGracefulHandOverKeepsVIP checks that a resigning Master sends priority
// 0 but keeps its VIP until the new Master advertises (no packet finds the
// VIP on neither router), then removes it.
func TestGracefulHandOverKeepsVIP(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 200, srcA), r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	if in.m.State() != vrrp.Master {
		t.Fatalf("state %v", in.m.State())
	}
	r.take()
	now := rt0.Add(time.Second)
	in.step(now, vrrp.MaintenanceChanged{On: true})
	if got, want := r.take(), []string{"advert prio=0 dst=224.0.0.18"}; !cmp.Equal(got, want) {
		t.Errorf("resign calls %q, want %q", got, want)
	}
	if !r.addrs.Has("eth0", vip) {
		t.Fatal("VIP removed before the new Master advertised")
	}
	in.handleAdvert(now.Add(20*time.Millisecond), received{advert(100), srcB})
	if got, want := r.take(), []string{"del " + vip.String()}; !cmp.Equal(got, want) {
		t.Errorf("after the new Master's advert: calls %q, want %q", got, want)
	}
	if in.m.State() != vrrp.Backup || in.held {
		t.Errorf("state %v held %v", in.m.State(), in.held)
	}
}

func TestGracefulHandOverHoldExpires(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 200, srcA), r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	now := rt0.Add(time.Second)
	in.shutdown(now)
	if in.done() {
		t.Fatal("done before the hold expired")
	}
	w := in.nextWake()
	if want := now.Add(300 * time.Millisecond); !w.Equal(want) {
		t.Fatalf("release at %v, want %v (3 × advert interval)", w, want)
	}
	r.take()
	in.handleTimer(w)
	if got, want := r.take(), []string{"del " + vip.String()}; !cmp.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	if !in.done() {
		t.Error("not done after the release")
	}
}

// TestPreemptedMasterReleasesAtOnce: a higher-priority Master (failback)
// has already added and announced the VIP, so we remove it at once.
func TestPreemptedMasterReleasesAtOnce(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	r.take()
	in.handleAdvert(rt0.Add(time.Second), received{advert(200), srcB})
	if got, want := r.take(), []string{"advert prio=0 dst=224.0.0.18", "del " + vip.String()}; !cmp.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// TestHealedSplitBrain: two Masters meet again. The loser yields with a
// priority 0 advert; the winner answers it with an advert (RFC 5798 §6.4.3)
// and announces the addresses again, so hosts that followed the loser come
// back at once instead of after their neighbour entry expires.
func TestHealedSplitBrain(t *testing.T) {
	cfg := testConfig("vi", 200, srcA)
	cfg.Gratuitous.SecondDelay = 0
	r := newRecorder()
	winner, _ := newTestInstance(t, cfg, r)
	winner.start(rt0)
	winner.handleTimer(winner.m.Deadline())
	r.take()
	winner.handleAdvert(rt0.Add(5*time.Second), received{advert(0), srcB})
	want := []string{"advert prio=200 dst=224.0.0.18", "announce 198.18.0.100", "announce 198.18.0.100"}
	if got := r.take(); !cmp.Equal(got, want) {
		t.Errorf("winner on the loser's priority 0:\n got %q\nwant %q", got, want)
	}
}

func TestSplitBrainReannounces(t *testing.T) {
	r := newRecorder()
	cfg := testConfig("vi", 200, srcA)
	cfg.Gratuitous.SecondDelay = 0
	in, _ := newTestInstance(t, cfg, r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	r.take()
	now := rt0.Add(10 * time.Second)
	in.handleAdvert(now, received{advert(100), srcB})
	got := r.take()
	if n := strings.Count(strings.Join(got, ","), "announce"); n != 2 {
		t.Errorf("calls %q: want one burst of 2 announcements", got)
	}
	if n := in.stats.DualMaster.Load(); n != 1 {
		t.Errorf("dual master count %d, want 1", n)
	}
	in.handleAdvert(now.Add(50*time.Millisecond), received{advert(100), srcB})
	if got := r.take(); strings.Contains(strings.Join(got, ","), "announce") {
		t.Errorf("re-announced twice within one advert interval: %q", got)
	}
	in.handleAdvert(now.Add(100*time.Millisecond), received{advert(100), srcB})
	if got := r.take(); !strings.Contains(strings.Join(got, ","), "announce") {
		t.Errorf("no re-announcement one advert interval later: %q", got)
	}
}

func TestTrackerFaultAndPriority(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
	in.start(rt0)
	in.setTrack(rt0, WeightedResult("script:chk", -30, false, "down"))
	if p := in.m.EffectivePriority(); p != 70 {
		t.Errorf("priority %d, want 70", p)
	}
	in.setTrack(rt0, WeightedResult("interface:eth0", 0, false, "down"))
	if in.m.State() != vrrp.Fault {
		t.Errorf("state %v, want FAULT", in.m.State())
	}
	in.setTrack(rt0.Add(time.Second), WeightedResult("interface:eth0", 0, true, "up"))
	if in.m.State() != vrrp.Backup {
		t.Errorf("state %v, want BACKUP after the fault cleared", in.m.State())
	}
}

func TestEffective(t *testing.T) {
	for _, tc := range []struct {
		name      string
		base      uint8
		res       []TrackResult
		prio      uint8
		wantFault bool
	}{
		{"none", 100, nil, 100, false},
		{"positive weight up", 100, []TrackResult{WeightedResult("a", 20, true, "")}, 120, false},
		{"positive weight down", 100, []TrackResult{WeightedResult("a", 20, false, "")}, 100, false},
		{"negative weight down", 100, []TrackResult{WeightedResult("a", -20, false, "")}, 80, false},
		{"negative weight up", 100, []TrackResult{WeightedResult("a", -20, true, "")}, 100, false},
		{"clamp high", 250, []TrackResult{WeightedResult("a", 50, true, "")}, 254, false},
		{"clamp low", 10, []TrackResult{WeightedResult("a", -50, false, "")}, 1, false},
		{"owner ignores weights", 255, []TrackResult{WeightedResult("a", -50, false, "")}, 255, false},
		{"weight zero down faults", 100, []TrackResult{WeightedResult("a", 0, false, "")}, 100, true},
		{"file value times weight", 100, []TrackResult{FileResult("f", -10, 3, "")}, 70, false},
		{"file weight zero nonzero faults", 100, []TrackResult{FileResult("f", 0, 1, "")}, 100, true},
		{"file zero healthy", 100, []TrackResult{FileResult("f", 0, 0, "")}, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, f, _ := Effective(tc.base, tc.res)
			if p != tc.prio || f != tc.wantFault {
				t.Errorf("Effective = %d, %v; want %d, %v", p, f, tc.prio, tc.wantFault)
			}
		})
	}
}

func TestGratuitousSchedule(t *testing.T) {
	s := announceSched{cfg: Gratuitous{Repeat: 3, Interval: 10 * time.Millisecond, SecondDelay: time.Second, Refresh: 10 * time.Second, RefreshRepeat: 1}}
	s.start(rt0)
	sent := 0
	count := func() { sent++ }
	for i := 0; i < 10000 && sent < 7; i++ {
		d := s.due()
		if d.IsZero() {
			t.Fatal("nothing due")
		}
		s.fire(d, count)
		if sent == 3 && !s.due().Equal(rt0.Add(time.Second)) {
			t.Fatalf("after the first burst, next due %v, want the second burst at 1s", s.due())
		}
		if sent == 6 && !s.due().Equal(rt0.Add(10*time.Second)) {
			t.Fatalf("after the second burst, next due %v, want the refresh at 10s", s.due())
		}
	}
	if sent != 7 {
		t.Fatalf("sent %d", sent)
	}
	s.stop()
	if !s.due().IsZero() {
		t.Error("due after stop")
	}
}

// TestDropsNeverChangeState feeds every kind of bad packet and checks that
// each is counted under its reason and that the state stays BACKUP with the
// Master_Down_Timer untouched.
func TestDropsNeverChangeState(t *testing.T) {
	r := newRecorder()
	cfg := testConfig("vi", 100, srcA)
	cfg.Peers = []netip.Addr{srcB}
	in, _ := newTestInstance(t, cfg, r)
	in.start(rt0)
	d := NewDemux("eth0", nil)
	if err := d.Register(in); err != nil {
		t.Fatal(err)
	}
	deadline := in.m.Deadline()
	good := func(a *vrrp.Advert, src netip.Addr) []byte {
		b, err := a.Marshal(src, srcA, vrrp.ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other := advert(100)
	other.VRID = 52
	badSum := good(advert(100), srcB)
	badSum[7] ^= 0xff
	badVer := good(advert(100), srcB)
	badVer[0] = 0x41
	for _, tc := range []struct {
		name   string
		p      vrrp.Packet
		reason vrrp.DropReason
		demux  bool
	}{
		{"ttl", vrrp.Packet{Src: srcB, Dst: srcA, TTL: 254, Payload: good(advert(250), srcB)}, vrrp.DropTTL, true},
		{"checksum", vrrp.Packet{Src: srcB, Dst: srcA, TTL: 255, Payload: badSum}, vrrp.DropChecksum, true},
		{"version", vrrp.Packet{Src: srcB, Dst: srcA, TTL: 255, Payload: badVer}, vrrp.DropVersion, true},
		{"short", vrrp.Packet{Src: srcB, Dst: srcA, TTL: 255, Payload: []byte{0x31, 51}}, vrrp.DropShort, true},
		{"vrid", vrrp.Packet{Src: srcB, Dst: srcA, TTL: 255, Payload: good(other, srcB)}, vrrp.DropVRID, true},
		{"unlisted peer", vrrp.Packet{Src: netip.MustParseAddr("198.18.0.9"), Dst: srcA, TTL: 255, Payload: good(advert(250), netip.MustParseAddr("198.18.0.9"))}, vrrp.DropUnknownPeer, false},
		{"own echo", vrrp.Packet{Src: srcA, Dst: srcA, TTL: 255, Payload: good(advert(250), srcA)}, vrrp.DropLocalEcho, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cnt := &in.stats.Drops
			if tc.demux {
				cnt = d.Drops()
			}
			before := cnt.Get(tc.reason)
			d.Handle(tc.p)
			if got := cnt.Get(tc.reason); got != before+1 {
				t.Errorf("%s drops = %d, want %d", tc.reason, got, before+1)
			}
			if len(in.rx) != 0 {
				t.Error("a bad packet reached the instance queue")
			}
			if in.m.State() != vrrp.Backup || !in.m.Deadline().Equal(deadline) {
				t.Errorf("state %v deadline %v changed", in.m.State(), in.m.Deadline())
			}
		})
	}
	// And a good one does arrive.
	d.Handle(vrrp.Packet{Src: srcB, Dst: srcA, TTL: 255, Payload: good(advert(250), srcB)})
	if len(in.rx) != 1 {
		t.Errorf("good advert not queued")
	}
}

func TestDropReasonsAllCounted(t *testing.T) {
	var c DropCounts
	for _, r := range AllDropReasons {
		c.Add(r)
		if c.Get(r) != 1 {
			t.Errorf("reason %q is not counted", r)
		}
	}
	if len(AllDropReasons) > len(c.n) {
		t.Errorf("%d reasons but %d counters", len(AllDropReasons), len(c.n))
	}
}

func TestSyncGroupFault(t *testing.T) {
	r1, r2 := newRecorder(), newRecorder()
	c2 := testConfig("vi2", 100, srcA)
	c2.Machine.VRID = 52
	a, _ := newTestInstance(t, testConfig("vi1", 100, srcA), r1)
	b, _ := newTestInstance(t, c2, r2)
	g := NewSyncGroup("g")
	g.Join(a)
	g.Join(b)
	a.start(rt0)
	b.start(rt0)
	a.drainMail(rt0)
	b.drainMail(rt0)
	a.setTrack(rt0, WeightedResult("interface:eth1", 0, false, "down"))
	b.drainMail(rt0)
	if a.m.State() != vrrp.Fault || b.m.State() != vrrp.Fault {
		t.Fatalf("states %v %v, want both FAULT", a.m.State(), b.m.State())
	}
	a.setTrack(rt0.Add(time.Second), WeightedResult("interface:eth1", 0, true, "up"))
	b.drainMail(rt0.Add(time.Second))
	if b.m.State() != vrrp.Backup {
		t.Errorf("sibling state %v, want BACKUP after the fault cleared", b.m.State())
	}
	// One member becomes Master: the other follows.
	a.handleTimer(a.m.Deadline())
	b.drainMail(a.m.Deadline())
	if a.m.State() != vrrp.Master || b.m.State() != vrrp.Master {
		t.Errorf("states %v %v, want both MASTER", a.m.State(), b.m.State())
	}
}

// TestRunFailoverOnFakeLink runs two instances with their real loops on a
// fake segment: the higher priority becomes Master, and when it dies the
// other takes over; when it stops gracefully its VIP goes away.
func TestRunFailoverOnFakeLink(t *testing.T) {
	link := vrrptest.NewFakeLink()
	type node struct {
		in    *Instance
		conn  *vrrptest.FakeConn
		addrs *vrrptest.FakeAddrs
		d     *Demux
	}
	mk := func(name string, prio uint8, src netip.Addr) node {
		c := link.Conn(src)
		fa := vrrptest.NewFakeAddrs()
		d := NewDemux("eth0", c)
		cfg := testConfig(name, prio, src)
		cfg.Machine.AdvertInterval = 20 * time.Millisecond
		in, err := NewInstance(cfg, InstanceDeps{Sender: d, Addrs: fa, Announcer: &vrrptest.FakeAnnouncer{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Register(in); err != nil {
			t.Fatal(err)
		}
		return node{in, c, fa, d}
	}
	a, b := mk("a", 200, srcA), mk("b", 100, srcB)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctxA, stopA := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, n := range []struct {
		n   node
		ctx context.Context
	}{{a, ctxA}, {b, ctx}} {
		wg.Add(2)
		go func() { defer wg.Done(); n.n.d.Run(n.ctx) }()
		go func() { defer wg.Done(); n.n.in.Run(n.ctx) }()
	}
	waitFor(t, "a MASTER, b BACKUP", func() bool { return a.in.State() == "MASTER" && b.in.State() == "BACKUP" })
	if !a.addrs.Has("eth0", vip) || b.addrs.Has("eth0", vip) {
		t.Fatal("VIP not on the Master only")
	}
	link.Cut(a.conn, true)
	waitFor(t, "b MASTER after a died", func() bool { return b.in.State() == "MASTER" && b.addrs.Has("eth0", vip) })
	link.Cut(a.conn, false)
	waitFor(t, "a preempts back", func() bool { return a.in.State() == "MASTER" && b.in.State() == "BACKUP" && !b.addrs.Has("eth0", vip) })
	stopA()
	waitFor(t, "b MASTER after a stopped", func() bool { return b.in.State() == "MASTER" && !a.addrs.Has("eth0", vip) })
	cancel()
	wg.Wait()
	if b.addrs.Has("eth0", vip) {
		t.Error("VIP left behind after shutdown")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestStarvedBackupWaitsForQueuedAdverts: when the Master_Down_Timer fires
// while packets still wait in the socket, the Backup was starved, so it
// waits for them (bounded by one Master_Adver_Interval) rather than take
// over from a Master it has in fact heard.
func TestStarvedBackupWaitsForQueuedAdverts(t *testing.T) {
	r := newRecorder()
	pending := true
	cfg := testConfig("vi", 100, srcA)
	in, err := NewInstance(cfg, InstanceDeps{Sender: r, Addrs: r, Announcer: r, Pending: func() bool { return pending }})
	if err != nil {
		t.Fatal(err)
	}
	in.start(rt0)
	d := in.m.Deadline()
	late := d.Add(30 * time.Millisecond)
	in.handleTimer(late)
	if in.m.State() != vrrp.Backup {
		t.Fatalf("took over with packets queued: %v", in.m.State())
	}
	if w := in.nextWake(); !w.Equal(late.Add(time.Millisecond)) {
		t.Errorf("recheck at %v, want %v", w, late.Add(time.Millisecond))
	}
	// The queued advert arrives: no takeover, timer restarted.
	in.handleAdvert(late.Add(time.Millisecond), received{advert(200), srcB})
	if in.m.State() != vrrp.Backup || !in.m.Deadline().After(late) {
		t.Errorf("state %v deadline %v after the queued advert", in.m.State(), in.m.Deadline())
	}
	if n := in.stats.TakeoversDeferred.Load(); n != 1 {
		t.Errorf("deferred %d, want 1", n)
	}
	// A flood cannot hold it back forever: past one interval it takes over.
	d = in.m.Deadline()
	in.handleTimer(d.Add(cfg.Machine.AdvertInterval + time.Millisecond))
	if in.m.State() != vrrp.Master {
		t.Errorf("state %v, want MASTER once the grace is spent", in.m.State())
	}
	// Nothing queued: takes over at once.
	pending = false
	in2, _ := NewInstance(cfg, InstanceDeps{Sender: r, Addrs: newRecorder(), Announcer: r, Pending: func() bool { return pending }})
	in2.start(rt0)
	in2.handleTimer(in2.m.Deadline())
	if in2.m.State() != vrrp.Master {
		t.Errorf("state %v, want MASTER", in2.m.State())
	}
}

// TestLateTimerGivesMasterAChance: a Master_Down_Timer that fires late
// (a busy host) waits as long again as it was late, so a Master stalled by
// the same load can be heard; an advert ends the wait, silence does not.
func TestLateTimerGivesMasterAChance(t *testing.T) {
	for _, heard := range []bool{true, false} {
		r := newRecorder()
		in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
		in.start(rt0)
		d := in.m.Deadline()
		late := d.Add(40 * time.Millisecond) // > interval/4, < interval
		in.handleTimer(late)
		if in.m.State() != vrrp.Backup {
			t.Fatalf("late timer took over at once")
		}
		if w := in.nextWake(); !w.Equal(late.Add(40 * time.Millisecond)) {
			t.Errorf("grace ends %v, want %v", w, late.Add(40*time.Millisecond))
		}
		if heard {
			in.handleAdvert(late.Add(5*time.Millisecond), received{advert(200), srcB})
			in.handleTimer(late.Add(40 * time.Millisecond))
			if in.m.State() != vrrp.Backup {
				t.Errorf("took over although the Master was heard")
			}
			continue
		}
		in.handleTimer(late.Add(40 * time.Millisecond))
		if in.m.State() != vrrp.Master {
			t.Errorf("state %v after the grace with no advert, want MASTER", in.m.State())
		}
	}
	// On time: no grace.
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline().Add(time.Millisecond))
	if in.m.State() != vrrp.Master {
		t.Errorf("an on-time timer waited")
	}
}

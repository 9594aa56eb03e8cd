package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/ipvs/health"
	"github.com/hachat/hachat/vrrp"
	"github.com/prometheus/client_golang/prometheus"
)

// Balancer is what vrrpd needs of the L4 balancer (*ipvs.Balancer).
type Balancer interface {
	Run(ctx context.Context) error
	Reload(cfg *config.Config) error
	VRRPStateChanged(instance string, master bool)
	Status() []ipvs.ServiceStatus
	Collectors() []prometheus.Collector
}

// NewBalancerFunc builds the balancer for a configuration.
type NewBalancerFunc func(cfg *config.Config, log *slog.Logger) (Balancer, error)

func newIPVSBalancer(cfg *config.Config, log *slog.Logger) (Balancer, error) {
	return ipvs.NewBalancer(cfg, ipvs.Options{Logger: log})
}

// Node is the running daemon: the instances of the current configuration,
// their sockets, trackers, sync groups, hooks and the balancer. Apply moves
// it from one configuration to the next.
type Node struct {
	k           Kernel
	log         *slog.Logger
	ctx         context.Context // lifetime of background goroutines
	hub         *vrrp.TrackHub
	scripts     *health.Monitor
	notifier    *vrrp.Notifier
	bus         *vrrp.Bus
	newBalancer NewBalancerFunc
	onBalancer  func(Balancer) // called once when a balancer starts (metrics)
	balancer    atomic.Pointer[balancerBox]

	mu      sync.Mutex
	cfg     *config.Config
	insts   map[string]*runInst
	demuxes map[demuxKey]*runDemux
	groups  map[string]*vrrp.SyncGroup
	files   map[string]context.CancelFunc
	scriptN map[string]bool
	wg      sync.WaitGroup
	retry   bool // a retry loop for instances that could not start is running
	// retryEvery is retryStart; tests shorten it.
	retryEvery time.Duration
}

// retryStart is how often instances that could not start (their interface
// does not exist yet, has no address, ...) are tried again.
const retryStart = 5 * time.Second

type balancerBox struct{ b Balancer }

type demuxKey struct {
	ifname string
	ipv6   bool
}

type runDemux struct {
	d      *vrrp.Demux
	cancel context.CancelFunc
	users  int
}

type runInst struct {
	in     *vrrp.Instance
	cfg    config.Instance
	group  string
	subs   []trackSub
	dm     demuxKey
	cancel context.CancelFunc
	done   chan struct{}
}

type trackSub struct {
	key    string
	weight int
	file   bool
}

// NewNode returns a node with no instances; ctx bounds its background
// goroutines (link watcher, script monitor, notifier).
func NewNode(ctx context.Context, k Kernel, log *slog.Logger, nb NewBalancerFunc) *Node {
	n := &Node{
		k: k, log: log, ctx: ctx,
		hub:         vrrp.NewTrackHub(),
		notifier:    vrrp.NewNotifier(config.DefaultNotifyTimeout, log),
		bus:         vrrp.NewBus(),
		newBalancer: nb,
		insts:       map[string]*runInst{},
		demuxes:     map[demuxKey]*runDemux{},
		groups:      map[string]*vrrp.SyncGroup{},
		files:       map[string]context.CancelFunc{},
		scriptN:     map[string]bool{},
	}
	n.scripts = vrrp.NewScriptMonitor(n.hub)
	n.goRun(func() { n.scripts.Run(ctx) })
	n.goRun(func() { n.notifier.Run(ctx) })
	n.goRun(func() {
		if err := k.WatchLinks(ctx, n.hub); err != nil {
			log.Error("link watcher stopped: interface tracking is blind", "err", err)
		}
	})
	return n
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() { defer n.wg.Done(); f() }()
}

func (n *Node) bal() Balancer {
	if b := n.balancer.Load(); b != nil {
		return b.b
	}
	return nil
}

// Apply makes the running state match cfg, which must be valid (Parse
// validated it). Unchanged instances are not touched: they keep their state
// and never stop advertising. Instances whose priority, trackers,
// gratuitous ARP or hooks changed are updated in place. Instances whose
// identity changed (interface, VRID, addresses, timers, peers, sync group)
// are stopped gracefully and started anew; removed ones are stopped.
//
// The balancer is reloaded first: when it refuses the new configuration,
// nothing is changed and the error is returned.
func (n *Node) Apply(cfg *config.Config) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.applyBalancer(cfg); err != nil {
		return fmt.Errorf("%w, nothing changed: %w", ErrBalancerRefused, err)
	}
	var errs []error

	newGroup := map[string]string{}
	for _, g := range cfg.SyncGroups {
		for _, m := range g.Instances {
			newGroup[m] = g.Name
		}
	}
	// 1. Stop what goes away or must restart, all at once: a Master hands
	// over gracefully, so they wait in parallel.
	var stopping []*runInst
	for name, ri := range n.insts {
		nc := cfg.Instance(name)
		if nc == nil || needsRestart(ri.cfg, *nc) || ri.group != newGroup[name] {
			stopping = append(stopping, ri)
			delete(n.insts, name)
		}
	}
	n.stop(stopping)

	// 2. Shared trackers: scripts and files.
	n.applyScripts(cfg)
	n.applyFiles(cfg)

	// 3. Hooks.
	n.notifier.Reset()
	for _, ic := range cfg.Instances {
		n.notifier.SetInstance(ic.Name, notifySpec(ic.Notify))
	}
	for _, g := range cfg.SyncGroups {
		n.notifier.SetGroup(g.Name, g.Instances, notifySpec(g.Notify))
		if n.groups[g.Name] == nil {
			n.groups[g.Name] = vrrp.NewSyncGroup(g.Name)
		}
	}

	// 4. Start new instances, update the others in place.
	for _, ic := range cfg.Instances {
		subs := trackSubs(cfg, ic)
		if ri, ok := n.insts[ic.Name]; ok {
			n.update(ri, ic, subs)
			continue
		}
		if err := n.start(cfg, ic, newGroup[ic.Name], subs); err != nil {
			errs = append(errs, fmt.Errorf("instance %q (retried every %v): %w", ic.Name, retryStart, err))
		}
	}
	for name := range n.groups {
		if !slices.ContainsFunc(cfg.SyncGroups, func(g config.SyncGroup) bool { return g.Name == name }) {
			delete(n.groups, name)
		}
	}
	n.notifier.SetTimeout(cfg.Global.NotifyTimeout)
	n.cfg = cfg
	if len(errs) > 0 && !n.retry {
		n.retry = true
		n.goRun(n.retryLoop)
	}
	return errors.Join(errs...)
}

// retryLoop starts the configured instances that are not running, until
// all run or the node stops.
func (n *Node) retryLoop() {
	every := n.retryEvery
	if every == 0 {
		every = retryStart
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		missing := 0
		for _, ic := range n.cfg.Instances {
			if _, ok := n.insts[ic.Name]; ok {
				continue
			}
			group := ""
			if g := n.cfg.SyncGroupOf(ic.Name); g != nil {
				group = g.Name
			}
			if err := n.start(n.cfg, ic, group, trackSubs(n.cfg, ic)); err != nil {
				missing++
				continue
			}
			n.log.Info("instance started on retry", "instance", ic.Name)
		}
		if missing == 0 {
			n.retry = false
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
	}
}

func (n *Node) applyBalancer(cfg *config.Config) error {
	want := len(cfg.VirtualServers) > 0 || cfg.LVSSync != nil
	if b := n.bal(); b != nil {
		return b.Reload(cfg)
	}
	if !want || n.newBalancer == nil {
		return nil
	}
	b, err := n.newBalancer(cfg, n.log.With("component", "balancer"))
	if err != nil {
		return err
	}
	n.balancer.Store(&balancerBox{b})
	for name, ri := range n.insts {
		if ri.in.State() == "MASTER" {
			b.VRRPStateChanged(name, true)
		}
	}
	if n.onBalancer != nil {
		n.onBalancer(b)
	}
	n.goRun(func() {
		if err := b.Run(n.ctx); err != nil {
			n.log.Error("balancer stopped", "err", err)
		}
	})
	return nil
}

// needsRestart reports whether a change between two configurations of an
// instance cannot be applied in place.
func needsRestart(a, b config.Instance) bool {
	if (a.Priority == 255) != (b.Priority == 255) {
		return true // the address owner is a different kind of router
	}
	for _, c := range []*config.Instance{&a, &b} {
		c.Priority = 0
		c.Gratuitous = config.Gratuitous{}
		c.TrackInterfaces, c.TrackScripts, c.TrackFiles = nil, nil, nil
		c.Notify = config.Notify{}
	}
	return !reflect.DeepEqual(a, b)
}

func (n *Node) stop(l []*runInst) {
	for _, ri := range l {
		ri.cancel()
	}
	for _, ri := range l {
		<-ri.done
		n.hub.Unsubscribe(ri.in)
		if g := n.groups[ri.group]; g != nil {
			g.Leave(ri.in)
		}
		n.releaseDemux(ri.dm, ri.in)
		n.log.Info("instance stopped", "instance", ri.cfg.Name)
	}
}

func (n *Node) start(cfg *config.Config, ic config.Instance, group string, subs []trackSub) error {
	v6 := ic.IPv6()
	src := ic.UnicastSource
	if !src.IsValid() {
		var err error
		if src, err = vrrp.SourceAddr(n.k.Addrs(), ic.Interface, v6, ic.VirtualAddresses); err != nil {
			return err
		}
	}
	key := demuxKey{ic.Interface, v6}
	dm, err := n.demux(key)
	if err != nil {
		return err
	}
	name := ic.Name
	form := vrrp.ChecksumPseudoHeader
	if ic.ChecksumMessageOnly {
		form = vrrp.ChecksumMessageOnly
	}
	ctx, cancel := context.WithCancel(n.ctx)
	roles := n.newRoleReporter(ctx, name, ic.AdvertInterval)
	in, err := vrrp.NewInstance(vrrp.InstanceConfig{
		Name:      name,
		Interface: ic.Interface,
		Machine: vrrp.MachineConfig{
			VRID: uint8(ic.VRID), Priority: uint8(ic.Priority), AdvertInterval: ic.AdvertInterval,
			Preempt: *ic.Preempt, PreemptDelay: ic.PreemptDelay, Accept: ic.Accept, PrimaryAddr: src,
		},
		VIPs:       ic.VirtualAddresses,
		Peers:      ic.UnicastPeers,
		Checksum:   form,
		Gratuitous: gratuitous(ic.Gratuitous),
	}, vrrp.InstanceDeps{
		Sender:           dm.d,
		Pending:          dm.d.Pending,
		Addrs:            n.k.Addrs(),
		Announcer:        n.k.Announcer(),
		OnEvent:          n.onEvent,
		Logger:           n.log,
		RealtimePriority: *cfg.Global.RealtimePriority,
		OnRole:           roles.set,
	})
	if err != nil {
		cancel()
		n.releaseDemux(key, nil)
		return err
	}
	if err := dm.d.Register(in); err != nil {
		cancel()
		n.releaseDemux(key, nil)
		return err
	}
	if group != "" {
		n.groups[group].Join(in)
	}
	for _, s := range subs {
		n.hub.Subscribe(s.key, in, s.weight, s.file)
	}
	ri := &runInst{in: in, cfg: ic, group: group, subs: subs, dm: key, cancel: cancel, done: make(chan struct{})}
	n.insts[name] = ri
	go func() {
		defer close(ri.done)
		in.Run(ctx)
	}()
	n.log.Info("instance started", "instance", name, "interface", ic.Interface, "vrid", ic.VRID, "source", src, "priority", ic.Priority, "advert_interval", ic.AdvertInterval)
	return nil
}

// update applies in-place changes to a running instance.
func (n *Node) update(ri *runInst, ic config.Instance, subs []trackSub) {
	if ri.cfg.Priority != ic.Priority {
		ri.in.SetBasePriority(uint8(ic.Priority))
	}
	if !reflect.DeepEqual(ri.cfg.Gratuitous, ic.Gratuitous) {
		ri.in.SetGratuitous(gratuitous(ic.Gratuitous))
	}
	if !slices.Equal(ri.subs, subs) {
		n.hub.Unsubscribe(ri.in)
		for _, s := range subs {
			n.hub.Subscribe(s.key, ri.in, s.weight, s.file)
		}
		ri.subs = subs
	}
	if !reflect.DeepEqual(ri.cfg, ic) {
		n.log.Info("instance updated in place", "instance", ic.Name)
	}
	ri.cfg = ic
}

func (n *Node) demux(k demuxKey) (*runDemux, error) {
	if dm, ok := n.demuxes[k]; ok {
		dm.users++
		return dm, nil
	}
	c, err := n.k.Listen(k.ifname, k.ipv6)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(n.ctx)
	dm := &runDemux{d: vrrp.NewDemux(k.ifname, c), cancel: cancel, users: 1}
	n.demuxes[k] = dm
	n.goRun(func() { n.runDemux(ctx, k, dm.d) })
	return dm, nil
}

// runDemux reads a socket until ctx is done. A socket that fails (its
// interface went away and came back, say) is reopened: instances that
// cannot hear their peers would take over from them.
func (n *Node) runDemux(ctx context.Context, k demuxKey, d *vrrp.Demux) {
	for {
		err := d.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		n.log.Error("VRRP socket failed; reopening", "interface", k.ifname, "err", err)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			c, err := n.k.Listen(k.ifname, k.ipv6)
			if err == nil {
				d.Replace(c)
				break
			}
			n.log.Warn("reopen VRRP socket", "interface", k.ifname, "err", err)
		}
	}
}

func (n *Node) releaseDemux(k demuxKey, in *vrrp.Instance) {
	dm, ok := n.demuxes[k]
	if !ok {
		return
	}
	if in != nil {
		dm.d.Unregister(in)
	}
	if dm.users--; dm.users <= 0 {
		dm.cancel()
		delete(n.demuxes, k)
	}
}

func (n *Node) applyScripts(cfg *config.Config) {
	used := map[string]bool{}
	for _, ic := range cfg.Instances {
		for _, t := range ic.TrackScripts {
			used[t.Name] = true
		}
	}
	for _, s := range cfg.Scripts {
		if !used[s.Name] {
			continue
		}
		err := n.scripts.Add(vrrp.ScriptTarget(vrrp.ScriptSpec{
			Name: s.Name, Command: s.Command, Interval: s.Interval, Timeout: s.Timeout, Rise: s.Rise, Fall: s.Fall,
		}))
		if err != nil {
			n.log.Error("track script", "script", s.Name, "err", err)
		}
	}
	for name := range n.scriptN {
		if !used[name] {
			n.scripts.Remove(vrrp.ScriptKey(name))
		}
	}
	n.scriptN = used
}

func (n *Node) applyFiles(cfg *config.Config) {
	want := map[string]time.Duration{}
	for _, ic := range cfg.Instances {
		for _, f := range ic.TrackFiles {
			if d, ok := want[f.Path]; !ok || f.Interval < d {
				want[f.Path] = f.Interval
			}
		}
	}
	for path, cancel := range n.files {
		cancel() // restarted below if still wanted: the interval may differ
		delete(n.files, path)
	}
	for path, every := range want {
		ctx, cancel := context.WithCancel(n.ctx)
		n.files[path] = cancel
		n.goRun(func() { vrrp.PollFile(ctx, n.hub, path, every) })
	}
}

func trackSubs(cfg *config.Config, ic config.Instance) []trackSub {
	subs := []trackSub{{key: vrrp.InterfaceKey(ic.Interface), weight: 0}} // our own link down: FAULT
	for _, t := range ic.TrackInterfaces {
		subs = append(subs, trackSub{key: vrrp.InterfaceKey(t.Name), weight: t.Weight})
	}
	for _, t := range ic.TrackScripts {
		w := 0
		if s := cfg.Script(t.Name); s != nil {
			w = s.Weight
		}
		if t.Weight != nil {
			w = *t.Weight
		}
		subs = append(subs, trackSub{key: vrrp.ScriptKey(t.Name), weight: w})
	}
	for _, t := range ic.TrackFiles {
		subs = append(subs, trackSub{key: vrrp.FileKey(t.Path), weight: t.Weight, file: true})
	}
	return subs
}

func gratuitous(g config.Gratuitous) vrrp.Gratuitous {
	return vrrp.Gratuitous{Repeat: g.Repeat, Interval: g.Interval, SecondDelay: g.SecondBurstDelay(), Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat}
}

func notifySpec(c config.Notify) vrrp.NotifySpec {
	return vrrp.NotifySpec{Master: c.Master, Backup: c.Backup, Fault: c.Fault, Stop: c.Stop, Any: c.Any}
}

func (n *Node) onEvent(ev vrrp.InstanceEvent) {
	n.bus.Publish(ev)
	n.notifier.Event(ev)
	if ev.Kind == "error" {
		n.log.Error("instance error", "instance", ev.Instance, "detail", ev.Detail)
	} else if ev.Kind != "transition" { // transitions are logged by the instance
		n.log.Info("instance event", "instance", ev.Instance, "kind", ev.Kind, "detail", ev.Detail)
	}
}

// Shutdown stops every instance gracefully (priority 0, addresses removed
// once the backup has taken over) and waits for them.
func (n *Node) Shutdown() {
	n.mu.Lock()
	var l []*runInst
	for name, ri := range n.insts {
		l = append(l, ri)
		delete(n.insts, name)
	}
	n.stop(l)
	n.mu.Unlock()
}

// Wait waits for the background goroutines; cancel the node's context first.
func (n *Node) Wait() { n.wg.Wait() }

// Status returns every instance's status, sorted by name.
func (n *Node) Status() []vrrp.Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []vrrp.Status
	for _, ri := range n.insts {
		out = append(out, ri.in.Status())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ErrBalancerRefused wraps a balancer's refusal of a configuration.
var ErrBalancerRefused = errors.New("the balancer refused the configuration")

// ErrNoInstance is returned for an unknown instance name.
var ErrNoInstance = errors.New("no such instance")

// SetMaintenance puts an instance into maintenance or takes it out.
func (n *Node) SetMaintenance(name string, on bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	ri, ok := n.insts[name]
	if !ok {
		return fmt.Errorf("%q: %w", name, ErrNoInstance)
	}
	ri.in.SetMaintenance(on)
	return nil
}

// MetricInstances implements vrrp.MetricsSource.
func (n *Node) MetricInstances() []*vrrp.Instance {
	n.mu.Lock()
	defer n.mu.Unlock()
	var l []*vrrp.Instance
	for _, ri := range n.insts {
		l = append(l, ri.in)
	}
	return l
}

// MetricDemuxes implements vrrp.MetricsSource.
func (n *Node) MetricDemuxes() []*vrrp.Demux {
	n.mu.Lock()
	defer n.mu.Unlock()
	var l []*vrrp.Demux
	for _, dm := range n.demuxes {
		l = append(l, dm.d)
	}
	return l
}

// roleReporter tells the balancer about an instance's MASTER role from its
// own goroutine, in order. The instance loop waits for the balancer only a
// bounded time: the balancer wants to switch its data plane before the VIP
// is added, but a slow data plane must not make the loop late with its
// adverts, which would make the backups take over.
type roleReporter struct {
	n    *Node
	name string
	wait time.Duration
	ch   chan roleReq
}

type roleReq struct {
	master bool
	done   chan struct{}
}

func (n *Node) newRoleReporter(ctx context.Context, name string, interval time.Duration) *roleReporter {
	r := &roleReporter{n: n, name: name, wait: min(interval/2, 50*time.Millisecond), ch: make(chan roleReq, 16)}
	n.goRun(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case q := <-r.ch:
				if b := n.bal(); b != nil {
					start := time.Now()
					b.VRRPStateChanged(name, q.master)
					n.log.Debug("balancer role switched", "instance", name, "master", q.master, "took", time.Since(start))
				}
				close(q.done)
			}
		}
	})
	return r
}

// set is the instance's OnRole hook.
func (r *roleReporter) set(master bool) {
	if r.n.bal() == nil {
		return
	}
	q := roleReq{master, make(chan struct{})}
	select {
	case r.ch <- q:
	default:
		r.n.log.Warn("balancer role queue full", "instance", r.name)
		return
	}
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-q.done:
	case <-t.C:
		r.n.log.Warn("balancer slow to switch role; going on without waiting", "instance", r.name, "master", master, "waited", r.wait)
	}
}

package vrrpd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/vrrp/router"
)

// retryStart is how often instances that could not start (their interface
// does not exist yet, has no address, ...) are tried again.
const retryStart = 5 * time.Second

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

	// 3. Hooks and e-mail alerts.
	n.alerts.configure(cfg)
	n.notifier.Reset()
	for _, ic := range cfg.Instances {
		n.notifier.SetInstance(ic.Name, notifySpec(ic.Notify))
	}
	for _, g := range cfg.SyncGroups {
		n.notifier.SetGroup(g.Name, g.Instances, notifySpec(g.Notify))
		if n.groups[g.Name] == nil {
			n.groups[g.Name] = router.NewSyncGroup(g.Name)
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
	if err := n.applyAccept(cfg); err != nil {
		errs = append(errs, err)
	}
	n.notifier.SetTimeout(cfg.Global.NotifyTimeout)
	n.quorum.setTimeout(cfg.Global.NotifyTimeout)
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
		return b.Reload(BalancerConfig(cfg))
	}
	if !want || n.newBalancer == nil {
		return nil
	}
	b, err := n.newBalancer(BalancerConfig(cfg), n.log.With("component", "balancer"))
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
		c.AdvertInterval = 0 // RFC 5798 lets a Master change it in place
		c.Gratuitous = config.Gratuitous{}
		c.TrackInterfaces, c.TrackScripts, c.TrackFiles = nil, nil, nil
		c.Notify = config.Notify{}
	}
	return !reflect.DeepEqual(a, b)
}

// update applies in-place changes to a running instance.
func (n *Node) update(ri *runInst, ic config.Instance, subs []trackSub) {
	if ri.cfg.Priority != ic.Priority {
		ri.in.SetBasePriority(uint8(ic.Priority))
	}
	if ri.cfg.AdvertInterval != ic.AdvertInterval {
		ri.in.SetAdvertInterval(ic.AdvertInterval)
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
		err := n.scripts.Add(router.ScriptTarget(router.ScriptSpec{
			Name: s.Name, Command: s.Command, Interval: s.Interval, Timeout: s.Timeout, Rise: s.Rise, Fall: s.Fall,
		}))
		if err != nil {
			n.log.Error("track script", "script", s.Name, "err", err)
		}
	}
	for name := range n.scriptN {
		if !used[name] {
			n.scripts.Remove(router.ScriptKey(name))
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
		n.goRun(func() { router.PollFile(ctx, n.hub, path, every) })
	}
}

func trackSubs(cfg *config.Config, ic config.Instance) []trackSub {
	subs := []trackSub{{key: router.InterfaceKey(ic.Interface), weight: 0}} // our own link down: FAULT
	for _, t := range ic.TrackInterfaces {
		subs = append(subs, trackSub{key: router.InterfaceKey(t.Name), weight: t.Weight})
	}
	for _, t := range ic.TrackScripts {
		w := 0
		if s := cfg.Script(t.Name); s != nil {
			w = s.Weight
		}
		if t.Weight != nil {
			w = *t.Weight
		}
		subs = append(subs, trackSub{key: router.ScriptKey(t.Name), weight: w})
	}
	for _, t := range ic.TrackFiles {
		subs = append(subs, trackSub{key: router.FileKey(t.Path), weight: t.Weight, file: true})
	}
	return subs
}

func gratuitous(g config.Gratuitous) router.Gratuitous {
	return router.Gratuitous{Repeat: g.Repeat, Interval: g.Interval, SecondDelay: g.SecondBurstDelay(), Refresh: g.Refresh, RefreshRepeat: g.RefreshRepeat}
}

func notifySpec(c config.Notify) router.NotifySpec {
	return router.NotifySpec{Master: c.Master, Backup: c.Backup, Fault: c.Fault, Stop: c.Stop, Any: c.Any}
}

// ErrBalancerRefused wraps a balancer's refusal of a configuration.
var ErrBalancerRefused = errors.New("the balancer refused the configuration")

// applyAccept refuses packets to the virtual addresses of every instance
// with accept off that does not own them (priority 255 always accepts,
// RFC 5798 §6.4.3). The rules need not follow VRRP state: only the Master
// holds the addresses. Without such instances the rules are removed, and a
// kernel without nftables is no error.
func (n *Node) applyAccept(cfg *config.Config) error {
	addrs := refusedAddrs(cfg)
	if n.accept == nil {
		f, err := n.k.AcceptFilter()
		if err != nil {
			if len(addrs) == 0 {
				return nil
			}
			return fmt.Errorf("accept mode: %w", err)
		}
		n.accept = f
	}
	if err := n.accept.Set(addrs); err != nil && len(addrs) > 0 {
		return fmt.Errorf("accept mode: refuse %v: %w", addrs, err)
	}
	return nil
}

func refusedAddrs(cfg *config.Config) []netip.Addr {
	var out []netip.Addr
	for _, ic := range cfg.Instances {
		if *ic.Accept || ic.Priority == 255 {
			continue
		}
		for _, p := range ic.AllVirtualAddresses() {
			out = append(out, p.Addr())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// AcceptDropped is the number of packets refused in family ("ipv4",
// "ipv6") under accept off.
func (n *Node) AcceptDropped(family string) uint64 {
	n.mu.Lock()
	f := n.accept
	n.mu.Unlock()
	if f == nil {
		return 0
	}
	d, err := f.Dropped()
	if err != nil {
		n.log.Debug("accept mode: read counters", "err", err)
		return 0
	}
	return d[family]
}

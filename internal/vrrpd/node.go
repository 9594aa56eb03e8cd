package vrrpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/mailalert"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/prometheus/client_golang/prometheus"
)

// Balancer is what vrrpd needs of the L4 balancer (*ipvs.Balancer).
type Balancer interface {
	Run(ctx context.Context) error
	Reload(cfg *ipvs.Config) error
	VRRPStateChanged(instance string, master bool)
	Status() []ipvs.ServiceStatus
	Collectors() []prometheus.Collector
}

// NewBalancerFunc builds the balancer for a configuration.
type NewBalancerFunc func(cfg *ipvs.Config, log *slog.Logger) (Balancer, error)

// ipvsBalancer builds the real balancer, telling n's alerts about real
// servers going up or down.
func (n *Node) ipvsBalancer(cfg *ipvs.Config, log *slog.Logger) (Balancer, error) {
	return ipvs.NewBalancer(cfg, n.balancerOptions(log))
}

// balancerOptions connects the balancer's events to the node: real servers
// going up or down to the e-mail alerts, quorum changes to their commands.
func (n *Node) balancerOptions(log *slog.Logger) ipvs.Options {
	return ipvs.Options{Logger: log, OnRealServer: n.alerts.realServer, OnQuorum: n.quorum.changed}
}

// Node is the running daemon: the instances of the current configuration,
// their sockets, trackers, sync groups, hooks and the balancer. Apply moves
// it from one configuration to the next.
type Node struct {
	k           Kernel
	log         *slog.Logger
	ctx         context.Context // lifetime of background goroutines
	hub         *router.TrackHub
	scripts     *health.Monitor
	notifier    *router.Notifier
	alerts      *alerter // e-mail alerts (smtp_alert)
	quorum      *quorumRunner
	routeErrors atomic.Uint64 // virtual routes and rules refused (followers.go)
	bus         *router.Bus
	newBalancer NewBalancerFunc
	onBalancer  func(Balancer) // called once when a balancer starts (metrics)
	balancer    atomic.Pointer[balancerBox]

	mu      sync.Mutex
	cfg     *config.Config
	insts   map[string]*runInst
	demuxes map[demuxKey]*runDemux
	groups  map[string]*router.SyncGroup
	files   map[string]context.CancelFunc
	scriptN map[string]bool
	wg      sync.WaitGroup
	retry   bool // a retry loop for instances that could not start is running
	// retryEvery is retryStart; tests shorten it.
	retryEvery time.Duration
	// accept refuses packets to the addresses of instances with accept
	// off; opened at the first Apply.
	accept AcceptFilter
}

type balancerBox struct{ b Balancer }

type demuxKey struct {
	ifname string
	ipv6   bool
	vmac   string // a virtual MAC interface's receive-only socket: the MAC it hears
}

type runDemux struct {
	d      *router.Demux
	cancel context.CancelFunc
	users  int
}

type runInst struct {
	in     *router.Instance
	cfg    config.Instance
	group  string
	subs   []trackSub
	dm     demuxKey
	vdm    *demuxKey // the virtual MAC interface's receive socket, if any
	vsend  io.Closer // the virtual MAC interface's send socket, if any
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
		hub:         router.NewTrackHub(),
		notifier:    router.NewNotifier(config.DefaultNotifyTimeout, log),
		alerts:      newAlerter(),
		quorum:      newQuorumRunner(log),
		bus:         router.NewBus(),
		newBalancer: nb,
		insts:       map[string]*runInst{},
		demuxes:     map[demuxKey]*runDemux{},
		groups:      map[string]*router.SyncGroup{},
		files:       map[string]context.CancelFunc{},
		scriptN:     map[string]bool{},
	}
	n.scripts = router.NewScriptMonitor(n.hub)
	n.goRun(func() { n.scripts.Run(ctx) })
	n.goRun(func() { n.notifier.Run(ctx) })
	n.goRun(func() { n.quorum.run(ctx) })
	n.alerts.mail.OnFailure(func(a mailalert.Alert, err error) {
		log.Warn("e-mail alert not delivered", "subject", a.Subject, "err", err)
	})
	n.goRun(func() { n.alerts.mail.Run(ctx) })
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

func (n *Node) stop(l []*runInst) {
	for _, ri := range l {
		ri.cancel()
	}
	for _, ri := range l {
		<-ri.done
		closeSender(ri.vsend)
		n.hub.Unsubscribe(ri.in)
		if g := n.groups[ri.group]; g != nil {
			g.Leave(ri.in)
		}
		n.releaseDemux(ri.dm, ri.in)
		if ri.vdm != nil {
			n.releaseDemux(*ri.vdm, ri.in)
		}
		// A stopped instance is no longer master: its services go to standby
		// here, synchronously, because the role reporter's goroutine may
		// already be gone with the node's context. Otherwise a stopped
		// balancer would keep forwarding for clients whose ARP entries still
		// point at it (the lab's "both stopped" trial saw exactly that).
		if b := n.bal(); b != nil {
			b.VRRPStateChanged(ri.cfg.Name, false)
		}
		if ri.cfg.VMAC {
			if err := n.k.VMAC().Delete(ri.cfg.VMACName()); err != nil {
				n.log.Warn("remove the virtual MAC interface", "instance", ri.cfg.Name, "err", err)
			}
		}
		n.log.Info("instance stopped", "instance", ri.cfg.Name)
	}
}

func (n *Node) start(cfg *config.Config, ic config.Instance, group string, subs []trackSub) error {
	v6 := ic.IPv6()
	src := ic.UnicastSource
	if !src.IsValid() {
		var err error
		if src, err = router.SourceAddr(n.k.Addrs(), ic.Interface, v6, ic.VirtualAddresses); err != nil {
			return err
		}
	} else {
		// Our adverts carry their own IP header: the kernel would send a
		// source we do not have, and the peers would answer into the void.
		have, err := n.k.Addrs().Addrs(ic.Interface)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(have, func(p netip.Prefix) bool { return p.Addr() == src }) {
			return fmt.Errorf("unicast_source %v is not an address of %s", src, ic.Interface)
		}
	}
	// With a virtual MAC the addresses live on the macvlan; adverts still
	// come and go by the interface itself.
	addrIface := ic.Interface
	var vkey *demuxKey
	if ic.VMAC {
		addrIface = ic.VMACName()
		mac := router.VirtualMAC(uint8(ic.VRID), v6)
		if err := n.k.VMAC().Ensure(ic.Interface, addrIface, mac); err != nil {
			return err
		}
		vkey = &demuxKey{addrIface, v6, mac.String()}
	}
	key := demuxKey{ifname: ic.Interface, ipv6: v6}
	dm, err := n.demux(key)
	if err != nil {
		return err
	}
	var vdm *runDemux
	if vkey != nil {
		if vdm, err = n.demux(*vkey); err != nil {
			n.releaseDemux(key, nil)
			return err
		}
	}
	release := func() {
		n.releaseDemux(key, nil)
		if vkey != nil {
			n.releaseDemux(*vkey, nil)
		}
	}
	name := ic.Name
	ctx, cancel := context.WithCancel(n.ctx)
	roles := n.newRoleReporter(ctx, name, ic.AdvertInterval)
	onRole := roles.set
	if ic.VMAC {
		onRole = n.vmacRole(addrIface, roles.set)
	}
	sender, vsend, err := n.advertSender(ic, addrIface, dm)
	if err != nil {
		cancel()
		release()
		return err
	}
	addrs, ann := withDeviceAddresses(ic, addrIface, n.k.Addrs(), n.k.Announcer())
	in, err := router.NewInstance(instanceConfig(ic, addrIface, src), router.InstanceDeps{
		Sender:           sender,
		Pending:          dm.d.Pending,
		Addrs:            addrs,
		Announcer:        ann,
		OnAddresses:      n.routesHook(name, routeSet(ic)),
		OnEvent:          n.onEvent,
		Logger:           n.log,
		RealtimePriority: *cfg.Global.RealtimePriority,
		OnRole:           onRole,
	})
	if err == nil {
		err = register(in, dm, vdm)
	}
	if err != nil {
		cancel()
		release()
		closeSender(vsend)
		return err
	}
	if group != "" {
		n.groups[group].Join(in)
	}
	for _, s := range subs {
		n.hub.Subscribe(s.key, in, s.weight, s.file)
	}
	ri := &runInst{in: in, cfg: ic, group: group, subs: subs, dm: key, vdm: vkey, vsend: vsend, cancel: cancel, done: make(chan struct{})}
	n.insts[name] = ri
	go func() {
		defer close(ri.done)
		in.Run(ctx)
	}()
	n.log.Info("instance started", "instance", name, "interface", ic.Interface, "vrid", ic.VRID, "source", src, "priority", ic.Priority, "advert_interval", ic.AdvertInterval)
	return nil
}

// register routes in's adverts from its sockets (vdm may be nil).
func register(in *router.Instance, dm, vdm *runDemux) error {
	if err := dm.d.Register(in); err != nil {
		return err
	}
	if vdm != nil {
		if err := vdm.d.Register(in); err != nil {
			dm.d.Unregister(in)
			return err
		}
	}
	return nil
}

// instanceConfig is the runtime configuration of ic, its addresses on
// addrIface and its adverts from src.
func instanceConfig(ic config.Instance, addrIface string, src netip.Addr) router.InstanceConfig {
	form := vrrp.ChecksumPseudoHeader
	if ic.ChecksumMessageOnly {
		form = vrrp.ChecksumMessageOnly
	}
	return router.InstanceConfig{
		Name:      ic.Name,
		Interface: addrIface,
		Machine: vrrp.MachineConfig{
			Version: uint8(ic.Version), VRID: uint8(ic.VRID), Priority: uint8(ic.Priority), AdvertInterval: ic.AdvertInterval,
			Preempt: *ic.Preempt, PreemptDelay: ic.PreemptDelay, Accept: *ic.Accept, PrimaryAddr: src,
		},
		VIPs:            ic.AllVirtualAddresses(),
		Peers:           ic.UnicastPeers,
		Checksum:        form,
		ChecksumLenient: ic.Checksum == config.ChecksumLenient,
		V2Compat:        ic.V2Compat,
		Auth:            auth(ic.Authentication),
		Gratuitous:      gratuitous(ic.Gratuitous),
	}
}

// auth is the runtime form of a validated authentication block; the
// validator refused every password vrrp.PasswordAuth would.
func auth(a config.Authentication) vrrp.Auth {
	if !strings.EqualFold(a.Type, config.AuthPass) {
		return vrrp.Auth{}
	}
	au, _ := vrrp.PasswordAuth(a.Password)
	return au
}

// vmacRole brings the virtual MAC interface up before the instance adds
// its addresses and down after it removed them: only the Master's macvlan
// may receive frames for the virtual MAC (RFC 5798 §8.2: a Backup must not
// accept them).
func (n *Node) vmacRole(ifname string, next func(bool)) func(bool) {
	set := func(up bool) {
		if err := n.k.VMAC().SetUp(ifname, up); err != nil {
			n.log.Error("virtual MAC interface", "interface", ifname, "up", up, "err", err)
		}
	}
	return func(master bool) {
		if master {
			set(true)
			next(true)
			return
		}
		next(false)
		set(false)
	}
}

func (n *Node) demux(k demuxKey) (*runDemux, error) {
	if dm, ok := n.demuxes[k]; ok {
		dm.users++
		return dm, nil
	}
	c, err := n.listen(k)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(n.ctx)
	dm := &runDemux{d: router.NewDemux(k.ifname, c), cancel: cancel, users: 1}
	dm.d.SetLogger(n.log) // refused packets at debug, rate-limited
	n.demuxes[k] = dm
	n.goRun(func() { n.runDemux(ctx, k, dm.d) })
	return dm, nil
}

func (n *Node) listen(k demuxKey) (vrrp.Conn, error) {
	if k.vmac == "" {
		return n.k.Listen(k.ifname, k.ipv6)
	}
	mac, err := net.ParseMAC(k.vmac)
	if err != nil {
		return nil, err
	}
	return n.k.ListenVMAC(k.ifname, k.ipv6, mac)
}

// runDemux reads a socket until ctx is done. A socket that fails (its
// interface went away and came back, say) is reopened: instances that
// cannot hear their peers would take over from them.
func (n *Node) runDemux(ctx context.Context, k demuxKey, d *router.Demux) {
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
			c, err := n.listen(k)
			if err == nil {
				d.Replace(c)
				break
			}
			n.log.Warn("reopen VRRP socket", "interface", k.ifname, "err", err)
		}
	}
}

func (n *Node) releaseDemux(k demuxKey, in *router.Instance) {
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

func (n *Node) onEvent(ev router.InstanceEvent) {
	n.bus.Publish(ev)
	n.notifier.Event(ev)
	n.alerts.event(ev)
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
	n.omega()
	if n.accept != nil {
		if err := n.accept.Close(); err != nil {
			n.log.Warn("accept mode: remove the rules", "err", err)
		}
		n.accept = nil
	}
	n.mu.Unlock()
}

// Wait waits for the background goroutines; cancel the node's context first.
func (n *Node) Wait() { n.wg.Wait() }

// Status returns every instance's status, sorted by name.
func (n *Node) Status() []router.Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []router.Status
	for _, ri := range n.insts {
		st := ri.in.Status()
		// Packets refused before they reached an instance count for every
		// instance of the interface: bad checksums and the like are what an
		// operator looks at drops for.
		keys := []demuxKey{ri.dm}
		if ri.vdm != nil {
			keys = append(keys, *ri.vdm)
		}
		for _, k := range keys {
			if dm := n.demuxes[k]; dm != nil {
				for r, c := range dm.d.Drops().Snapshot() {
					if st.InterfaceDrops == nil {
						st.InterfaceDrops = map[vrrp.DropReason]uint64{}
					}
					st.InterfaceDrops[r] += c
				}
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

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

// MetricInstances implements vrrpmetrics.MetricsSource.
func (n *Node) MetricInstances() []*router.Instance {
	n.mu.Lock()
	defer n.mu.Unlock()
	var l []*router.Instance
	for _, ri := range n.insts {
		l = append(l, ri.in)
	}
	return l
}

// MetricDemuxes implements vrrpmetrics.MetricsSource.
func (n *Node) MetricDemuxes() []*router.Demux {
	n.mu.Lock()
	defer n.mu.Unlock()
	var l []*router.Demux
	for _, dm := range n.demuxes {
		l = append(l, dm.d)
	}
	return l
}

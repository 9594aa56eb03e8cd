package ipvs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/ipvs/quorum"
	"github.com/hachat/hachat/ipvs/syncd"
	"github.com/hachat/hachat/ipvs/table"
)

// DefaultReconcileInterval is how often the balancer re-reads the data plane
// even when nothing changed, to finish drains and repair drift (someone ran
// ipvsadm by hand).
const DefaultReconcileInterval = 2 * time.Second

// SyncDaemon starts and stops the kernel's connection-sync daemons;
// *syncd.Client implements it.
type SyncDaemon interface {
	// Ensure makes the running daemon match want (nil: none).
	Ensure(want *syncd.Daemon) error
}

// Options configures a Balancer. Only Logger is commonly set; the rest
// exist for tests and special deployments.
type Options struct {
	Logger *slog.Logger
	// DataPlane is "auto", "ipvs" or "nftables"; empty means the config's
	// global.dataplane.
	DataPlane string
	// Plane, when set, is used instead of opening a data plane (tests pass
	// the fakes of ipvs/ipvstest).
	Plane table.DataPlane
	// Sync, when set, replaces the kernel's sync daemon control.
	Sync SyncDaemon
	// Clock drives the health monitor and the drain timers; nil means the
	// system clock.
	Clock health.Clock
	// ReconcileInterval; zero means DefaultReconcileInterval.
	ReconcileInterval time.Duration
	// NFTables configures the nftables data plane when it is chosen.
	NFTables NFTOptions
	// OnRealServer, when set, hears every real server going up or down,
	// from the health monitor's goroutine: it must not block.
	OnRealServer func(RealServerChange)
	// OnQuorum, when set, hears every virtual service gaining or losing its
	// quorum (quorum_hooks.go), outside the balancer's lock: it must not
	// block.
	OnQuorum func(QuorumChange)
}

// RealServerChange is one real server's health verdict changing.
type RealServerChange struct {
	Service    string // the virtual server's name (or its address)
	RealServer netip.AddrPort
	Up         bool
	Alert      bool // the real server's smtp_alert
}

// Balancer keeps a data plane in line with vrrpd's virtual_servers section,
// the health of the real servers and the VRRP state.
type Balancer struct {
	log      *slog.Logger
	plane    table.DataPlane
	sync     SyncDaemon
	clock    health.Clock
	interval time.Duration
	monitor  *health.Monitor
	kick     chan struct{}
	onRS     func(RealServerChange)
	onQuorum func(QuorumChange)
	metrics  *metrics
	roleMu   sync.Mutex // serializes applyRoles

	mu       sync.Mutex
	cfg      *Config
	specs    []vsSpec
	up       map[string]bool // health target ID -> up
	quorum   map[table.ServiceKey]quorum.State
	retiring map[table.ServiceKey]time.Duration
	drains   table.Drains
	master   map[string]bool // VRRP instance -> MASTER
	ifaces   map[table.ServiceKey]string
	lastErr  error
	lastRun  time.Time
}

// NewBalancer opens the data plane, checks that it can do what cfg asks
// for and prepares the health checks. Nothing is programmed until Run.
func NewBalancer(cfg *Config, opts Options) (*Balancer, error) {
	b := &Balancer{
		log:      opts.Logger,
		plane:    opts.Plane,
		sync:     opts.Sync,
		clock:    opts.Clock,
		interval: opts.ReconcileInterval,
		kick:     make(chan struct{}, 1),
		onRS:     opts.OnRealServer,
		onQuorum: opts.OnQuorum,
		up:       map[string]bool{},
		quorum:   map[table.ServiceKey]quorum.State{},
		retiring: map[table.ServiceKey]time.Duration{},
		drains:   table.Drains{},
		master:   map[string]bool{},
		ifaces:   map[table.ServiceKey]string{},
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.clock == nil {
		b.clock = health.SystemClock{}
	}
	if b.interval <= 0 {
		b.interval = DefaultReconcileInterval
	}
	if b.plane == nil {
		// The nftables DR rules hang off the VRRP instance's interface.
		opts.NFTables.DRInterface = b.drInterface
		name := opts.DataPlane
		if name == "" {
			name = cfg.Dataplane
		}
		p, err := openPlane(name, opts.NFTables)
		if err != nil {
			return nil, err
		}
		b.plane = p
	}
	if err := b.check(cfg); err != nil {
		return nil, err
	}
	if b.sync == nil && cfg.Sync != nil && b.plane.Name() == "ipvs" {
		c, err := syncd.Dial()
		if err != nil {
			return nil, fmt.Errorf("ipvs: lvs_sync: %w", err)
		}
		b.sync = c
	}
	b.metrics = newMetrics(b)
	b.monitor = health.NewMonitor(health.MonitorConfig{Clock: b.clock, OnUpdate: b.onHealth})
	if err := b.install(cfg); err != nil {
		return nil, err
	}
	return b, nil
}

// DataPlaneName is the name of the data plane in use: "ipvs" or "nftables".
func (b *Balancer) DataPlaneName() string { return b.plane.Name() }

// check rejects a configuration the data plane cannot program.
func (b *Balancer) check(cfg *Config) error {
	var errs []error
	for _, s := range specs(cfg) {
		if err := b.plane.Supports(s.svc); err != nil {
			errs = append(errs, fmt.Errorf("virtual server %q: %s data plane: %w", s.name, b.plane.Name(), err))
		}
	}
	if cfg.Sync != nil && b.plane.Name() == "nftables" {
		errs = append(errs, fmt.Errorf("lvs_sync: the nftables data plane has no connection-sync daemon: %w", ErrUnsupported))
	}
	return errors.Join(errs...)
}

// install makes cfg current: health targets added, replaced or removed, and
// services that left the configuration marked for retirement.
func (b *Balancer) install(cfg *Config) error {
	newSpecs := specs(cfg)
	wantIDs := map[string]rsSpec{}
	for _, s := range newSpecs {
		for _, r := range s.reals {
			wantIDs[r.id] = r
		}
	}
	for id, r := range wantIDs {
		t, ok, err := r.target()
		if err != nil {
			return fmt.Errorf("ipvs: health check of %s: %w", id, err)
		}
		if !ok {
			continue
		}
		if err := b.monitor.Add(t); err != nil {
			return fmt.Errorf("ipvs: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	newKeys := map[table.ServiceKey]bool{}
	for _, s := range newSpecs {
		newKeys[s.svc.ServiceKey] = true
		delete(b.retiring, s.svc.ServiceKey)
	}
	for _, s := range b.specs {
		if !newKeys[s.svc.ServiceKey] {
			b.retiring[s.svc.ServiceKey] = s.drain
			delete(b.quorum, s.svc.ServiceKey)
		}
		for _, r := range s.reals {
			nr, still := wantIDs[r.id]
			if !still || nr.check == nil {
				b.monitor.Remove(r.id)
			}
			if !still {
				delete(b.up, r.id)
			}
		}
	}
	for id, r := range wantIDs {
		if _, known := b.up[id]; !known || r.check == nil {
			// A real server without a check is always up; a new one
			// starts as configured (initially_up, keepalived's alpha).
			b.up[id] = r.check == nil || r.initial == health.Up
		}
	}
	b.cfg, b.specs = cfg, newSpecs
	for _, s := range newSpecs {
		b.ifaces[s.svc.ServiceKey] = cfg.Interfaces[s.instance]
	}
	return nil
}

// drInterface is the interface of the VRRP instance of the service k.
func (b *Balancer) drInterface(k table.ServiceKey) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ifaces[k]
}

// Reload applies a new configuration: only the difference is programmed,
// health state of unchanged real servers is kept, and removed real servers
// and services are drained. On error the old configuration stays.
func (b *Balancer) Reload(cfg *Config) error {
	if err := b.check(cfg); err != nil {
		return err
	}
	if err := b.install(cfg); err != nil {
		return err
	}
	b.trigger()
	return nil
}

// VRRPStateChanged tells the balancer that instance became MASTER (master)
// or left it. The sync daemon follows lvs_sync.instance; the nftables data
// plane answers for a service only while its instance is MASTER.
//
// A role-aware data plane is switched before VRRPStateChanged returns, so
// that vrrpd can call it before it adds the virtual addresses: the first
// packet to a new master's VIP then already finds the rules.
func (b *Balancer) VRRPStateChanged(instance string, master bool) {
	b.mu.Lock()
	b.master[instance] = master
	b.mu.Unlock()
	if err := b.applyRoles(); err != nil {
		b.log.Warn("switch standby services", "instance", instance, "master", master, "err", err)
	}
	b.trigger()
}

// applyRoles tells a role-aware data plane which services are on standby.
// The set is computed inside roleMu, so a reconcile round that started
// before a role change cannot put back the old set after it.
func (b *Balancer) applyRoles() error {
	ra, ok := b.plane.(table.RoleAware)
	if !ok {
		return nil
	}
	b.roleMu.Lock()
	defer b.roleMu.Unlock()
	b.mu.Lock()
	var standby []table.ServiceKey
	for _, s := range b.specs {
		if s.instance != "" && !b.master[s.instance] {
			standby = append(standby, s.svc.ServiceKey)
		}
	}
	b.mu.Unlock()
	return ra.SetStandby(standby)
}

func (b *Balancer) onHealth(u health.Update) {
	b.mu.Lock()
	b.up[u.ID] = u.State == health.Up
	var change *RealServerChange
	for _, s := range b.specs {
		for _, r := range s.reals {
			if r.id == u.ID {
				change = &RealServerChange{Service: s.name, RealServer: r.dest.Address, Up: u.State == health.Up, Alert: r.alert}
			}
		}
	}
	b.mu.Unlock()
	if change != nil && b.onRS != nil {
		b.onRS(*change)
	}
	b.log.Info("real server health", "target", u.ID, "state", u.State.String(), "reason", u.Reason)
	b.metrics.healthChanges.WithLabelValues(u.State.String()).Inc()
	b.trigger()
}

func (b *Balancer) trigger() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Run checks the real servers and reconciles the data plane until ctx ends.
// It then returns, leaving the kernel's table and the sync daemon as they
// are: a restarting vrrpd does not disturb established traffic.
func (b *Balancer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.monitor.Run(ctx) }()
	timer := b.clock.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case err := <-done:
			return fmt.Errorf("ipvs: health monitor: %w", err)
		case <-b.kick:
		case <-timer.C():
		}
		b.Reconcile()
		timer.Reset(b.interval)
	}
}

// Reconcile runs one round: compute the desired state, read the data
// plane, apply the difference. Run calls it; tests may call it directly.
func (b *Balancer) Reconcile() error {
	now := b.clock.Now()
	want, syncWant := b.desired()
	err := b.reconcile(now, want, syncWant)
	b.mu.Lock()
	b.lastErr, b.lastRun = err, now
	b.mu.Unlock()
	if err != nil {
		b.metrics.reconcileErrors.Inc()
		b.log.Warn("reconcile failed; retrying", "err", err)
	}
	return err
}

// readPlane reads the data plane's services, with connection counts when
// counts is set or the data plane has them for free.
func (b *Balancer) readPlane(counts bool) ([]table.ServiceState, error) {
	if m, ok := b.plane.(table.CountsOnDemand); ok && !counts {
		return m.Model()
	}
	return b.plane.Services()
}

func (b *Balancer) reconcile(now time.Time, want table.Desired, syncWant *syncd.Daemon) error {
	var errs []error
	if err := b.applyRoles(); err != nil {
		errs = append(errs, fmt.Errorf("set standby services: %w", err))
	}
	b.mu.Lock()
	drains := b.drains
	b.mu.Unlock()
	actual, err := b.readPlane(len(drains) > 0)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	ops, next := table.Plan(now, want, actual, drains)
	if len(ops) > 0 {
		for _, op := range ops {
			b.log.Info("data plane change", "plane", b.plane.Name(), "op", op.String())
			b.metrics.ops.WithLabelValues(op.Kind.String()).Inc()
		}
		if err := b.plane.Apply(ops); err != nil {
			errs = append(errs, err)
		}
	}
	b.mu.Lock()
	b.drains = next
	// A retiring service that is gone from the data plane is done.
	for k := range b.retiring {
		if !slices.ContainsFunc(actual, func(s table.ServiceState) bool { return s.ServiceKey == k }) {
			delete(b.retiring, k)
		}
	}
	b.mu.Unlock()
	if b.sync != nil {
		if err := b.sync.Ensure(syncWant); err != nil {
			errs = append(errs, fmt.Errorf("sync daemon: %w", err))
		}
	}
	return errors.Join(errs...)
}

// desired computes the target state from config and health, and the sync
// daemon from the VRRP role.
func (b *Balancer) desired() (table.Desired, *syncd.Daemon) {
	var changes []QuorumChange
	defer b.reportQuorum(&changes) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	want := table.Desired{
		DrainTimeout: map[table.ServiceKey]time.Duration{},
		Retiring:     map[table.ServiceKey]time.Duration{},
	}
	up := func(id string) bool { return b.up[id] }
	for _, s := range b.specs {
		svc, dec := s.desired(up, b.quorum[s.svc.ServiceKey])
		if dec.Changed && b.quorum[s.svc.ServiceKey] != quorum.Unknown {
			b.log.Info("virtual server quorum", "service", s.name, "quorum", dec.Quorum.String(), "up_weight", dec.UpWeight)
			changes = append(changes, s.quorumChange(dec.Quorum))
		}
		b.quorum[s.svc.ServiceKey] = dec.Quorum
		want.Services = append(want.Services, svc)
		want.DrainTimeout[s.svc.ServiceKey] = s.drain
	}
	for k, d := range b.retiring {
		want.Retiring[k] = d
	}
	var sd *syncd.Daemon
	if s := b.cfg.Sync; s != nil {
		sd = &syncd.Daemon{Role: syncd.Backup, Interface: s.Interface, SyncID: s.SyncID}
		if b.master[s.Instance] {
			sd.Role = syncd.Master
		}
	}
	return want, sd
}

package router

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// InstanceConfig is one virtual router as the runtime runs it.
type InstanceConfig struct {
	Name      string
	Interface string
	// Machine configures the state machine; Machine.PrimaryAddr is also the
	// source address of our adverts.
	Machine vrrp.MachineConfig
	VIPs    []netip.Prefix
	// Peers switches to unicast adverts; adverts from other sources are
	// dropped as DropUnknownPeer. Empty means the multicast group.
	Peers []netip.Addr
	// Checksum is the form of the IPv4 VRRPv3 checksum we send. Received
	// IPv4 VRRPv3 adverts must use it too (DropChecksumForm), unless
	// ChecksumLenient accepts both forms. VRRPv2 and IPv6 have one form.
	Checksum        vrrp.ChecksumForm
	ChecksumLenient bool
	// V2Compat is the VRRPv2 compatibility of RFC 5798 §8.4.2 for a VRRPv3
	// IPv4 instance: as Master it sends a VRRPv2 advert after each VRRPv3
	// one, as Backup it also obeys VRRPv2 Masters (their interval in
	// seconds), ignoring the VRRPv2 adverts of a Master it hears in VRRPv3.
	// The interval must be whole seconds, as VRRPv2 carries it.
	V2Compat bool
	// Auth is the authentication of our VRRPv2 adverts (RFC 3768 §5.3.6),
	// for version 2 or V2Compat only. Received VRRPv2 adverts must carry
	// the same (DropAuthType, DropAuthPassword); VRRPv3 has none.
	Auth       vrrp.Auth
	Gratuitous Gratuitous
}

// PacketSender sends one VRRP message; Conn and Demux implement it.
type PacketSender interface {
	WritePacket(payload []byte, src, dst netip.Addr) error
}

// InstanceDeps are the kernel-facing parts an instance drives.
type InstanceDeps struct {
	Sender    PacketSender
	Addrs     AddrManager
	Announcer Announcer
	// Now is the clock; nil means time.Now. Timers always run in real time
	// in Run; tests drive the handlers with their own times.
	Now func() time.Time
	// OnEvent receives every event (transitions, VIP changes, errors). It is
	// called on the instance's goroutine and must not block.
	OnEvent func(InstanceEvent)
	Logger  *slog.Logger // nil: discard
	// RealtimePriority > 0 runs the loop on a locked OS thread with
	// SCHED_RR at this priority (Linux).
	RealtimePriority int
	// Pending, when set, reports whether received packets are waiting in
	// the socket or the demultiplexer. A Backup whose Master_Down_Timer
	// fires while packets wait was starved, not abandoned: it lets them
	// through before deciding to take over (see handleTimer).
	Pending func() bool
	// OnRole, when set, is called on the loop with true just before the
	// virtual addresses are added, and with false just after they are
	// removed, so that a data plane that serves only on the Master (the
	// balancer) is ready before the first packet and stops after the last.
	OnRole func(master bool)
	// OnAddresses, when set, is called on the loop with true after the
	// virtual addresses are added, and with false before they are removed
	// (also at start-up and exit, for what a previous run left), so that
	// routes naming a virtual address follow it (vrrp/vroute).
	OnAddresses func(held bool)
}

// InstanceEvent is one entry of the structured event stream.
type InstanceEvent struct {
	Time     time.Time `json:"time"`
	Instance string    `json:"instance"`
	Kind     string    `json:"kind"` // transition, priority, vip_added, vip_removed, neighbors_flushed, error
	From     string    `json:"from,omitempty"`
	To       string    `json:"to,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Priority uint8     `json:"priority"`
	Detail   string    `json:"detail,omitempty"`
}

// received is one accepted advert on its way to the instance loop.
type received struct {
	adv *vrrp.Advert
	src netip.Addr
}

// Instance runs one virtual router: it feeds its Machine with adverts, timer
// expiries and tracker changes, and executes the Machine's actions against
// the kernel interfaces. The fields marked loop-owned belong to the loop
// goroutine alone; other goroutines reach them only through Deliver and the
// mailbox (post). The rest are safe for any goroutine: atomics, mu and what
// is set once by NewInstance.
type Instance struct {
	cfg   InstanceConfig
	deps  InstanceDeps
	m     *vrrp.Machine
	stats InstanceStats

	rx   chan received
	mu   sync.Mutex // guards mail
	mail []func(now time.Time)
	sig  chan struct{}

	// Loop-owned state.
	basePrio    uint8
	tracks      map[string]TrackResult
	ownFault    bool // from trackers
	groupFault  bool // from the sync group
	held        bool // we added the VIPs and have not removed them
	ann         announceSched
	lastSendLog time.Time
	adv         vrrp.Advert
	buf         []byte
	masterAddr  netip.Addr
	lastChange  time.Time
	lastReason  string
	stopping    bool
	group       *SyncGroup

	status atomic.Pointer[Status]
	dlog   dropLog
	// Loop-owned: the last VRRPv3 sender, for V2Compat.
	lastV3Src netip.Addr
	lastV3At  time.Time
	adv2      vrrp.Advert // the VRRPv2 twin of adv, for V2Compat
	// version is the VRRP version spoken; set once, read by the receive
	// checks on the demultiplexer's goroutine.
	version uint8
	// rxInterval is the configured interval for the receive checks, which
	// run on the demultiplexer's goroutine.
	rxInterval atomic.Int64
}

// NewInstance builds an instance; Run starts it.
func NewInstance(cfg InstanceConfig, deps InstanceDeps) (*Instance, error) {
	if cfg.Name == "" || cfg.Interface == "" {
		return nil, fmt.Errorf("vrrp: new instance %q: name and interface are required: %w", cfg.Name, vrrp.ErrConfig)
	}
	if len(cfg.VIPs) == 0 || len(cfg.VIPs) > 255 {
		return nil, fmt.Errorf("vrrp: new instance %q: %d virtual addresses, want 1-255: %w", cfg.Name, len(cfg.VIPs), vrrp.ErrConfig)
	}
	if deps.Sender == nil || deps.Addrs == nil || deps.Announcer == nil {
		return nil, fmt.Errorf("vrrp: new instance %q: sender, address manager and announcer are required: %w", cfg.Name, vrrp.ErrConfig)
	}
	m, err := vrrp.NewMachine(cfg.Machine)
	if err != nil {
		return nil, fmt.Errorf("vrrp: new instance %q: %w", cfg.Name, err)
	}
	if cfg.V2Compat && (m.Config().Version != vrrp.Version3 || !cfg.Machine.PrimaryAddr.Unmap().Is4() || !vrrp.ValidAdvertIntervalV2(cfg.Machine.AdvertInterval)) {
		return nil, fmt.Errorf("vrrp: new instance %q: VRRPv2 compatibility needs version 3, IPv4 and whole-second intervals: %w", cfg.Name, vrrp.ErrConfig)
	}
	if err := checkAuth(&cfg, m.Config().Version); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.OnEvent == nil {
		deps.OnEvent = func(InstanceEvent) {}
	}
	in := &Instance{
		cfg:      cfg,
		deps:     deps,
		m:        m,
		rx:       make(chan received, 64),
		sig:      make(chan struct{}, 1),
		basePrio: cfg.Machine.Priority,
		tracks:   map[string]TrackResult{},
		ann:      announceSched{cfg: cfg.Gratuitous},
		buf:      make([]byte, 0, vrrp.HeaderLen+16*len(cfg.VIPs)),
	}
	in.dlog.log = deps.Logger
	in.rxInterval.Store(int64(cfg.Machine.AdvertInterval))
	in.adv = vrrp.Advert{Version: m.Config().Version, Type: vrrp.TypeAdvertisement, VRID: cfg.Machine.VRID, MaxAdvertInt: cfg.Machine.AdvertInterval}
	for _, p := range cfg.VIPs {
		in.adv.Addresses = append(in.adv.Addresses, p.Addr())
	}
	in.version = in.adv.Version
	if in.version == vrrp.Version2 {
		in.adv.AuthType, in.adv.AuthData = cfg.Auth.Type, cfg.Auth.Data
	}
	in.adv2 = in.adv
	in.adv2.Version = vrrp.Version2
	in.adv2.AuthType, in.adv2.AuthData = cfg.Auth.Type, cfg.Auth.Data
	in.publish()
	return in, nil
}

// checkAuth refuses an authentication VRRPv2 adverts would not carry, or
// one we do not implement.
func checkAuth(cfg *InstanceConfig, v uint8) error {
	switch {
	case cfg.Auth.Type != vrrp.AuthNone && cfg.Auth.Type != vrrp.AuthPass:
		return fmt.Errorf("vrrp: new instance %q: auth type %d: only none (0) and simple text password (1) are supported (RFC 3768 removed AH): %w", cfg.Name, cfg.Auth.Type, vrrp.ErrConfig)
	case cfg.Auth.Type == vrrp.AuthNone && cfg.Auth.Data != [vrrp.V2AuthLen]byte{}:
		return fmt.Errorf("vrrp: new instance %q: authentication data without an auth type: %w", cfg.Name, vrrp.ErrConfig)
	case cfg.Auth.Type != vrrp.AuthNone && v != vrrp.Version2 && !cfg.V2Compat:
		return fmt.Errorf("vrrp: new instance %q: authentication needs VRRPv2 adverts (version 2 or v2_compat): %w", cfg.Name, vrrp.ErrConfig)
	}
	return nil
}

// Name returns the instance name.
func (in *Instance) Name() string { return in.cfg.Name }

// Config returns the configuration the instance was built with.
func (in *Instance) Config() InstanceConfig { return in.cfg }

// Stats returns the live counters.
func (in *Instance) Stats() *InstanceStats { return &in.stats }

// post queues f to run on the loop goroutine. It never blocks, so
// instances of a sync group can post to each other freely.
func (in *Instance) post(f func(now time.Time)) {
	in.mu.Lock()
	in.mail = append(in.mail, f)
	in.mu.Unlock()
	select {
	case in.sig <- struct{}{}:
	default:
	}
}

func (in *Instance) drainMail(now time.Time) {
	in.mu.Lock()
	mail := in.mail
	in.mail = nil
	in.mu.Unlock()
	for _, f := range mail {
		f(now)
	}
}

// SetMaintenance puts the instance into maintenance (a Master hands over
// gracefully and the instance stays Backup) or takes it out.
func (in *Instance) SetMaintenance(on bool) {
	in.post(func(now time.Time) { in.step(now, vrrp.MaintenanceChanged{On: on}) })
}

// SetTrack records the result of one tracker and recomputes the effective
// priority and fault.
func (in *Instance) SetTrack(r TrackResult) {
	in.post(func(now time.Time) { in.setTrack(now, r) })
}

// RemoveTrack forgets a tracker (after a reload dropped it).
func (in *Instance) RemoveTrack(key string) {
	in.post(func(now time.Time) {
		delete(in.tracks, key)
		in.recompute(now)
	})
}

// SetBasePriority changes the configured priority (a reload).
func (in *Instance) SetBasePriority(p uint8) {
	in.post(func(now time.Time) {
		in.basePrio = p
		in.recompute(now)
	})
}

// SetAdvertInterval changes Advertisement_Interval in place (a reload): a
// Master keeps its role and advertises the new interval at once.
func (in *Instance) SetAdvertInterval(d time.Duration) {
	in.post(func(now time.Time) {
		if in.cfg.V2Compat && !vrrp.ValidAdvertIntervalV2(d) {
			return // its VRRPv2 adverts could not carry it
		}
		old := in.adv.MaxAdvertInt
		in.adv.MaxAdvertInt = d // the advert the machine sends at once carries it
		in.step(now, vrrp.IntervalChanged{Interval: d})
		if in.m.Config().AdvertInterval != d { // invalid: the machine kept the old one
			in.adv.MaxAdvertInt = old
			return
		}
		in.cfg.Machine.AdvertInterval = d
		in.rxInterval.Store(int64(d))
		in.publish()
	})
}

// SetGratuitous changes the announcement schedule (a reload); it applies
// from the next takeover.
func (in *Instance) SetGratuitous(g Gratuitous) {
	in.post(func(time.Time) {
		in.cfg.Gratuitous = g
		in.ann.cfg = g
	})
}

// ---- the loop's handlers; tests call them directly with explicit times ----

// start removes addresses a previous run may have left (a crashed vrrpd
// must not leave a stale VIP behind) and starts the machine.
func (in *Instance) start(now time.Time) {
	in.removeVIPs(now, true)
	in.recompute(now)
	in.step(now, vrrp.Startup{})
}

// handleAdvert steps the machine with an accepted advert.
func (in *Instance) handleAdvert(now time.Time, r received) {
	if in.cfg.V2Compat && in.v2Duplicate(now, r) {
		in.drop(vrrp.DropV2Duplicate, r.src, r.adv)
		return
	}
	in.stats.AdvertsReceived.Add(1)
	prev := in.m.State()
	in.step(now, vrrp.AdvertReceived{Advert: r.adv, Src: r.src})
	// The sender is the Master we obey unless we stayed Master and ignored
	// it (a lower priority router, RFC 5798 §6.4.3).
	if r.adv.Priority > 0 && in.m.State() != vrrp.Master && in.masterAddr != r.src {
		in.masterAddr = r.src
		defer in.publish() // rare: only when the Master changes
	}
	if prev == vrrp.Master && r.adv.Priority > 0 {
		in.stats.DualMaster.Add(1) // two routers advertised as Master at once
	}
}

// handleTimer runs whatever is due at now: the machine's timers (the RFC
// 5798 timer, a deferred takeover's next look, a hand-over hold) and the
// announcements.
func (in *Instance) handleTimer(now time.Time) {
	if d := in.m.Deadline(); !d.IsZero() && !now.Before(d) {
		// Only a Backup looks at Pending: no syscall on a Master's every advert.
		pending := in.m.State() == vrrp.Backup && in.deps.Pending != nil && in.deps.Pending()
		t := in.m.TimerDeadline()
		acts := in.m.Step(now, vrrp.TimerExpired{Pending: pending})
		if !t.IsZero() && !now.Before(t) && !in.m.TimerDeadline().Equal(t) {
			// The RFC timer ran (it was re-armed or stopped), not deferred.
			in.stats.Lateness.Observe(now.Sub(t))
		}
		in.exec(now, acts)
	}
	in.fireAnnouncements(now)
}

// nextWake is the earliest time handleTimer has work; zero for none.
func (in *Instance) nextWake() time.Time {
	w, a := in.m.Deadline(), in.ann.due()
	if w.IsZero() || (!a.IsZero() && a.Before(w)) {
		return a
	}
	return w
}

// shutdown starts leaving: a Master sends priority 0 and keeps its
// addresses until the new Master advertises or the hold expires.
func (in *Instance) shutdown(now time.Time) {
	in.stopping = true
	in.step(now, vrrp.Shutdown{})
}

// done reports whether a stopping instance may exit.
func (in *Instance) done() bool { return in.stopping && !in.held }

func (in *Instance) step(now time.Time, ev vrrp.Event) {
	in.exec(now, in.m.Step(now, ev))
}

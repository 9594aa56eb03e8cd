package router

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/internal/procexec"
)

// NotifySpec names the hook commands of an instance or sync group; each is
// run with three more arguments: name, state (MASTER, BACKUP, FAULT, INIT)
// and priority (keepalived's notify_master/backup/fault/stop and notify).
type NotifySpec struct {
	Master, Backup, Fault, Stop, Any []string
}

func (s NotifySpec) forState(state string) []string {
	switch state {
	case "MASTER":
		return s.Master
	case "BACKUP":
		return s.Backup
	case "FAULT":
		return s.Fault
	case "INIT":
		return s.Stop
	}
	return nil
}

// Notifier runs notify commands off the instances' loops, one at a time and
// in event order, each bounded by a timeout that kills its process group. A
// slow hook delays later hooks, never a state machine; when its queue is
// full, events are dropped and counted.
type Notifier struct {
	timeout time.Duration
	log     *slog.Logger
	queue   chan InstanceEvent
	Dropped atomic.Uint64
	Failed  atomic.Uint64
	Runs    atomic.Uint64 // commands run

	mu      sync.Mutex
	inst    map[string]NotifySpec
	groups  map[string]notifyGroup
	states  map[string]string // last state per instance
	gstates map[string]string // last state per group

	// exec runs one command; tests replace it.
	exec func(ctx context.Context, argv []string) error
}

type notifyGroup struct {
	members []string
	spec    NotifySpec
}

// NewNotifier returns a notifier; log may be nil.
func NewNotifier(timeout time.Duration, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		timeout: timeout, log: log, queue: make(chan InstanceEvent, 256),
		inst: map[string]NotifySpec{}, groups: map[string]notifyGroup{},
		states: map[string]string{}, gstates: map[string]string{},
		exec: func(ctx context.Context, argv []string) error { return (&procexec.Command{Argv: argv}).Run(ctx) },
	}
}

// SetTimeout changes the bound on each command.
func (n *Notifier) SetTimeout(d time.Duration) {
	if d <= 0 {
		return
	}
	n.mu.Lock()
	n.timeout = d
	n.mu.Unlock()
}

// SetInstance sets (or, with a zero spec, clears) an instance's hooks.
func (n *Notifier) SetInstance(name string, s NotifySpec) {
	n.mu.Lock()
	n.inst[name] = s
	n.mu.Unlock()
}

// SetGroup sets a sync group's members and hooks; group hooks run when all
// members have reached the same state.
func (n *Notifier) SetGroup(name string, members []string, s NotifySpec) {
	n.mu.Lock()
	n.groups[name] = notifyGroup{members, s}
	n.mu.Unlock()
}

// Reset forgets every instance and group (before a reload re-adds them);
// the last known states are kept.
func (n *Notifier) Reset() {
	n.mu.Lock()
	n.inst = map[string]NotifySpec{}
	n.groups = map[string]notifyGroup{}
	n.mu.Unlock()
}

// Event queues ev; only transitions run hooks. It never blocks.
func (n *Notifier) Event(ev InstanceEvent) {
	if ev.Kind != "transition" {
		return
	}
	select {
	case n.queue <- ev:
	default:
		n.Dropped.Add(1)
	}
}

// Run runs hooks until ctx is done, then runs those already queued.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case ev := <-n.queue:
			n.handle(ev)
		case <-ctx.Done():
			for {
				select {
				case ev := <-n.queue:
					n.handle(ev)
				default:
					return
				}
			}
		}
	}
}

func (n *Notifier) handle(ev InstanceEvent) {
	n.mu.Lock()
	spec := n.inst[ev.Instance]
	n.states[ev.Instance] = ev.To
	var gname string
	var gspec NotifySpec
	for name, g := range n.groups {
		for _, m := range g.members {
			if m != ev.Instance {
				continue
			}
			all := true
			for _, o := range g.members {
				if n.states[o] != ev.To {
					all = false
				}
			}
			if all && n.gstates[name] != ev.To {
				n.gstates[name] = ev.To
				gname, gspec = name, g.spec
			}
		}
	}
	n.mu.Unlock()
	prio := strconv.Itoa(int(ev.Priority))
	n.run(spec.forState(ev.To), ev.Instance, ev.To, prio)
	n.run(spec.Any, ev.Instance, ev.To, prio)
	if gname != "" {
		n.run(gspec.forState(ev.To), gname, ev.To, "0")
		n.run(gspec.Any, gname, ev.To, "0")
	}
}

func (n *Notifier) run(cmd []string, name, state, prio string) {
	if len(cmd) == 0 {
		return
	}
	argv := append(append([]string(nil), cmd...), name, state, prio)
	n.mu.Lock()
	timeout := n.timeout
	n.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n.Runs.Add(1)
	if err := n.exec(ctx, argv); err != nil {
		n.Failed.Add(1)
		n.log.Warn("notify command failed", "command", argv, "err", err)
	}
}

// Bus is the structured event stream: every instance event goes to every
// subscriber (vrrpctl events) without blocking the publisher; a subscriber
// that does not keep up loses events and is told how many.
type Bus struct {
	mu   sync.Mutex
	subs map[*BusSub]struct{}
}

// BusSub is one subscription.
type BusSub struct {
	C       chan InstanceEvent
	Dropped atomic.Uint64
}

// NewBus returns a bus without subscribers.
func NewBus() *Bus { return &Bus{subs: map[*BusSub]struct{}{}} }

// Subscribe adds a subscriber with a queue of n events.
func (b *Bus) Subscribe(n int) *BusSub {
	s := &BusSub{C: make(chan InstanceEvent, n)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe removes s.
func (b *Bus) Unsubscribe(s *BusSub) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Publish sends ev to every subscriber that has room.
func (b *Bus) Publish(ev InstanceEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.C <- ev:
		default:
			s.Dropped.Add(1)
		}
	}
}

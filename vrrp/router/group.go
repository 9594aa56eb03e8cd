package router

import (
	"sync"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// SyncGroup makes instances fail over together (keepalived's
// vrrp_sync_group): when one member faults the others fault too; when one
// leaves Master the others step down; when one becomes Master the others
// take over as well. Transitions the group itself caused (reason
// ReasonSyncGroup) are not propagated again, so the group cannot loop.
type SyncGroup struct {
	name string

	mu      sync.Mutex
	members []*Instance
	faulty  map[*Instance]bool // members whose own trackers fault
}

// NewSyncGroup returns an empty group.
func NewSyncGroup(name string) *SyncGroup {
	return &SyncGroup{name: name, faulty: map[*Instance]bool{}}
}

// Name returns the group's name.
func (g *SyncGroup) Name() string { return g.name }

// Join adds in to the group; call it before in runs.
func (g *SyncGroup) Join(in *Instance) {
	g.mu.Lock()
	defer g.mu.Unlock()
	in.group = g
	g.members = append(g.members, in)
	in.publish()
}

// Leave removes in (a reload dropped it) and clears the fault it imposed.
func (g *SyncGroup) Leave(in *Instance) {
	g.mu.Lock()
	for i, m := range g.members {
		if m == in {
			g.members = append(g.members[:i], g.members[i+1:]...)
			break
		}
	}
	delete(g.faulty, in)
	g.mu.Unlock()
	g.pushFault()
}

// Members returns the member names.
func (g *SyncGroup) Members() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n []string
	for _, m := range g.members {
		n = append(n, m.cfg.Name)
	}
	return n
}

// memberFault is called on in's loop when its own fault changes.
func (g *SyncGroup) memberFault(in *Instance, fault bool) {
	g.mu.Lock()
	if fault {
		g.faulty[in] = true
	} else {
		delete(g.faulty, in)
	}
	g.mu.Unlock()
	g.pushFault()
}

// pushFault tells every member whether some *other* member faults.
func (g *SyncGroup) pushFault() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		other := false
		for f := range g.faulty {
			if f != m {
				other = true
			}
		}
		m.post(func(now time.Time) { m.setGroupFault(now, other) })
	}
}

// memberTransition is called on in's loop for each of its transitions.
func (g *SyncGroup) memberTransition(in *Instance, t vrrp.Transition) {
	if t.Reason == vrrp.ReasonSyncGroup || t.Reason == vrrp.ReasonShutdown {
		return
	}
	var ev vrrp.Event
	switch {
	case t.From == vrrp.Master && t.To == vrrp.Backup:
		ev = vrrp.ForceBackup{}
	case t.To == vrrp.Master:
		ev = vrrp.ForceMaster{}
	default:
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		if m != in {
			m.post(func(now time.Time) { m.step(now, ev) })
		}
	}
}

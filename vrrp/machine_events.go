package vrrp

import "time"

import "net/netip"

// Event is an input to Machine.Step.
type Event interface{ isEvent() }

// Startup starts the router (RFC 5798 §6.4.1): the address owner (priority
// 255) becomes Master at once, every other router becomes Backup.
type Startup struct{}

// Shutdown stops the router (RFC 5798 §6.4.2/§6.4.3): a Master sends one
// advert with priority 0 so a Backup takes over after Skew_Time, then every
// state returns to Initialize.
type Shutdown struct{}

// TimerExpired must be delivered when now >= Machine.Deadline(). Pending
// reports that received packets wait in the socket or the runtime's queue,
// not yet delivered: a Backup whose Master_Down_Timer is due then waits for
// them, because the silence may be its own starvation rather than the
// Master's death (see Machine.deferTakeover). Only a Backup looks at it.
type TimerExpired struct{ Pending bool }

// AdvertReceived carries an advert that already passed ParseAdvert and the
// TTL, VRID and peer checks. Src is the IP source (the sender's primary
// address), used for the equal-priority tie-break.
type AdvertReceived struct {
	Advert *Advert
	Src    netip.Addr
}

// PriorityChanged sets the effective priority computed from trackers: 1..254
// (already clamped), or 255 for the address owner.
type PriorityChanged struct{ Priority uint8 }

// FaultChanged enters (Fault true) or leaves the Fault state: a weight-0
// tracker failed, or a sync group sibling is in Fault. A Master resigns with
// priority 0 and removes its addresses; no adverts are sent or obeyed while
// in Fault. Recovery behaves like Startup (Backup, or Master at once for the
// address owner).
type FaultChanged struct{ Fault bool }

// MaintenanceChanged puts the router in maintenance (On true) or takes it
// out. In maintenance a Master hands over gracefully (one priority 0 advert,
// addresses removed) and the router stays Backup: it never preempts and never
// takes over, even when its Master_Down_Timer would fire. Leaving maintenance
// restarts the Master_Down_Timer as in §6.4.1.
type MaintenanceChanged struct{ On bool }

// ForceBackup makes a Master step down because a sync group sibling left
// Master: it sends priority 0 and becomes Backup. From then on (and at once
// if it already was Backup) it obeys any Master, as with Preempt_Mode off,
// until it becomes Master again (its Master_Down_Timer fires, or
// ForceMaster) or restarts. Otherwise a higher-priority member would preempt
// the peer it just yielded to, force its siblings to follow, and the group
// would flap every Master_Down_Interval. No effect in Initialize and Fault.
type ForceBackup struct{}

// ForceMaster makes a Backup take over because a sync group sibling became
// Master, as if its Master_Down_Timer had fired. No effect in maintenance, in
// Fault or in other states.
type ForceMaster struct{}

// IntervalChanged sets Advertisement_Interval in place (a reload). RFC 5798
// lets a Master change it at any time: a Backup learns it from the next
// advert as Master_Adver_Interval (§6.4.2). A Master therefore sends one
// advert with the new interval at once, so that no Backup times out on the
// old one if the new one is longer. The interval must be valid for the
// machine's version; an invalid one is ignored.
type IntervalChanged struct{ Interval time.Duration }

func (IntervalChanged) isEvent()    {}
func (Startup) isEvent()            {}
func (Shutdown) isEvent()           {}
func (TimerExpired) isEvent()       {}
func (AdvertReceived) isEvent()     {}
func (PriorityChanged) isEvent()    {}
func (FaultChanged) isEvent()       {}
func (MaintenanceChanged) isEvent() {}
func (ForceBackup) isEvent()        {}
func (ForceMaster) isEvent()        {}

// Action is an output of Machine.Step; the caller executes them in order.
type Action interface{ isAction() }

// SendAdvert asks for one advert with this priority (0 when resigning).
type SendAdvert struct{ Priority uint8 }

// TakeOver asks to add the virtual addresses and send gratuitous ARP /
// unsolicited NA for them (RFC 5798 §6.4.1/§6.4.2).
type TakeOver struct{}

// Release asks to remove the virtual addresses. A resigning Master gets it
// after a hand-over hold (MachineConfig.HandOverHold), not with its
// priority 0 advert: at the new Master's first advert (which comes after
// that Master added and announced the addresses) or when the hold expires,
// whichever is first.
type Release struct{}

// Announce asks for one more burst of gratuitous ARP / unsolicited NA for
// the addresses a Master holds: another router advertised as Master (a
// healed split brain, a Backup that did not hear us in time, a Master
// resigning as it yields to us) and has announced them too, so hosts may
// follow it when it lets them go. At most once per Advertisement_Interval,
// so a flood of bad adverts cannot become a flood of announcements.
type Announce struct{}

// DeferredTakeover reports that a due Master_Down_Timer waits for queued
// packets (TimerExpired.Pending) instead of taking over at once; the
// runtime counts it. It comes once per wait, however often the machine
// looks again.
type DeferredTakeover struct{}

// Transition reports a state change; Reason is one of the Reason* constants.
type Transition struct {
	From, To State
	Reason   string
}

func (SendAdvert) isAction()       {}
func (TakeOver) isAction()         {}
func (Release) isAction()          {}
func (Transition) isAction()       {}
func (Announce) isAction()         {}
func (DeferredTakeover) isAction() {}

// Transition reasons, stable strings for logs, notify scripts and metrics.
const (
	ReasonStartup        = "startup"                // §6.4.1, not the owner
	ReasonOwner          = "address_owner"          // §6.4.1, priority 255
	ReasonMasterDown     = "master_down_timer"      // §6.4.2 Master_Down_Timer fired
	ReasonHigherPriority = "higher_priority_advert" // §6.4.3 a better Master exists
	ReasonShutdown       = "shutdown"               // §6.4.2/§6.4.3 Shutdown event
	ReasonFault          = "fault"                  // FaultChanged{true}
	ReasonFaultCleared   = "fault_cleared"          // FaultChanged{false}
	ReasonMaintenance    = "maintenance"            // MaintenanceChanged{true}
	ReasonSyncGroup      = "sync_group"             // ForceBackup / ForceMaster
)

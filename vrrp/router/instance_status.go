package router

import (
	"net/netip"
	"time"

	"github.com/hachat/hachat/vrrp"
)

// Status is a snapshot of one instance for vrrpctl status and the JSON API.
type Status struct {
	Name                string         `json:"name"`
	Interface           string         `json:"interface"`
	VRID                uint8          `json:"vrid"`
	Version             uint8          `json:"version"`             // VRRP version spoken: 3 or 2
	V2Compat            bool           `json:"v2_compat,omitempty"` // VRRPv3 sending VRRPv2 too (RFC 5798 §8.4.2)
	AuthType            uint8          `json:"auth_type,omitempty"` // VRRPv2 Auth Type sent and required (1: password); never the password
	State               string         `json:"state"`
	Priority            uint8          `json:"priority"`
	BasePriority        uint8          `json:"base_priority"`
	AdvertInterval      time.Duration  `json:"advert_interval_ns"`
	MasterAdverInterval time.Duration  `json:"master_adver_interval_ns"`
	MasterDownInterval  time.Duration  `json:"master_down_interval_ns"`
	Master              string         `json:"master,omitempty"` // our own address while Master, else the last Master heard
	VIPs                []netip.Prefix `json:"virtual_addresses"`
	HoldingVIPs         bool           `json:"holding_virtual_addresses"`
	Unicast             []netip.Addr   `json:"unicast_peers,omitempty"`
	Maintenance         bool           `json:"maintenance"`
	Fault               bool           `json:"fault"`
	GroupFault          bool           `json:"group_fault,omitempty"`
	Group               string         `json:"sync_group,omitempty"`
	Trackers            []TrackResult  `json:"trackers,omitempty"`
	LastTransition      time.Time      `json:"last_transition"`
	LastReason          string         `json:"last_reason,omitempty"`

	// Counters, read at Status time.
	AdvertsSent     uint64                     `json:"adverts_sent"`
	AdvertsReceived uint64                     `json:"adverts_received"`
	Drops           map[vrrp.DropReason]uint64 `json:"drops,omitempty"`
	// InterfaceDrops are the packets refused on the instance's interface
	// before they could be told apart by instance (TTL, checksum, length,
	// unknown VRID...). The interface's instances share them. The daemon
	// fills them in; Instance.Status leaves them empty.
	InterfaceDrops map[vrrp.DropReason]uint64 `json:"interface_drops,omitempty"`
	LatenessMax    time.Duration              `json:"timer_lateness_max_ns"`
	// TakeoversDeferred counts takeovers that waited because the loop had
	// been starved (vrrp.DeferredTakeover).
	TakeoversDeferred uint64 `json:"takeovers_deferred"`
	DualMaster        uint64 `json:"dual_master_adverts"`
}

// publish stores a fresh snapshot of the loop-owned state. It runs on state
// changes only, not per advert, to keep the hot path allocation-free.
func (in *Instance) publish() {
	s := &Status{
		Name:                in.cfg.Name,
		Interface:           in.cfg.Interface,
		VRID:                in.cfg.Machine.VRID,
		Version:             in.adv.Version,
		V2Compat:            in.cfg.V2Compat,
		AuthType:            in.cfg.Auth.Type,
		State:               in.m.State().String(),
		Priority:            in.m.EffectivePriority(),
		BasePriority:        in.basePrio,
		AdvertInterval:      in.cfg.Machine.AdvertInterval,
		MasterAdverInterval: in.m.MasterAdverInterval(),
		MasterDownInterval:  in.m.MasterDownInterval(),
		VIPs:                in.cfg.VIPs,
		HoldingVIPs:         in.held,
		Unicast:             in.cfg.Peers,
		Maintenance:         in.m.InMaintenance(),
		Fault:               in.ownFault,
		GroupFault:          in.groupFault,
		Trackers:            in.trackList(),
		LastTransition:      in.lastChange,
		LastReason:          in.lastReason,
	}
	switch {
	case in.m.State() == vrrp.Master:
		s.Master = in.cfg.Machine.PrimaryAddr.String() // we are; whatever else we heard
	case in.masterAddr.IsValid():
		s.Master = in.masterAddr.String()
	}
	if in.group != nil {
		s.Group = in.group.name
	}
	in.status.Store(s)
}

// Status returns the latest snapshot with current counters. Safe for
// concurrent use.
func (in *Instance) Status() Status {
	s := *in.status.Load()
	s.AdvertsSent = in.stats.AdvertsSent.Load()
	s.AdvertsReceived = in.stats.AdvertsReceived.Load()
	s.Drops = in.stats.Drops.Snapshot()
	_, _, _, s.LatenessMax = in.stats.Lateness.Snapshot()
	s.TakeoversDeferred = in.stats.TakeoversDeferred.Load()
	s.DualMaster = in.stats.DualMaster.Load()
	return s
}

// State returns the current state name from the latest snapshot.
func (in *Instance) State() string { return in.status.Load().State }

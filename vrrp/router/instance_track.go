package router

import (
	"fmt"
	"slices"
	"time"

	"github.com/hachat/hachat/vrrp"
)

func (in *Instance) setTrack(now time.Time, r TrackResult) {
	if old, ok := in.tracks[r.Key]; ok && old == r {
		return
	}
	in.tracks[r.Key] = r
	in.recompute(now)
}

// setGroupFault is called by the sync group.
func (in *Instance) setGroupFault(now time.Time, on bool) {
	if in.groupFault == on {
		return
	}
	in.groupFault = on
	in.recompute(now)
}

// recompute derives the effective priority and fault from the trackers and
// steps the machine when they changed.
func (in *Instance) recompute(now time.Time) {
	prio, fault, _ := Effective(in.basePrio, in.trackList())
	if fault != in.ownFault {
		in.ownFault = fault
		if in.group != nil {
			in.group.memberFault(in, fault)
		}
	}
	if prio != in.m.EffectivePriority() {
		in.step(now, vrrp.PriorityChanged{Priority: prio})
		in.emit(now, InstanceEvent{Kind: "priority", Detail: fmt.Sprintf("effective priority %d", prio)})
	}
	in.step(now, vrrp.FaultChanged{Fault: in.ownFault || in.groupFault})
	in.publish()
}

func (in *Instance) trackList() []TrackResult {
	l := make([]TrackResult, 0, len(in.tracks))
	for _, r := range in.tracks {
		l = append(l, r)
	}
	slices.SortFunc(l, func(a, b TrackResult) int { return cmpString(a.Key, b.Key) })
	return l
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

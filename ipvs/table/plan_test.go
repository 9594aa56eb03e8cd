package table

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0   = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	vip  = ServiceKey{Address: netip.MustParseAddrPort("198.18.1.100:80"), Protocol: TCP}
	rs1  = netip.MustParseAddrPort("198.18.2.21:80")
	rs2  = netip.MustParseAddrPort("198.18.2.22:80")
	rs3  = netip.MustParseAddrPort("198.18.2.23:80")
	keep = Desired{DrainTimeout: map[ServiceKey]time.Duration{vip: time.Minute}}
)

func svc(sched string, ds ...Destination) Service {
	return Service{ServiceKey: vip, Scheduler: sched, Destinations: ds}
}

func dst(a netip.AddrPort, w int) Destination {
	return Destination{Address: a, Weight: w, Forwarding: NAT}
}

func state(s Service, conns map[netip.AddrPort]uint32) ServiceState {
	st := ServiceState{Service: s}
	st.Service.Destinations = nil
	for _, d := range s.Destinations {
		st.Dests = append(st.Dests, DestinationState{Destination: d, ActiveConns: conns[d.Address]})
	}
	return st
}

func attrs(s Service) Service { s.Destinations = nil; return s }

func TestPlan(t *testing.T) {
	want := svc("rr", dst(rs1, 1), dst(rs2, 2))
	for _, tc := range []struct {
		name   string
		want   Desired
		actual []ServiceState
		drains Drains
		ops    []Op
		next   Drains
	}{
		{
			name: "create from nothing",
			want: Desired{Services: []Service{want}},
			ops: []Op{
				{Kind: CreateService, Service: attrs(want)},
				{Kind: CreateDestination, Service: attrs(want), Dest: dst(rs1, 1)},
				{Kind: CreateDestination, Service: attrs(want), Dest: dst(rs2, 2)},
			},
		},
		{
			name:   "in sync: nothing to do (idempotent)",
			want:   Desired{Services: []Service{want}},
			actual: []ServiceState{state(want, nil)},
		},
		{
			name:   "kernel reports a host persistence mask: still in sync",
			want:   Desired{Services: []Service{want}},
			actual: []ServiceState{func() ServiceState { s := state(want, nil); s.PersistenceMask = 32; return s }()},
		},
		{
			name:   "scheduler and weight change",
			want:   Desired{Services: []Service{svc("wrr", dst(rs1, 5), dst(rs2, 2))}},
			actual: []ServiceState{state(want, nil)},
			ops: []Op{
				{Kind: UpdateService, Service: attrs(svc("wrr"))},
				{Kind: UpdateDestination, Service: attrs(svc("wrr")), Dest: dst(rs1, 5)},
			},
		},
		{
			name:   "removed real server is drained first",
			want:   Desired{Services: []Service{svc("rr", dst(rs1, 1))}, DrainTimeout: keep.DrainTimeout},
			actual: []ServiceState{state(want, map[netip.AddrPort]uint32{rs2: 4})},
			ops:    []Op{{Kind: UpdateDestination, Service: attrs(want), Dest: dst(rs2, 0)}},
			next:   Drains{{vip, rs2}: t0},
		},
		{
			name:   "draining server with connections waits",
			want:   Desired{Services: []Service{svc("rr", dst(rs1, 1))}, DrainTimeout: keep.DrainTimeout},
			actual: []ServiceState{state(svc("rr", dst(rs1, 1), dst(rs2, 0)), map[netip.AddrPort]uint32{rs2: 4})},
			drains: Drains{{vip, rs2}: t0.Add(-30 * time.Second)},
			next:   Drains{{vip, rs2}: t0.Add(-30 * time.Second)},
		},
		{
			name:   "draining server removed after its timeout",
			want:   Desired{Services: []Service{svc("rr", dst(rs1, 1))}, DrainTimeout: keep.DrainTimeout},
			actual: []ServiceState{state(svc("rr", dst(rs1, 1), dst(rs2, 0)), map[netip.AddrPort]uint32{rs2: 4})},
			drains: Drains{{vip, rs2}: t0.Add(-time.Minute)},
			ops:    []Op{{Kind: RemoveDestination, Service: attrs(want), Dest: dst(rs2, 0)}},
		},
		{
			name:   "draining server removed when its connections end",
			want:   Desired{Services: []Service{svc("rr", dst(rs1, 1))}, DrainTimeout: keep.DrainTimeout},
			actual: []ServiceState{state(svc("rr", dst(rs1, 1), dst(rs2, 0)), nil)},
			drains: Drains{{vip, rs2}: t0.Add(-time.Second)},
			ops:    []Op{{Kind: RemoveDestination, Service: attrs(want), Dest: dst(rs2, 0)}},
		},
		{
			name:   "drained server comes back: weight restored, drain forgotten",
			want:   Desired{Services: []Service{want}},
			actual: []ServiceState{state(svc("rr", dst(rs1, 1), dst(rs2, 0)), map[netip.AddrPort]uint32{rs2: 4})},
			drains: Drains{{vip, rs2}: t0.Add(-time.Second)},
			ops:    []Op{{Kind: UpdateDestination, Service: attrs(want), Dest: dst(rs2, 2)}},
		},
		{
			name:   "inhibited server stays at weight 0 and is not drained",
			want:   Desired{Services: []Service{svc("rr", dst(rs1, 1), dst(rs2, 0))}},
			actual: []ServiceState{state(want, map[netip.AddrPort]uint32{rs2: 4})},
			ops:    []Op{{Kind: UpdateDestination, Service: attrs(want), Dest: dst(rs2, 0)}},
		},
		{
			name:   "foreign service is left alone (never flush)",
			want:   Desired{Services: []Service{want}},
			actual: []ServiceState{state(want, nil), {Service: Service{ServiceKey: ServiceKey{FWMark: 9}, Scheduler: "wlc"}, Dests: []DestinationState{{Destination: dst(rs3, 1)}}}},
		},
		{
			name:   "retiring service: drained, then removed",
			want:   Desired{Retiring: map[ServiceKey]time.Duration{vip: time.Minute}},
			actual: []ServiceState{state(svc("rr", dst(rs1, 1), dst(rs2, 0)), nil)},
			ops: []Op{
				{Kind: UpdateDestination, Service: attrs(want), Dest: dst(rs1, 0)},
				{Kind: RemoveDestination, Service: attrs(want), Dest: dst(rs2, 0)},
			},
			next: Drains{{vip, rs1}: t0},
		},
		{
			name:   "retiring service without destinations is removed",
			want:   Desired{Retiring: map[ServiceKey]time.Duration{vip: time.Minute}},
			actual: []ServiceState{state(svc("rr"), nil)},
			ops:    []Op{{Kind: RemoveService, Service: attrs(want)}},
		},
		{
			name:   "retiring service with the last destinations gone",
			want:   Desired{Retiring: map[ServiceKey]time.Duration{vip: time.Minute}},
			actual: []ServiceState{state(svc("rr", dst(rs1, 0)), nil)},
			ops: []Op{
				{Kind: RemoveDestination, Service: attrs(want), Dest: dst(rs1, 0)},
				{Kind: RemoveService, Service: attrs(want)},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops, next := Plan(t0, tc.want, tc.actual, tc.drains)
			if diff := cmp.Diff(tc.ops, ops, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			if tc.next == nil {
				tc.next = Drains{}
			}
			if diff := cmp.Diff(tc.next, next); diff != "" {
				t.Errorf("drains (-want +got):\n%s", diff)
			}
		})
	}
}

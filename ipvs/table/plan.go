package table

import (
	"net/netip"
	"slices"
	"time"
)

// Desired is what the data plane should hold, as computed by the Balancer
// from the configuration and the health of the real servers.
type Desired struct {
	// Services to hold, each with the destinations that should exist.
	Services []Service
	// DrainTimeout bounds, per service, how long an unwanted destination
	// keeps weight 0 before it is removed while it still has connections.
	// A missing entry or 0 means: wait until its connections end.
	DrainTimeout map[ServiceKey]time.Duration
	// Retiring names services that left the configuration. Their
	// destinations are drained and then the service is removed. A service
	// in the data plane that is neither desired nor retiring is not ours
	// (or predates this process) and is left alone: we never flush.
	Retiring map[ServiceKey]time.Duration
}

// DrainKey names one destination being drained.
type DrainKey struct {
	Service ServiceKey
	Dest    netip.AddrPort
}

// Drains records when each draining destination was first set to weight 0.
// Plan returns the updated map; the caller keeps it between rounds.
type Drains map[DrainKey]time.Time

// Plan returns the smallest list of ops that turns actual into desired, and
// the drain bookkeeping for the next round. It is pure: the same inputs give
// the same ops, and when actual already equals desired it returns no ops,
// so running it again and again is safe.
//
// Destinations that are not desired are drained, not deleted: first weight
// 0 (no new connections; established ones continue), then removal once the
// data plane reports no active, inactive or persistent connections for it
// or its drain timeout has passed since now was first seen draining.
func Plan(now time.Time, want Desired, actual []ServiceState, drains Drains) ([]Op, Drains) {
	next := Drains{}
	have := make(map[ServiceKey]ServiceState, len(actual))
	for _, s := range actual {
		have[s.ServiceKey] = s
	}
	desired := slices.Clone(want.Services)
	slices.SortFunc(desired, func(a, b Service) int { return compareKeys(a.ServiceKey, b.ServiceKey) })

	var ops []Op
	seen := map[ServiceKey]bool{}
	for _, svc := range desired {
		seen[svc.ServiceKey] = true
		attrs := svc.Clone()
		attrs.Destinations = nil
		dests := slices.Clone(svc.Destinations)
		sortDestinations(dests)
		cur, ok := have[svc.ServiceKey]
		if !ok {
			ops = append(ops, Op{Kind: CreateService, Service: attrs})
			for _, d := range dests {
				ops = append(ops, Op{Kind: CreateDestination, Service: attrs, Dest: d})
			}
			continue
		}
		if !svc.sameAttrs(cur.Service) {
			ops = append(ops, Op{Kind: UpdateService, Service: attrs})
		}
		for _, d := range dests {
			c, ok := findDest(cur.Dests, d.Address)
			switch {
			case !ok:
				ops = append(ops, Op{Kind: CreateDestination, Service: attrs, Dest: d})
			case c.Destination != d:
				ops = append(ops, Op{Kind: UpdateDestination, Service: attrs, Dest: d})
			}
		}
		ops = append(ops, drainUnwanted(now, attrs, cur, dests, want.DrainTimeout[svc.ServiceKey], drains, next)...)
	}

	// Retiring services: drain every destination, then remove the service.
	var retiring []ServiceState
	for _, s := range actual {
		if _, ok := want.Retiring[s.ServiceKey]; ok && !seen[s.ServiceKey] {
			retiring = append(retiring, s)
		}
	}
	slices.SortFunc(retiring, func(a, b ServiceState) int { return compareKeys(a.ServiceKey, b.ServiceKey) })
	for _, cur := range retiring {
		attrs := cur.Spec()
		attrs.Destinations = nil
		dops := drainUnwanted(now, attrs, cur, nil, want.Retiring[cur.ServiceKey], drains, next)
		ops = append(ops, dops...)
		removed := 0
		for _, o := range dops {
			if o.Kind == RemoveDestination {
				removed++
			}
		}
		if removed == len(cur.Dests) {
			ops = append(ops, Op{Kind: RemoveService, Service: attrs})
		}
	}
	return ops, next
}

// drainUnwanted drains the destinations of cur that are not in keep and
// records their drain start in next.
func drainUnwanted(now time.Time, attrs Service, cur ServiceState, keep []Destination, timeout time.Duration, prev, next Drains) []Op {
	var ops []Op
	ds := slices.Clone(cur.Dests)
	slices.SortFunc(ds, func(a, b DestinationState) int { return a.Address.Compare(b.Address) })
	for _, d := range ds {
		if _, ok := findDestination(keep, d.Address); ok {
			continue
		}
		k := DrainKey{cur.ServiceKey, d.Address}
		start, ok := prev[k]
		if !ok {
			start = now
		}
		conns := d.ActiveConns + d.InactiveConns + d.PersistConns
		switch {
		case d.Weight != 0:
			// First step: no new connections. Keep the start time if we
			// had one (the weight was raised behind our back).
			z := d.Destination
			z.Weight = 0
			ops = append(ops, Op{Kind: UpdateDestination, Service: attrs, Dest: z})
			next[k] = start
		case conns == 0 || (timeout > 0 && now.Sub(start) >= timeout):
			ops = append(ops, Op{Kind: RemoveDestination, Service: attrs, Dest: d.Destination})
		default:
			next[k] = start
		}
	}
	return ops
}

func findDest(ds []DestinationState, a netip.AddrPort) (DestinationState, bool) {
	for _, d := range ds {
		if d.Address == a {
			return d, true
		}
	}
	return DestinationState{}, false
}

func findDestination(ds []Destination, a netip.AddrPort) (Destination, bool) {
	for _, d := range ds {
		if d.Address == a {
			return d, true
		}
	}
	return Destination{}, false
}

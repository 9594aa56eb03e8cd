package ipvstest

import (
	"fmt"
	"slices"
	"sync"

	"github.com/hachat/hachat/ipvs/table"
)

// DataPlane is an in-memory table.DataPlane and table.RoleAware. Ops that do
// not fit the current state fail as the kernel's would, so a wrong plan
// shows up as an error in tests.
type DataPlane struct {
	mu      sync.Mutex
	svcs    []table.ServiceState
	Ops     []table.Op // every op applied, in order
	Standby []table.ServiceKey
	// Unsupported, when set, is returned (wrapped) by Supports for every
	// service whose scheduler is a key of the map.
	Unsupported map[string]bool
	// Plane is the name Name returns; "fake" when empty.
	Plane string
}

var (
	_ table.DataPlane = (*DataPlane)(nil)
	_ table.RoleAware = (*DataPlane)(nil)
)

// Name implements table.DataPlane.
func (d *DataPlane) Name() string {
	if d.Plane == "" {
		return "fake"
	}
	return d.Plane
}

// Supports implements table.DataPlane.
func (d *DataPlane) Supports(s table.Service) error {
	if d.Unsupported[s.Scheduler] {
		return fmt.Errorf("scheduler %q: %w", s.Scheduler, table.ErrUnsupported)
	}
	return nil
}

// Close implements table.DataPlane.
func (d *DataPlane) Close() error { return nil }

// SetStandby implements table.RoleAware.
func (d *DataPlane) SetStandby(keys []table.ServiceKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Standby = slices.Clone(keys)
	return nil
}

// Services implements table.DataPlane.
func (d *DataPlane) Services() ([]table.ServiceState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]table.ServiceState, len(d.svcs))
	for i, s := range d.svcs {
		s.Dests = slices.Clone(s.Dests)
		out[i] = s
	}
	return out, nil
}

// Apply implements table.DataPlane.
func (d *DataPlane) Apply(ops []table.Op) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, op := range ops {
		if err := d.apply(op); err != nil {
			return fmt.Errorf("fake: %v: %w", op, err)
		}
		d.Ops = append(d.Ops, op)
	}
	return nil
}

func (d *DataPlane) apply(op table.Op) error {
	i := slices.IndexFunc(d.svcs, func(s table.ServiceState) bool { return s.ServiceKey == op.Service.ServiceKey })
	if op.Kind == table.CreateService {
		if i >= 0 {
			return fmt.Errorf("service exists")
		}
		s := op.Service.Clone()
		s.Destinations = nil
		d.svcs = append(d.svcs, table.ServiceState{Service: s})
		return nil
	}
	if i < 0 {
		return fmt.Errorf("no such service")
	}
	s := &d.svcs[i]
	j := slices.IndexFunc(s.Dests, func(x table.DestinationState) bool { return x.Address == op.Dest.Address })
	switch op.Kind {
	case table.UpdateService:
		dests := s.Dests
		s.Service = op.Service.Clone()
		s.Dests = dests
	case table.RemoveService:
		d.svcs = slices.Delete(d.svcs, i, i+1)
	case table.CreateDestination:
		if j >= 0 {
			return fmt.Errorf("destination exists")
		}
		s.Dests = append(s.Dests, table.DestinationState{Destination: op.Dest})
	case table.UpdateDestination:
		if j < 0 {
			return fmt.Errorf("no such destination")
		}
		s.Dests[j].Destination = op.Dest
	case table.RemoveDestination:
		if j < 0 {
			return fmt.Errorf("no such destination")
		}
		s.Dests = slices.Delete(s.Dests, j, j+1)
	default:
		return fmt.Errorf("unknown op")
	}
	return nil
}

// SetConns sets the active and inactive connection counts of the
// destination at addr of the service key.
func (d *DataPlane) SetConns(key table.ServiceKey, addr string, active, inactive uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.svcs {
		if d.svcs[i].ServiceKey != key {
			continue
		}
		for j := range d.svcs[i].Dests {
			if d.svcs[i].Dests[j].Address.String() == addr {
				d.svcs[i].Dests[j].ActiveConns, d.svcs[i].Dests[j].InactiveConns = active, inactive
			}
		}
	}
}

// ResetOps forgets the recorded ops.
func (d *DataPlane) ResetOps() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.Ops = nil
}

package table

import (
	"errors"
	"fmt"
)

// DataPlane programs virtual services into the kernel. The kernel IPVS
// adapter (ipvs/kernel) and the nftables one (ipvs/nft) implement it, and so
// does the in-memory fake in ipvs/ipvstest.
type DataPlane interface {
	// Name is "ipvs" or "nftables"; it appears in status and errors.
	Name() string
	// Supports returns nil when the data plane can program svc, or an
	// error wrapping ErrUnsupported that names the scheduler, forwarding
	// method or feature it lacks.
	Supports(svc Service) error
	// Services reads back what the kernel holds now, with counters.
	Services() ([]ServiceState, error)
	// Apply performs ops in order and stops at the first error, which
	// names the op. Ops were computed by Plan against a recent Services.
	Apply(ops []Op) error
	// Close releases the data plane's sockets. It leaves the kernel's
	// state as it is.
	Close() error
}

// CountsOnDemand is implemented by data planes whose connection counts cost
// a dump of a kernel table with an entry per flow (nftables: conntrack).
// Model reads back the services like Services, with zero connection
// counts. The reconciler needs counts only while a real server drains (they
// decide when it goes), so it reads Model the rest of the time: at thousands
// of new connections a second the dump would cost more CPU than the data
// plane itself.
type CountsOnDemand interface {
	Model() ([]ServiceState, error)
}

// RoleAware is implemented by data planes that must answer for a virtual
// service only on the VRRP master (nftables: the backup has no conntrack
// entry for the VIP's flows until it takes over, and must not answer).
// IPVS needs no such switch: the backup holds the same table, filled by the
// sync daemon, and receives no traffic until the VIP moves to it.
type RoleAware interface {
	// SetStandby makes the data plane stop answering for the services in
	// keys and answer for every other one it holds.
	SetStandby(keys []ServiceKey) error
}

// ErrUnsupported means a data plane cannot program what the configuration
// asks for. The wrapping error names the virtual service and the feature.
var ErrUnsupported = errors.New("not supported by this data plane")

// OpKind is the kind of one change to the data plane.
type OpKind int

// The kinds of change, in the order Plan emits them for one service.
const (
	CreateService OpKind = iota + 1
	UpdateService
	CreateDestination
	UpdateDestination
	RemoveDestination
	RemoveService
)

func (k OpKind) String() string {
	switch k {
	case CreateService:
		return "create-service"
	case UpdateService:
		return "update-service"
	case CreateDestination:
		return "create-destination"
	case UpdateDestination:
		return "update-destination"
	case RemoveDestination:
		return "remove-destination"
	case RemoveService:
		return "remove-service"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op is one change. Service carries the service's attributes (its
// Destinations field is empty); Dest is set for destination ops.
type Op struct {
	Kind    OpKind
	Service Service
	Dest    Destination
}

func (o Op) String() string {
	switch o.Kind {
	case CreateService, UpdateService, RemoveService:
		return fmt.Sprintf("%v %v sched %s", o.Kind, o.Service.ServiceKey, o.Service.Scheduler)
	}
	return fmt.Sprintf("%v %v -> %v weight %d %s", o.Kind, o.Service.ServiceKey, o.Dest.Address, o.Dest.Weight, o.Dest.Forwarding)
}

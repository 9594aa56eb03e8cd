package ipvs

import "github.com/hachat/hachat/ipvs/table"

// The model of the virtual server table lives in ipvs/table so that the data
// planes can share it without importing the balancer; these aliases keep
// the balancer's API in one place.
type (
	// DataPlane programs virtual services into the kernel.
	DataPlane = table.DataPlane
	// RoleAware data planes answer only while their VRRP instance is MASTER.
	RoleAware = table.RoleAware
	// Service is a virtual service with its destinations.
	Service = table.Service
	// ServiceKey identifies a virtual service.
	ServiceKey = table.ServiceKey
	// Destination is a real server of a service.
	Destination = table.Destination
	// ServiceState is a service read back from a data plane.
	ServiceState = table.ServiceState
	// Stats are traffic counters and rates.
	Stats = table.Stats
	// Op is one change to a data plane.
	Op = table.Op
)

// ErrUnsupported means the chosen data plane cannot do what the
// configuration asks for.
var ErrUnsupported = table.ErrUnsupported

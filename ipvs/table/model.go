package table

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Protocol is a virtual service's transport protocol.
type Protocol string

// The protocols IPVS balances.
const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	SCTP Protocol = "sctp"
)

// Forwarding is how packets reach a real server (ipvsadm(8) -m, -g, -i).
type Forwarding string

// The forwarding methods.
const (
	NAT    Forwarding = "nat" // masquerading: the director rewrites the destination
	DR     Forwarding = "dr"  // direct routing: the director rewrites the MAC only
	Tunnel Forwarding = "tun" // IP-in-IP tunnelling
)

// ServiceKey identifies a virtual service: an address, port and protocol,
// or a firewall mark (then Address is the zero AddrPort and FWMark is set;
// Family tells IPv4 from IPv6 for a mark).
type ServiceKey struct {
	Address  netip.AddrPort
	Protocol Protocol
	FWMark   uint32
	IPv6     bool // only meaningful with FWMark
}

// String formats the key like ipvsadm -Ln: "TCP  198.18.1.100:80" or "FWM  42".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		if k.IPv6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return fmt.Sprintf("%s %s", strings.ToUpper(string(k.Protocol)), k.Address)
}

// Is6 reports whether the service is IPv6.
func (k ServiceKey) Is6() bool {
	if k.FWMark != 0 {
		return k.IPv6
	}
	return k.Address.Addr().Is6()
}

// Service is one virtual service as a data plane holds it.
type Service struct {
	ServiceKey
	Scheduler string
	// Persistence keeps a client on one real server for this long after
	// its last connection ends; 0 disables it.
	Persistence time.Duration
	// PersistenceMask groups clients for persistence: the prefix length of
	// the client address that counts (32 or 128 means one client).
	PersistenceMask int
	Destinations    []Destination
}

// sameAttrs reports whether the service-level attributes (not the
// destinations) are equal.
func (s Service) sameAttrs(o Service) bool {
	return s.ServiceKey == o.ServiceKey && s.Scheduler == o.Scheduler &&
		s.Persistence == o.Persistence && s.persistMask() == o.persistMask()
}

// persistMask is the effective persistence netmask: the kernel reports a
// host mask even for services without persistence, so an unset mask equals
// the full one.
func (s Service) persistMask() int {
	full := 32
	if s.Is6() {
		full = 128
	}
	if s.PersistenceMask <= 0 || s.PersistenceMask > full {
		return full
	}
	return s.PersistenceMask
}

// Clone returns a deep copy.
func (s Service) Clone() Service {
	s.Destinations = slices.Clone(s.Destinations)
	return s
}

// Destination is one real server of a service.
type Destination struct {
	Address    netip.AddrPort
	Weight     int
	Forwarding Forwarding
	// Upper and lower connection thresholds (ipvsadm -x, -y); 0 is no limit.
	UpperThreshold int
	LowerThreshold int
}

// Stats are traffic counters and rates of a service or destination. Rates
// are per second, averaged by the data plane (IPVS: a 2 s estimator).
type Stats struct {
	Connections uint64 `json:"conns"`
	PacketsIn   uint64 `json:"inpkts"`
	PacketsOut  uint64 `json:"outpkts"`
	BytesIn     uint64 `json:"inbytes"`
	BytesOut    uint64 `json:"outbytes"`
	CPS         uint64 `json:"cps"`
	PPSIn       uint64 `json:"inpps"`
	PPSOut      uint64 `json:"outpps"`
	BPSIn       uint64 `json:"inbps"`
	BPSOut      uint64 `json:"outbps"`
}

// ServiceState is a service as read back from a data plane, with counters.
type ServiceState struct {
	Service
	Stats Stats
	Dests []DestinationState
}

// DestinationState is a destination as read back, with connection counts.
type DestinationState struct {
	Destination
	ActiveConns   uint32
	InactiveConns uint32
	PersistConns  uint32
	Stats         Stats
}

// Spec returns the service and its destinations without counters.
func (s ServiceState) Spec() Service {
	svc := s.Service
	svc.Destinations = make([]Destination, len(s.Dests))
	for i, d := range s.Dests {
		svc.Destinations[i] = d.Destination
	}
	return svc
}

func sortDestinations(ds []Destination) {
	slices.SortFunc(ds, func(a, b Destination) int { return a.Address.Compare(b.Address) })
}

func compareKeys(a, b ServiceKey) int {
	if a.FWMark != b.FWMark {
		return int(a.FWMark) - int(b.FWMark)
	}
	if c := a.Address.Compare(b.Address); c != 0 {
		return c
	}
	return strings.Compare(string(a.Protocol), string(b.Protocol))
}

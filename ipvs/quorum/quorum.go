package quorum

import (
	"errors"
	"fmt"
)

// ErrInvalid means a virtual service's quorum, hysteresis or weights make
// no sense; [VirtualService.Validate] wraps it with %w.
var ErrInvalid = errors.New("invalid virtual service")

// RealServer is one real server of a virtual service as the quorum logic
// sees it.
type RealServer struct {
	ID     string // the destination's key, e.g. "198.18.1.2:6667"
	Weight int    // configured weight (keepalived default 1); 0 takes no new connections
	Up     bool   // the health verdict
	// Inhibit is keepalived's inhibit_on_failure: when the server is down
	// (or the sorry server has taken over) it stays in the table at weight
	// 0, so its established connections live on, instead of being removed.
	Inhibit bool
}

// SorryServer is the destination that takes the traffic while the quorum
// is lost (keepalived's sorry_server).
type SorryServer struct {
	ID     string
	Weight int // zero means 1
	// Inhibit is keepalived's sorry_server_inhibit: while the quorum holds
	// the sorry server stays in the table at weight 0 instead of being
	// removed.
	Inhibit bool
}

// VirtualService is the input of [Effective].
type VirtualService struct {
	Servers []RealServer
	// Quorum is the smallest sum of up weights that serves; zero means 1
	// (keepalived's default).
	Quorum int
	// Hysteresis widens the quorum into a band, so that one server
	// flapping around the quorum does not flap the service: the quorum is
	// gained at Quorum+Hysteresis and lost below Quorum-Hysteresis.
	Hysteresis int
	// Sorry is the optional sorry server.
	Sorry *SorryServer
}

// State is whether a virtual service has its quorum.
type State int

// The quorum states; the zero value is Unknown, for the first
// computation after start, which ignores the hysteresis.
const (
	Unknown State = iota
	Lost
	Held
)

func (q State) String() string {
	switch q {
	case Unknown:
		return "unknown"
	case Lost:
		return "lost"
	case Held:
		return "held"
	}
	return fmt.Sprintf("State(%d)", int(q))
}

// Destination is one entry of the effective destination set.
type Destination struct {
	ID     string
	Weight int
	Sorry  bool // the sorry server (it may use its own forwarding method)
}

// Decision is the output of [Effective].
type Decision struct {
	// Destinations is what the virtual service should hold: real servers
	// in input order, then the sorry server. A server absent from it is to
	// be removed.
	Destinations []Destination
	Quorum       State
	// Changed reports a quorum transition (including the first verdict
	// after Unknown), when the caller runs quorum_up or quorum_down.
	Changed bool
	// UpWeight is the sum of the weights of the up real servers.
	UpWeight int
}

// Validate checks a virtual service for errors that [Effective] would
// otherwise paper over.
func (vs VirtualService) Validate() error {
	if vs.Quorum < 0 || vs.Hysteresis < 0 {
		return fmt.Errorf("quorum %d and hysteresis %d must not be negative: %w", vs.Quorum, vs.Hysteresis, ErrInvalid)
	}
	seen := make(map[string]bool, len(vs.Servers)+1)
	for _, rs := range vs.Servers {
		if rs.Weight < 0 {
			return fmt.Errorf("real server %s: weight %d is negative: %w", rs.ID, rs.Weight, ErrInvalid)
		}
		if seen[rs.ID] {
			return fmt.Errorf("real server %s listed twice: %w", rs.ID, ErrInvalid)
		}
		seen[rs.ID] = true
	}
	if s := vs.Sorry; s != nil {
		if s.Weight < 0 {
			return fmt.Errorf("sorry server %s: weight %d is negative: %w", s.ID, s.Weight, ErrInvalid)
		}
		if seen[s.ID] {
			return fmt.Errorf("sorry server %s is also a real server: %w", s.ID, ErrInvalid)
		}
	}
	return nil
}

// Effective computes the destination set of a virtual service from the
// health of its real servers and the previous quorum state. It is pure.
//
// The quorum is held when the up weight reaches Quorum+Hysteresis, lost
// when it drops below Quorum-Hysteresis or to zero, and otherwise keeps its
// previous state; from Unknown it is held exactly when the up weight
// is positive and at least Quorum. Then:
//
//   - held: up servers at their weight; down servers at weight 0 when
//     Inhibit, else absent; the sorry server at weight 0 when its Inhibit
//     is set, else absent.
//   - lost with a sorry server: the sorry server at its weight; every real
//     server at weight 0 when Inhibit, else absent. Down servers are
//     withdrawn as ever, and up ones too, so that clients all land on the
//     sorry page rather than on an overloaded remainder.
//   - lost without a sorry server: as held; the state only tells the caller
//     to run quorum_down.
func Effective(vs VirtualService, prev State) Decision {
	quorum := vs.Quorum
	if quorum <= 0 {
		quorum = 1
	}
	sum := 0
	for _, rs := range vs.Servers {
		if rs.Up {
			sum += max(rs.Weight, 0)
		}
	}
	state := prev
	switch prev {
	case Held:
		if sum == 0 || sum < quorum-vs.Hysteresis {
			state = Lost
		}
	case Lost:
		if sum > 0 && sum >= quorum+vs.Hysteresis {
			state = Held
		}
	default:
		state = Lost
		if sum > 0 && sum >= quorum {
			state = Held
		}
	}
	d := Decision{Quorum: state, Changed: state != prev, UpWeight: sum,
		Destinations: make([]Destination, 0, len(vs.Servers)+1)}
	sorryActive := state == Lost && vs.Sorry != nil
	for _, rs := range vs.Servers {
		switch {
		case rs.Up && !sorryActive:
			d.Destinations = append(d.Destinations, Destination{ID: rs.ID, Weight: max(rs.Weight, 0)})
		case rs.Inhibit:
			d.Destinations = append(d.Destinations, Destination{ID: rs.ID, Weight: 0})
		}
	}
	if s := vs.Sorry; s != nil {
		w := s.Weight
		if w <= 0 {
			w = 1
		}
		switch {
		case sorryActive:
			d.Destinations = append(d.Destinations, Destination{ID: s.ID, Weight: w, Sorry: true})
		case s.Inhibit:
			d.Destinations = append(d.Destinations, Destination{ID: s.ID, Weight: 0, Sorry: true})
		}
	}
	return d
}

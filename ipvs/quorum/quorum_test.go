package quorum

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestEffective(t *testing.T) {
	rs := func(id string, w int, up, inhibit bool) RealServer {
		return RealServer{ID: id, Weight: w, Up: up, Inhibit: inhibit}
	}
	d := func(id string, w int) Destination { return Destination{ID: id, Weight: w} }
	sorry := &SorryServer{ID: "sorry", Weight: 2}
	tests := []struct {
		name string
		vs   VirtualService
		prev State
		want Decision
	}{
		{
			name: "all up, default quorum 1",
			vs:   VirtualService{Servers: []RealServer{rs("a", 1, true, false), rs("b", 3, true, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 1), d("b", 3)}, Quorum: Held, UpWeight: 4},
		},
		{
			name: "down server removed",
			vs:   VirtualService{Servers: []RealServer{rs("a", 1, false, false), rs("b", 3, true, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("b", 3)}, Quorum: Held, UpWeight: 3},
		},
		{
			name: "down server inhibited keeps weight 0",
			vs:   VirtualService{Servers: []RealServer{rs("a", 5, false, true), rs("b", 3, true, true)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 0), d("b", 3)}, Quorum: Held, UpWeight: 3},
		},
		{
			name: "up server with weight 0 stays at 0 and does not count",
			vs:   VirtualService{Servers: []RealServer{rs("a", 0, true, false), rs("b", 1, true, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 0), d("b", 1)}, Quorum: Held, UpWeight: 1},
		},
		{
			name: "all down, no sorry server: empty set, quorum lost",
			vs:   VirtualService{Servers: []RealServer{rs("a", 1, false, false)}},
			prev: Held,
			want: Decision{Quorum: Lost, Changed: true},
		},
		{
			name: "quorum lost without sorry server keeps the live servers",
			vs:   VirtualService{Quorum: 3, Servers: []RealServer{rs("a", 1, true, false), rs("b", 1, false, true)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 1), d("b", 0)}, Quorum: Lost, Changed: true, UpWeight: 1},
		},
		{
			name: "quorum lost with sorry server: sorry takes over, live servers withdrawn",
			vs: VirtualService{Quorum: 4, Sorry: sorry,
				Servers: []RealServer{rs("a", 2, true, false), rs("b", 1, false, false), rs("c", 1, true, true)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("c", 0), {ID: "sorry", Weight: 2, Sorry: true}},
				Quorum: Lost, Changed: true, UpWeight: 3},
		},
		{
			name: "quorum held: sorry server removed",
			vs:   VirtualService{Quorum: 2, Sorry: sorry, Servers: []RealServer{rs("a", 2, true, false)}},
			prev: Lost,
			want: Decision{Destinations: []Destination{d("a", 2)}, Quorum: Held, Changed: true, UpWeight: 2},
		},
		{
			name: "quorum held: sorry_server_inhibit keeps it at weight 0",
			vs: VirtualService{Sorry: &SorryServer{ID: "sorry", Inhibit: true},
				Servers: []RealServer{rs("a", 1, true, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 1), {ID: "sorry", Weight: 0, Sorry: true}},
				Quorum: Held, UpWeight: 1},
		},
		{
			name: "sorry server weight defaults to 1",
			vs:   VirtualService{Sorry: &SorryServer{ID: "sorry"}, Servers: []RealServer{rs("a", 1, false, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{{ID: "sorry", Weight: 1, Sorry: true}}, Quorum: Lost, Changed: true},
		},
		{
			name: "hysteresis: held inside the band",
			vs: VirtualService{Quorum: 4, Hysteresis: 1, Sorry: sorry,
				Servers: []RealServer{rs("a", 1, true, false), rs("b", 2, true, false), rs("c", 2, false, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 1), d("b", 2)}, Quorum: Held, UpWeight: 3},
		},
		{
			name: "hysteresis: lost below quorum-hysteresis",
			vs: VirtualService{Quorum: 4, Hysteresis: 1, Sorry: sorry,
				Servers: []RealServer{rs("a", 1, false, false), rs("b", 2, true, false), rs("c", 2, false, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{{ID: "sorry", Weight: 2, Sorry: true}}, Quorum: Lost, Changed: true, UpWeight: 2},
		},
		{
			name: "hysteresis: still lost at quorum, inside the band",
			vs: VirtualService{Quorum: 4, Hysteresis: 1, Sorry: sorry,
				Servers: []RealServer{rs("a", 2, true, false), rs("b", 2, true, false)}},
			prev: Lost,
			want: Decision{Destinations: []Destination{{ID: "sorry", Weight: 2, Sorry: true}}, Quorum: Lost, UpWeight: 4},
		},
		{
			name: "hysteresis: gained at quorum+hysteresis",
			vs: VirtualService{Quorum: 4, Hysteresis: 1, Sorry: sorry,
				Servers: []RealServer{rs("a", 2, true, false), rs("b", 3, true, false)}},
			prev: Lost,
			want: Decision{Destinations: []Destination{d("a", 2), d("b", 3)}, Quorum: Held, Changed: true, UpWeight: 5},
		},
		{
			name: "hysteresis as large as quorum: lost only at zero",
			vs: VirtualService{Quorum: 2, Hysteresis: 2,
				Servers: []RealServer{rs("a", 1, true, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 1)}, Quorum: Held, UpWeight: 1},
		},
		{
			name: "unknown: decided without hysteresis, held",
			vs:   VirtualService{Quorum: 2, Hysteresis: 5, Servers: []RealServer{rs("a", 2, true, false)}},
			prev: Unknown,
			want: Decision{Destinations: []Destination{d("a", 2)}, Quorum: Held, Changed: true, UpWeight: 2},
		},
		{
			name: "unknown: alpha start, all down, sorry server serves",
			vs:   VirtualService{Sorry: sorry, Servers: []RealServer{rs("a", 1, false, true), rs("b", 1, false, false)}},
			prev: Unknown,
			want: Decision{Destinations: []Destination{d("a", 0), {ID: "sorry", Weight: 2, Sorry: true}}, Quorum: Lost, Changed: true},
		},
		{
			name: "zero up weight loses even a zero quorum",
			vs:   VirtualService{Quorum: 0, Servers: []RealServer{rs("a", 0, true, false)}},
			prev: Held,
			want: Decision{Destinations: []Destination{d("a", 0)}, Quorum: Lost, Changed: true},
		},
		{
			name: "no servers at all",
			vs:   VirtualService{},
			prev: Unknown,
			want: Decision{Quorum: Lost, Changed: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.vs.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			got := Effective(tc.vs, tc.prev)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Effective (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEffectiveHysteresisNoFlap steps one server flapping at the quorum
// edge and checks that the quorum changes only at the band's edges.
func TestEffectiveHysteresisNoFlap(t *testing.T) {
	vs := VirtualService{Quorum: 3, Hysteresis: 1, Sorry: &SorryServer{ID: "sorry"},
		Servers: []RealServer{{ID: "a", Weight: 2, Up: true}, {ID: "b", Weight: 1, Up: true}, {ID: "c", Weight: 1}}}
	state := Unknown
	var transitions []State
	// up weights: 3 (held from unknown), 2 (band), 3, 2, 1 (lost), 3 (band), 4 (gained)
	for _, ups := range [][3]bool{
		{true, true, false}, {true, false, false}, {true, true, false}, {true, false, false},
		{false, true, false}, {true, true, false}, {true, true, true},
	} {
		for i := range vs.Servers {
			vs.Servers[i].Up = ups[i]
		}
		dec := Effective(vs, state)
		if dec.Changed {
			transitions = append(transitions, dec.Quorum)
		}
		state = dec.Quorum
	}
	want := []State{Held, Lost, Held}
	if diff := cmp.Diff(want, transitions); diff != "" {
		t.Errorf("quorum transitions (-want +got):\n%s", diff)
	}
}

func TestVirtualServiceValidate(t *testing.T) {
	tests := []struct {
		name string
		vs   VirtualService
	}{
		{"negative quorum", VirtualService{Quorum: -1}},
		{"negative hysteresis", VirtualService{Hysteresis: -1}},
		{"negative weight", VirtualService{Servers: []RealServer{{ID: "a", Weight: -1}}}},
		{"duplicate server", VirtualService{Servers: []RealServer{{ID: "a"}, {ID: "a"}}}},
		{"sorry is a real server", VirtualService{Servers: []RealServer{{ID: "a"}}, Sorry: &SorryServer{ID: "a"}}},
		{"negative sorry weight", VirtualService{Sorry: &SorryServer{ID: "s", Weight: -2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.vs.Validate(); !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate = %v, want ErrInvalid", err)
			}
		})
	}
}

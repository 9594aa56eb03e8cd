package nft

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"

	"github.com/hachat/hachat/ipvs/table"
)

func svc(sched string, ws ...int) table.Service {
	s := table.Service{ServiceKey: table.ServiceKey{Address: netip.MustParseAddrPort("198.18.1.100:80"), Protocol: table.TCP}, Scheduler: sched}
	for i, w := range ws {
		s.Destinations = append(s.Destinations, table.Destination{
			Address: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 2, byte(21 + i)}), 80), Weight: w, Forwarding: table.NAT})
	}
	return s
}

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name     string
		svc      table.Service
		standby  bool
		chains   int // prerouting, output, svc0, one per destination, guard
		elems    int // buckets in the verdict map; 0: no map
		dispatch int // rules in prerouting + output
		pick     string
	}{
		{"rr", svc("rr", 1, 1), false, 6, 2, 2, "numgen"},
		{"wrr 3:1", svc("wrr", 3, 1), false, 6, 4, 2, "numgen"},
		{"sh", svc("sh", 1, 1, 1), false, 7, shBuckets, 2, "hash"},
		{"mh", svc("mh", 1, 1), false, 6, mhBuckets, 2, "hash"},
		{"all weights 0: no map, service still there", svc("rr", 0, 0), false, 6, 0, 2, ""},
		{"standby: no dispatch", svc("mh", 1, 1), true, 6, mhBuckets, 0, "hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := render("t", []table.Service{tc.svc}, map[table.ServiceKey]bool{tc.svc.ServiceKey: tc.standby})
			if err != nil {
				t.Fatal(err)
			}
			if len(rs.chains) != tc.chains {
				t.Errorf("%d chains, want %d", len(rs.chains), tc.chains)
			}
			elems, guarded := 0, 0
			for _, s := range rs.sets {
				if s.set.IsMap {
					elems += len(s.elems)
				} else {
					guarded += len(s.elems)
				}
			}
			if elems != tc.elems {
				t.Errorf("%d map elements, want %d", elems, tc.elems)
			}
			dispatch, guards := 0, 0
			var pick string
			for _, r := range rs.rules {
				if r.Chain.Name == "prerouting" || r.Chain.Name == "output" {
					dispatch++
				}
				if r.Chain.Name == "guard" {
					guards++
				}
				for _, e := range r.Exprs {
					switch x := e.(type) {
					case *expr.Numgen:
						pick = "numgen"
					case *expr.Hash:
						pick = "hash"
						if x.Seed == 0 {
							t.Error("hash without a seed: the kernel would pick a random one per balancer")
						}
					}
				}
			}
			// The reply guard stands whatever the role: one rule for the
			// family, its set holding every real server once.
			if guards != 1 || guarded != distinct(tc.svc.Destinations) {
				t.Errorf("%d reply-guard rules over %d real servers, want 1 over %d", guards, guarded, distinct(tc.svc.Destinations))
			}
			if dispatch != tc.dispatch || pick != tc.pick {
				t.Errorf("dispatch rules %d (want %d), pick %q (want %q)", dispatch, tc.dispatch, pick, tc.pick)
			}
		})
	}
}

func distinct(ds []table.Destination) int {
	seen := map[netip.AddrPort]bool{}
	for _, d := range ds {
		seen[d.Address] = true
	}
	return len(seen)
}

func TestSupports(t *testing.T) {
	ok := svc("mh", 1)
	if err := supports(ok); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]table.Service{
		"wlc":         svc("wlc", 1),
		"fwmark":      {ServiceKey: table.ServiceKey{FWMark: 3}, Scheduler: "rr"},
		"persistence": func() table.Service { s := svc("rr", 1); s.Persistence = 60e9; return s }(),
		"dr":          func() table.Service { s := svc("rr", 1); s.Destinations[0].Forwarding = table.DR; return s }(),
		"threshold":   func() table.Service { s := svc("rr", 1); s.Destinations[0].UpperThreshold = 5; return s }(),
	} {
		if err := supports(s); !errors.Is(err, table.ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", name, err)
		}
	}
}

// TestSeedsAgree: the hash seed depends only on the service, so that two
// balancers built from the same config hash a flow alike.
func TestSeedsAgree(t *testing.T) {
	a, _ := render("t", []table.Service{svc("mh", 1, 1)}, nil)
	b, _ := render("t", []table.Service{svc("mh", 1, 1)}, nil)
	seed := func(rs *ruleset) uint32 {
		for _, r := range rs.rules {
			for _, e := range r.Exprs {
				if h, ok := e.(*expr.Hash); ok {
					return h.Seed
				}
			}
		}
		return 0
	}
	if seed(a) != seed(b) || seed(a) == 0 {
		t.Errorf("seeds %x %x", seed(a), seed(b))
	}
}

package quorum_test

import (
	"fmt"

	"github.com/hachat/hachat/ipvs/quorum"
)

// A service of three IRC gateways with quorum 3 and a sorry server: while
// two of weight 1 and 2 are up it serves normally; when the weight-2 one
// fails the sum drops to 1, the quorum is lost, and the sorry server takes
// over while the inhibited server stays at weight 0.
func ExampleEffective() {
	vs := quorum.VirtualService{
		Quorum: 3,
		Sorry:  &quorum.SorryServer{ID: "198.18.9.9:6667"},
		Servers: []quorum.RealServer{
			{ID: "198.18.1.1:6667", Weight: 1, Up: true},
			{ID: "198.18.1.2:6667", Weight: 2, Up: true, Inhibit: true},
			{ID: "198.18.1.3:6667", Weight: 1, Up: false},
		},
	}
	dec := quorum.Effective(vs, quorum.Unknown)
	fmt.Println(dec.Quorum, dec.UpWeight, dec.Destinations)

	vs.Servers[1].Up = false
	dec = quorum.Effective(vs, dec.Quorum)
	fmt.Println(dec.Quorum, dec.Changed, dec.Destinations)
	// Output:
	// held 3 [{198.18.1.1:6667 1 false} {198.18.1.2:6667 2 false}]
	// lost true [{198.18.1.2:6667 0 false} {198.18.9.9:6667 1 true}]
}

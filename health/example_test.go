package health_test

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hachat/hachat/health"
)

// A service of three IRC gateways with quorum 3 and a sorry server: while
// two of weight 1 and 2 are up it serves normally; when the weight-2 one
// fails the sum drops to 1, the quorum is lost, and the sorry server takes
// over while the inhibited server stays at weight 0.
func ExampleEffective() {
	vs := health.VirtualService{
		Quorum: 3,
		Sorry:  &health.SorryServer{ID: "198.18.9.9:6667"},
		Servers: []health.RealServer{
			{ID: "198.18.1.1:6667", Weight: 1, Up: true},
			{ID: "198.18.1.2:6667", Weight: 2, Up: true, Inhibit: true},
			{ID: "198.18.1.3:6667", Weight: 1, Up: false},
		},
	}
	dec := health.Effective(vs, health.QuorumUnknown)
	fmt.Println(dec.Quorum, dec.UpWeight, dec.Destinations)

	vs.Servers[1].Up = false
	dec = health.Effective(vs, dec.Quorum)
	fmt.Println(dec.Quorum, dec.Changed, dec.Destinations)
	// Output:
	// held 3 [{198.18.1.1:6667 1 false} {198.18.1.2:6667 2 false}]
	// lost true [{198.18.1.2:6667 0 false} {198.18.9.9:6667 1 true}]
}

// An IRC-aware check of a chatd real server: the daemon itself must answer
// a PING, not just the kernel's listen backlog. The monitor runs it every
// second; three failures in a row take the server out.
func ExampleTCP_irc() {
	check := &health.TCP{
		Addr:   "198.18.1.1:6667",
		Send:   []byte("PING :hachat-health\r\n"),
		Expect: regexp.MustCompile(`PONG \S+ :hachat-health`),
	}
	m := health.NewMonitor(health.MonitorConfig{
		OnUpdate: func(u health.Update) { fmt.Println(u.ID, u.State, u.Reason) },
	})
	err := m.Add(health.Target{ID: "irc-1", Prober: check, Interval: time.Second, Fall: 3, Rise: 2})
	fmt.Println(err)
	// Output: <nil>
}

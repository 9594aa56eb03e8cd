package health_test

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hachat/hachat/health"
)

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

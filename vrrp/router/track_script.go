package router

import (
	"fmt"
	"time"

	"github.com/hachat/hachat/health"
)

// ScriptSpec is one tracked script (keepalived's vrrp_script).
type ScriptSpec struct {
	Name     string
	Command  []string
	Interval time.Duration
	Timeout  time.Duration
	Rise     int
	Fall     int
}

// NewScriptMonitor returns a health monitor whose updates feed hub. Scripts
// run through health.Exec: in their own process group, killed with all their
// children when the timeout passes.
func NewScriptMonitor(hub *TrackHub) *health.Monitor {
	return health.NewMonitor(health.MonitorConfig{
		Jitter: -1, // the first check runs at once: an instance starts with a verdict
		OnUpdate: func(u health.Update) {
			hub.SetUp(u.ID, u.State == health.Up, fmt.Sprintf("%s: %s", u.State, u.Reason))
		},
	})
}

// ScriptTarget is the monitor target of s, keyed by ScriptKey(s.Name).
func ScriptTarget(s ScriptSpec) health.Target {
	return health.Target{
		ID:       ScriptKey(s.Name),
		Prober:   &health.Exec{Argv: s.Command},
		Interval: s.Interval,
		Timeout:  s.Timeout,
		Rise:     s.Rise,
		Fall:     s.Fall,
		Initial:  health.Unknown,
	}
}

package ipvs

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/health/healthtest"
	"github.com/hachat/hachat/ipvs/ipvstest"
)

// TestQuorumUpDownOmega follows keepalived.conf(5)'s quorum_up ("executed
// when quorum is gained"), quorum_down ("when quorum is lost") and omega
// ("on daemon shutdown consider quorum ... down notifiers"): nothing at the
// first verdict, quorum_down when the up weight falls below the quorum,
// quorum_up when it is back, and quorum_down again at shutdown while the
// quorum is held.
func TestQuorumUpDownOmega(t *testing.T) {
	y := with(func(_ *Config, vs *VirtualService) {
		vs.Quorum = 2
		vs.QuorumUp = []string{"/usr/local/sbin/quorum-up.sh", "web"}
		vs.QuorumDown = []string{"/usr/local/sbin/quorum-down.sh"}
		vs.Omega = true
		for i := range vs.RealServers {
			vs.RealServers[i].Checks = []Check{tcpCheck(time.Second)}
		}
	})
	var got []QuorumChange
	clk := healthtest.NewFakeClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	b, err := NewBalancer(y, Options{Plane: &ipvstest.DataPlane{}, Clock: clk, Sync: &fakeSync{}, OnQuorum: func(c QuorumChange) { got = append(got, c) }})
	if err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, b)
	if len(got) != 0 {
		t.Fatalf("first verdict ran %v, want nothing", got)
	}
	rs2 := "vs TCP 198.18.1.100:80 rs 198.18.2.22:80"
	b.onHealth(health.Update{ID: rs2, State: health.Down}) // up weight 1 < 2
	mustReconcile(t, b)
	b.onHealth(health.Update{ID: rs2, State: health.Up})
	mustReconcile(t, b)
	mustReconcile(t, b) // no change, no command
	want := []QuorumChange{
		{Service: "web", Held: false, Command: []string{"/usr/local/sbin/quorum-down.sh"}},
		{Service: "web", Held: true, Command: []string{"/usr/local/sbin/quorum-up.sh", "web"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("quorum changes (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want[:1], b.ShutdownQuorumCommands()); d != "" {
		t.Errorf("omega at shutdown (-want +got):\n%s", d)
	}
	b.onHealth(health.Update{ID: rs2, State: health.Down})
	mustReconcile(t, b)
	if s := b.ShutdownQuorumCommands(); len(s) != 0 {
		t.Errorf("omega with the quorum lost ran %v: its quorum_down already ran", s)
	}
}

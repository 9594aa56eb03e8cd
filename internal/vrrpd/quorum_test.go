package vrrpd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/ipvs/ipvstest"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

type argvLog struct {
	mu  sync.Mutex
	ran []string
}

func (l *argvLog) exec(ctx context.Context, argv []string) error {
	l.mu.Lock()
	l.ran = append(l.ran, strings.Join(argv, " "))
	l.mu.Unlock()
	if argv[0] == "/hang" {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func (l *argvLog) get() []string { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.ran) }

// TestQuorumCommandsRunInOrder: keepalived.conf(5)'s quorum_up and
// quorum_down run in the order the balancer reports the changes; one that
// hangs is cut at notify_timeout and does not hold the next.
func TestQuorumCommandsRunInOrder(t *testing.T) {
	r := newQuorumRunner(slog.New(slog.DiscardHandler))
	var l argvLog
	r.exec = l.exec
	r.setTimeout(50 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.run(ctx)
	r.changed(ipvs.QuorumChange{Service: "web", Held: false, Command: []string{"/hang"}})
	r.changed(ipvs.QuorumChange{Service: "web", Held: true, Command: []string{"/up", "web"}})
	r.changed(ipvs.QuorumChange{Service: "dns", Held: true}) // no command configured
	waitFor(t, "both commands", func() bool { return len(l.get()) == 2 })
	if got, want := l.get(), []string{"/hang", "/up web"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	waitFor(t, "the hung one counted as failed", func() bool { return r.Failed.Load() == 1 })
}

// TestQuorumQueueBounded: with the runner stuck, changes beyond the queue
// are dropped and counted, and the balancer's call returns at once.
func TestQuorumQueueBounded(t *testing.T) {
	r := newQuorumRunner(slog.New(slog.DiscardHandler))
	for range cap(r.q) + 3 {
		r.changed(ipvs.QuorumChange{Service: "web", Command: []string{"/down"}})
	}
	if d := r.Dropped.Load(); d != 3 {
		t.Errorf("dropped %d, want 3", d)
	}
}

// omegaBalancer is a balancer holding a quorum with omega set.
type omegaBalancer struct{ fakeBalancer }

func (*omegaBalancer) ShutdownQuorumCommands() []ipvs.QuorumChange {
	return []ipvs.QuorumChange{{Service: "web", Command: []string{"/usr/local/sbin/quorum-down.sh"}}}
}

// TestOmegaRunsQuorumDownAtShutdown: keepalived.conf(5) omega, "on daemon
// shutdown consider quorum ... down notifiers for execution": stopping the
// node runs the held services' quorum_down, even though the node's context
// is already done.
func TestOmegaRunsQuorumDownAtShutdown(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), func(*ipvs.Config, *slog.Logger) (Balancer, error) { return &omegaBalancer{}, nil })
	var l argvLog
	n.quorum.exec = l.exec
	if err := n.Apply(mustParse(t, fmt.Sprintf(withService, 100))); err != nil {
		t.Fatal(err)
	}
	cancel()
	n.Shutdown()
	n.Wait()
	if got, want := l.get(), []string{"/usr/local/sbin/quorum-down.sh"}; !slices.Equal(got, want) {
		t.Errorf("ran %q at shutdown, want %q", got, want)
	}
}

// TestQuorumCommandsFromRealChecks runs the real balancer (on a fake data
// plane) with the node's hooks: a real server whose TCP check fails loses
// the quorum and runs quorum_down; when it listens again quorum_up runs, and
// quorum_down when it stops again.
func TestQuorumCommandsFromRealChecks(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	flap, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flapAddr := flap.Addr().String()
	flap.Close() // servers start up (no alpha): its first failed check loses the quorum
	cfg := mustParse(t, fmt.Sprintf(`instances:
  - {name: front, interface: eth0, vrid: 51, virtual_addresses: [198.18.1.100/24]}
virtual_servers:
  - name: web
    address: 198.18.1.100:80
    quorum: 2
    quorum_up: [/up]
    quorum_down: [/down]
    check: {type: tcp, interval: 50ms, timeout: 200ms, rise: 1, fall: 1}
    real_servers: [{address: %s}, {address: %s}]
`, up.Addr(), flapAddr))
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	var l argvLog
	n.quorum.exec = l.exec
	opts := n.balancerOptions(nil)
	opts.Plane = &ipvstest.DataPlane{}
	b, err := ipvs.NewBalancer(BalancerConfig(cfg), opts)
	if err != nil {
		t.Fatal(err)
	}
	go b.Run(ctx)
	waitFor(t, "quorum_down", func() bool { return slices.Equal(l.get(), []string{"/down"}) })
	relisten, err := net.Listen("tcp", flapAddr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", flapAddr, err)
	}
	defer relisten.Close()
	waitFor(t, "quorum_up", func() bool { return len(l.get()) == 2 })
	relisten.Close()
	waitFor(t, "quorum_down again", func() bool { return len(l.get()) == 3 })
	if got, want := l.get(), []string{"/down", "/up", "/down"}; !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}

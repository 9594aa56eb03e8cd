package vrrpd

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/procexec"
	"github.com/hachat/hachat/ipvs"
)

// quorumRunner runs the virtual servers' quorum_up and quorum_down
// commands (keepalived.conf(5)) off the balancer's goroutine, one at a
// time and in order, each bounded by global.notify_timeout. The queue is
// bounded: when it is full a change is dropped, logged and counted, so a
// hung command never holds the balancer.
type quorumRunner struct {
	log     *slog.Logger
	timeout atomic.Int64 // time.Duration
	q       chan ipvs.QuorumChange
	// exec runs one command; tests replace it.
	exec func(ctx context.Context, argv []string) error

	Runs, Failed, Dropped atomic.Uint64
}

func newQuorumRunner(log *slog.Logger) *quorumRunner {
	r := &quorumRunner{log: log, q: make(chan ipvs.QuorumChange, 64)}
	r.timeout.Store(int64(config.DefaultNotifyTimeout))
	r.exec = func(ctx context.Context, argv []string) error { return (&procexec.Command{Argv: argv}).Run(ctx) }
	return r
}

// setTimeout follows global.notify_timeout across reloads.
func (r *quorumRunner) setTimeout(d time.Duration) {
	if d > 0 {
		r.timeout.Store(int64(d))
	}
}

// changed is the balancer's OnQuorum hook.
func (r *quorumRunner) changed(c ipvs.QuorumChange) {
	if len(c.Command) == 0 {
		return
	}
	select {
	case r.q <- c:
	default:
		r.Dropped.Add(1)
		r.log.Warn("quorum command queue full: command not run", "service", c.Service, "held", c.Held)
	}
}

// run runs queued commands until ctx is done.
func (r *quorumRunner) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-r.q:
			r.runOne(ctx, c)
		}
	}
}

// runOne runs c's command now, bounded by the timeout.
func (r *quorumRunner) runOne(ctx context.Context, c ipvs.QuorumChange) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(r.timeout.Load()))
	defer cancel()
	r.Runs.Add(1)
	what := "quorum_down"
	if c.Held {
		what = "quorum_up"
	}
	if err := r.exec(ctx, c.Command); err != nil {
		r.Failed.Add(1)
		r.log.Warn("quorum command failed", "service", c.Service, "command", what, "err", err)
		return
	}
	r.log.Info("quorum command run", "service", c.Service, "command", what)
}

// omega runs, at shutdown, the quorum_down commands of the services with
// omega whose quorum is held, as keepalived does on its way down. The
// balancer has them if it is an *ipvs.Balancer.
func (n *Node) omega() {
	b, ok := n.bal().(interface {
		ShutdownQuorumCommands() []ipvs.QuorumChange
	})
	if !ok {
		return
	}
	for _, c := range b.ShutdownQuorumCommands() {
		// The node's context may be done already: the daemon is stopping.
		n.quorum.runOne(context.WithoutCancel(n.ctx), c)
	}
}

package vrrpd

import (
	"context"
	"time"
)

// roleReporter tells the balancer about an instance's MASTER role from its
// own goroutine, in order. The instance loop waits for the balancer only a
// bounded time: the balancer wants to switch its data plane before the VIP
// is added, but a slow data plane must not make the loop late with its
// adverts, which would make the backups take over.
type roleReporter struct {
	ctx  context.Context // the instance's: once done, nobody reads ch
	n    *Node
	name string
	wait time.Duration
	ch   chan roleReq
}

type roleReq struct {
	master bool
	done   chan struct{}
}

func (n *Node) newRoleReporter(ctx context.Context, name string, interval time.Duration) *roleReporter {
	r := &roleReporter{ctx: ctx, n: n, name: name, wait: min(interval/2, 50*time.Millisecond), ch: make(chan roleReq, 16)}
	n.goRun(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case q := <-r.ch:
				if b := n.bal(); b != nil {
					start := time.Now()
					b.VRRPStateChanged(name, q.master)
					n.log.Debug("balancer role switched", "instance", name, "master", q.master, "took", time.Since(start))
				}
				close(q.done)
			}
		}
	})
	return r
}

// set is the instance's OnRole hook.
//
// A stopping instance releases its addresses after its context is done: the
// reporter is gone then, and Node.stop tells the balancer itself,
// synchronously. Waiting here would only delay the exit and log a false
// "slow balancer" warning on every normal stop.
func (r *roleReporter) set(master bool) {
	if r.n.bal() == nil || r.ctx.Err() != nil {
		return
	}
	q := roleReq{master, make(chan struct{})}
	select {
	case r.ch <- q:
	default:
		r.n.log.Warn("balancer role queue full", "instance", r.name)
		return
	}
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-q.done:
	case <-r.ctx.Done():
	case <-t.C:
		r.n.log.Warn("balancer slow to switch role; going on without waiting", "instance", r.name, "master", master, "waited", r.wait)
	}
}

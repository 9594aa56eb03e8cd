package main

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/test/netns"
)

// nsDial returns a chatload.DialFunc whose sockets live in host's network
// namespace: the socket is created on an OS thread switched into the
// namespace (netns.Host.Do) and stays there, so every byte of the load
// leaves from the client machine of the topology, not from the root
// namespace.
func nsDial(h *netns.Host) chatload.DialFunc {
	return func(ctx context.Context, local *net.TCPAddr, server string) (net.Conn, error) {
		var d net.Dialer
		if local != nil { // a nil *TCPAddr in the interface would not be nil
			d.LocalAddr = local
		}
		var c net.Conn
		err := h.Do(func() error {
			var err error
			c, err = d.DialContext(ctx, "tcp", server)
			return err
		})
		return c, err
	}
}

// Prober opens a new TCP connection to addr every Interval from a host and
// records whether it was established within Timeout: whether a new user
// could reach the chat service at that moment. It is the lab's stand-in for
// the paper's monitoring of the chat system during §3.2.
type Prober struct {
	Host     *netns.Host
	Addr     string
	Interval time.Duration
	Timeout  time.Duration

	mu      sync.Mutex
	t0      time.Time
	samples []Sample
}

// Run probes until ctx is done. Samples are timed from t0.
func (p *Prober) Run(ctx context.Context, t0 time.Time) {
	p.mu.Lock()
	p.t0 = t0
	p.mu.Unlock()
	dial := nsDial(p.Host)
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	for ctx.Err() == nil {
		at := time.Now()
		dctx, cancel := context.WithTimeout(ctx, p.Timeout)
		c, err := dial(dctx, nil, p.Addr)
		cancel()
		if ctx.Err() != nil {
			return // the run ended mid-probe: not a service failure
		}
		if err == nil {
			c.Close()
		}
		p.mu.Lock()
		p.samples = append(p.samples, Sample{At: at.Sub(t0), OK: err == nil})
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Samples returns a copy of the probes so far.
func (p *Prober) Samples() []Sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sample(nil), p.samples...)
}

// waitReachable dials addr from h until it connects or ctx ends.
func waitReachable(ctx context.Context, h *netns.Host, addr string) error {
	dial := nsDial(h)
	for {
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := dial(dctx, nil, addr)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

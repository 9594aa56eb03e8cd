package health

import (
	"context"
	"fmt"
	"net"
)

// TCP is keepalived's TCP_CHECK: the target is up when a TCP connection to
// Addr completes its three-way handshake. The connection is closed at once
// without sending data.
type TCP struct {
	// Addr is host:port to connect to (keepalived's connect_ip and
	// connect_port; by default the real server's address).
	Addr string
	// Dialer, when set, is used for the connection; set its LocalAddr to
	// bind the source address (keepalived's bindto). Its Timeout should be
	// zero: the probe's context carries the deadline.
	Dialer *net.Dialer
}

// Probe connects to Addr and closes the connection.
func (t *TCP) Probe(ctx context.Context) error {
	d := t.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	c, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return fmt.Errorf("tcp check %s: %w", t.Addr, err)
	}
	// A close error after a completed handshake says nothing about the
	// server's health.
	_ = c.Close()
	return nil
}

package health

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// UDP is keepalived's UDP_CHECK. It sends one datagram (Payload, or 8
// random bytes) from a connected socket. Without RequireReply the server
// is up unless an ICMP error comes back before the deadline (port or host
// unreachable, which Linux reports on the connected socket as
// ECONNREFUSED or EHOSTUNREACH); silence is success, because a UDP service
// need not answer. With RequireReply an answer must arrive, and start with
// Expect when set (compared up to the shorter of the two, as keepalived).
type UDP struct {
	Addr         string // host:port
	Dialer       *net.Dialer
	Payload      []byte
	RequireReply bool
	Expect       []byte
}

// Probe sends the datagram and judges what comes back.
func (u *UDP) Probe(ctx context.Context) error {
	d := u.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	c, err := d.DialContext(ctx, "udp", u.Addr)
	if err != nil {
		return fmt.Errorf("udp check %s: %w", u.Addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	dl, ok := ctx.Deadline()
	if !ok {
		return fmt.Errorf("udp check %s: no deadline: %w", u.Addr, ErrInvalidTarget)
	}
	payload := u.Payload
	if len(payload) == 0 {
		payload = make([]byte, 8)
		rand.Read(payload)
	}
	c.SetDeadline(dl)
	if _, err := c.Write(payload); err != nil {
		return fmt.Errorf("udp check %s: %w", u.Addr, ctxErr(ctx, err))
	}
	if !u.RequireReply {
		// Wait a little short of the deadline, so that silence is a
		// verdict of its own and not the probe's timeout.
		c.SetReadDeadline(dl.Add(-min(time.Until(dl)/10, 100*time.Millisecond)))
	}
	buf := make([]byte, 64<<10)
	n, err := c.Read(buf)
	switch {
	case err != nil && !u.RequireReply && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
		return nil // nothing came back, not even an ICMP error
	case err != nil:
		return fmt.Errorf("udp check %s: %w", u.Addr, ctxErr(ctx, err))
	}
	if k := min(n, len(u.Expect)); !bytes.Equal(buf[:k], u.Expect[:k]) {
		return fmt.Errorf("udp check %s: reply %x does not start with %x: %w", u.Addr, buf[:min(n, 32)], u.Expect, ErrBadReply)
	}
	return nil
}

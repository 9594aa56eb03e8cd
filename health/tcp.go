package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"time"
)

// DefaultMaxRead bounds what a [TCP] check with Expect reads.
const DefaultMaxRead = 4096

// TCP is keepalived's TCP_CHECK: the target is up when a TCP connection to
// Addr completes its three-way handshake. The connection is then closed
// without sending data.
//
// Optionally, in the manner of HAProxy's tcp-check, it also performs a TLS
// handshake, sends bytes and expects a reply matching a regular
// expression. That turns a check that the kernel answers (a wedged daemon
// still completes handshakes from its listen backlog) into a check that the
// service's event loop answers. For an IRC server, Send "PING :health\r\n"
// and Expect `PONG`: RFC 2812 §3.7.2 PING is answered before registration
// by hachat's chatd and by common ircds.
type TCP struct {
	// Addr is host:port to connect to (keepalived's connect_ip and
	// connect_port; by default the real server's address).
	Addr string
	// Dialer, when set, is used for the connection; set its LocalAddr to
	// bind the source address (keepalived's bindto). Its Timeout should be
	// zero: the probe's context carries the deadline.
	Dialer *net.Dialer
	// TLS, when set, runs a TLS handshake (RFC 8446) with this
	// configuration after connecting; set its ServerName for SNI, and
	// InsecureSkipVerify unless the certificate is to be verified.
	TLS *tls.Config
	// Send is written after the connection (and handshake) is up.
	Send []byte
	// Expect, when set, must match what the server sends, read until it
	// matches, the server closes, MaxRead bytes arrived or the deadline.
	Expect *regexp.Regexp
	// MaxRead bounds the bytes read for Expect; zero means
	// DefaultMaxRead.
	MaxRead int
}

// Probe connects to Addr, runs the optional dialogue and closes.
func (t *TCP) Probe(ctx context.Context) error {
	d := t.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	raw, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return fmt.Errorf("tcp check %s: %w", t.Addr, err)
	}
	// A close error after a completed handshake says nothing about the
	// server's health.
	defer raw.Close()
	if t.TLS == nil && t.Send == nil && t.Expect == nil {
		return nil
	}
	// Bound every read and write by the context: the deadline directly, a
	// cancellation by making the deadline pass.
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c := raw
	if t.TLS != nil {
		tc := tls.Client(raw, t.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			return t.ioErr(ctx, "tls handshake", err)
		}
		c = tc
	}
	if len(t.Send) > 0 {
		if _, err := c.Write(t.Send); err != nil {
			return t.ioErr(ctx, "send", err)
		}
	}
	if t.Expect == nil {
		return nil
	}
	max := t.MaxRead
	if max <= 0 {
		max = DefaultMaxRead
	}
	buf := make([]byte, 0, min(max, 512))
	chunk := make([]byte, 512)
	for {
		n, err := c.Read(chunk[:min(len(chunk), max-len(buf))])
		buf = append(buf, chunk[:n]...)
		if t.Expect.Match(buf) {
			return nil
		}
		switch {
		case errors.Is(err, io.EOF):
			return fmt.Errorf("tcp check %s: server closed after %q, want %q: %w", t.Addr, excerpt(buf), t.Expect, ErrBodyMismatch)
		case err != nil:
			return t.ioErr(ctx, fmt.Sprintf("read (got %q so far)", excerpt(buf)), err)
		case len(buf) >= max:
			return fmt.Errorf("tcp check %s: no match for %q in the first %d bytes: %w", t.Addr, t.Expect, max, ErrBodyMismatch)
		}
	}
}

// ioErr wraps an I/O error, naming the context's error when the context
// ended it: a deadline we set to abort reads is a timeout, not a fault.
func (t *TCP) ioErr(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("tcp check %s: %s: %w: %w", t.Addr, op, ctxErr, err)
	}
	return fmt.Errorf("tcp check %s: %s: %w", t.Addr, op, err)
}

// excerpt shortens a reply for an error message.
func excerpt(b []byte) string {
	const n = 64
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

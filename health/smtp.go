package health

import (
	"context"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"time"
)

// SMTP is keepalived's SMTP_CHECK: connect, read the 220 greeting, send
// HELO and expect 250, then QUIT (RFC 5321 §4.1.1.1, §4.2). A server that
// greets with 554 (RFC 5321 §3.1: no service) or refuses HELO is down.
type SMTP struct {
	Addr   string // host:port
	Dialer *net.Dialer
	// Helo is the name sent in HELO; empty means this host's name.
	Helo string
}

// Probe runs the greeting and HELO exchange.
func (s *SMTP) Probe(ctx context.Context) error {
	d := s.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	raw, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp check %s: %w", s.Addr, err)
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	helo := s.Helo
	if helo == "" {
		if helo, err = os.Hostname(); err != nil || helo == "" {
			helo = "localhost"
		}
	}
	c := textproto.NewConn(raw)
	if err := smtpStep(c, "", 220); err != nil {
		return fmt.Errorf("smtp check %s: greeting: %w", s.Addr, ctxErr(ctx, err))
	}
	if err := smtpStep(c, "HELO "+helo, 250); err != nil {
		return fmt.Errorf("smtp check %s: HELO: %w", s.Addr, ctxErr(ctx, err))
	}
	// The verdict is in; a QUIT the server does not answer changes nothing.
	_ = c.PrintfLine("QUIT")
	return nil
}

// smtpStep sends cmd (unless empty) and reads a reply that must have code
// want; a reply with another code is ErrBadReply.
func smtpStep(c *textproto.Conn, cmd string, want int) error {
	if cmd != "" {
		if err := c.PrintfLine("%s", cmd); err != nil {
			return err
		}
	}
	code, msg, err := c.ReadResponse(want)
	if _, ok := err.(*textproto.Error); ok {
		return fmt.Errorf("%d %s: %w", code, msg, ErrBadReply)
	}
	return err
}

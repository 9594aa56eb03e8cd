// Package mailalert sends keepalived-style e-mail alerts (keepalived.conf(5),
// global_defs notification_email and smtp_server) over SMTP (RFC 5321), one
// plain-text mail per event. Sending is asynchronous through a small bounded
// queue so a slow or dead mail server never delays VRRP or health checking:
// when the queue is full the alert is dropped and counted.
package mailalert

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// QueueSize bounds the alerts waiting to be sent.
const QueueSize = 64

// DefaultConnectTimeout is keepalived's smtp_connect_timeout default.
const DefaultConnectTimeout = 30 * time.Second

// Settings say where and how to send.
type Settings struct {
	Server         string   // host:port
	From           string   // envelope and header sender
	To             []string // recipients
	Helo           string   // EHLO name; default "localhost"
	ConnectTimeout time.Duration
	RouterID       string // subject prefix, keepalived's router_id
}

// Alert is one mail to send.
type Alert struct {
	Subject string
	Body    string
}

// Sender queues and sends alerts. The zero value is not usable: use New.
type Sender struct {
	mu     sync.Mutex
	s      Settings
	queue  chan Alert
	onFail func(Alert, error)

	Sent    atomic.Uint64 // mails the server accepted
	Failed  atomic.Uint64 // mails that could not be delivered
	Dropped atomic.Uint64 // alerts dropped because the queue was full
}

// New returns a Sender; Run must be running for mail to leave.
func New(s Settings) *Sender {
	return &Sender{s: s, queue: make(chan Alert, QueueSize)}
}

// Configure replaces the settings (on reload); queued alerts use the new ones.
func (m *Sender) Configure(s Settings) {
	m.mu.Lock()
	m.s = s
	m.mu.Unlock()
}

func (m *Sender) settings() Settings {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.s
}

// OnFailure sets a function told of every mail that could not be
// delivered (the daemon logs them); it runs on Run's goroutine.
func (m *Sender) OnFailure(f func(Alert, error)) {
	m.mu.Lock()
	m.onFail = f
	m.mu.Unlock()
}

// Enabled reports whether mail has somewhere to go.
func (m *Sender) Enabled() bool { return enabled(m.settings()) }

func enabled(s Settings) bool { return s.Server != "" && len(s.To) > 0 }

// Send queues an alert without blocking; it is ignored when no server is
// configured and dropped (and counted) when the queue is full.
func (m *Sender) Send(a Alert) {
	s := m.settings()
	if !enabled(s) {
		return
	}
	if s.RouterID != "" {
		a.Subject = "[" + s.RouterID + "] " + a.Subject
	}
	select {
	case m.queue <- a:
	default:
		m.Dropped.Add(1)
	}
}

// InstanceState queues keepalived's mail for a VRRP state change.
func (m *Sender) InstanceState(kind, name, state string) {
	subj := fmt.Sprintf("VRRP %s %s - Entering %s state", kind, name, state)
	m.Send(Alert{Subject: subj, Body: "=> VRRP " + kind + " is now in " + state + " state <="})
}

// RealServer queues keepalived's mail for a real server going up or down.
func (m *Sender) RealServer(service, server string, up bool) {
	st, word := "DOWN", "removed from"
	if up {
		st, word = "UP", "added to"
	}
	subj := fmt.Sprintf("Realserver %s - %s", server, st)
	body := fmt.Sprintf("=> Realserver %s of virtual server %s is %s, %s the pool <=", server, service, st, word)
	m.Send(Alert{Subject: subj, Body: body})
}

// Run sends queued alerts until ctx ends.
func (m *Sender) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-m.queue:
			if err := deliver(ctx, m.settings(), a, time.Now()); err != nil {
				m.Failed.Add(1)
				m.mu.Lock()
				f := m.onFail
				m.mu.Unlock()
				if f != nil {
					f(a, err)
				}
			} else {
				m.Sent.Add(1)
			}
		}
	}
}

// deliver sends one mail, bounding the whole exchange by the connect timeout.
func deliver(ctx context.Context, s Settings, a Alert, now time.Time) error {
	timeout := s.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Server)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(s.Server)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	helo := s.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return err
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	for _, to := range s.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(Message(s, a, now)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Message renders the RFC 5322 message for one alert.
func Message(s Settings, a Alert, now time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", clean(s.From))
	fmt.Fprintf(&b, "To: %s\r\n", clean(strings.Join(s.To, ", ")))
	fmt.Fprintf(&b, "Subject: %s\r\n", clean(a.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(a.Body, "\n", "\r\n"))
	b.WriteString("\r\n")
	return []byte(b.String())
}

// clean keeps a header value on one line: names come from the config file.
func clean(v string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
}

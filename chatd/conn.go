package chatd

import (
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd/irc"
)

// Client is one connection. Its reader goroutine (serve) parses and handles
// commands strictly in order; sends never block: they append to a bounded
// queue that a writer goroutine, started on demand, drains with one writev.
// An idle client therefore costs one goroutine and a 512-byte read buffer.
type Client struct {
	s    *Server
	conn net.Conn
	ip   string

	caps atomic.Uint32 // capSet
	nick atomic.Pointer[string]
	u    atomic.Pointer[user] // set once registered

	// Reader-goroutine state.
	capVersion  int
	capBlocking bool // CAP LS/REQ seen and no CAP END yet
	user        string
	realname    string
	passOK      bool
	account     string // SASL before registration
	sasl        saslState
	pingSent    bool
	bucket      tokenBucket
	floodSince  time.Time // start of the current run of throttled lines
	quitReason  string
	quitMetric  string
	connectedAt time.Time

	// Send side, guarded by mu.
	mu          sync.Mutex
	sendq       [][]byte
	sendqBytes  int
	replyCredit int // reply bytes queued since the queue was last empty
	writing     bool
	closing     bool // no more sends; the writer closes the conn after flushing
	closed      bool
}

func (s *Server) newClient(conn net.Conn) *Client {
	ip := conn.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	c := &Client{s: s, conn: conn, ip: ip, connectedAt: time.Now()}
	star := "*"
	c.nick.Store(&star)
	if r := s.cfg.Limits.FloodRate; r > 0 {
		c.bucket = tokenBucket{rate: r, burst: float64(s.cfg.Limits.FloodBurst), tokens: float64(s.cfg.Limits.FloodBurst), last: c.connectedAt}
	}
	return c
}

func (c *Client) nickOrStar() string { return *c.nick.Load() }

func (c *Client) hasCap(cp capSet) bool { return capSet(c.caps.Load())&cp != 0 }

// replyAllowance is how far beyond sendq_bytes the replies to a client's
// own command may queue: a CHATHISTORY page of 1000 messages or the NAMES of
// a big channel is larger than the broadcast bound, and the client asked for
// it. The queue as a whole stays bounded by sendq_bytes + replyAllowance.
const replyAllowance = 2 << 20

// send queues raw wire bytes (CRLF included). The slice is shared between
// recipients of one broadcast and must not be modified afterwards.
func (c *Client) send(b []byte) { c.enqueue(b, false) }

// sendReply queues part of the reply to the client's own command.
func (c *Client) sendReply(b []byte) { c.enqueue(b, true) }

// enqueue applies the send queue bound. Replies queued since the queue was
// last empty raise the bound for everything behind them (replyCredit), so
// a broadcast arriving while a big reply drains is not mistaken for a slow
// client; the whole queue never exceeds sendq_bytes + replyAllowance.
func (c *Client) enqueue(b []byte, reply bool) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	limit := c.s.cfg.Limits.SendQBytes + min(c.replyCredit, replyAllowance)
	if reply {
		limit = c.s.cfg.Limits.SendQBytes + replyAllowance
		c.replyCredit += len(b)
	}
	if c.sendqBytes+len(b) > limit {
		c.mu.Unlock()
		c.close("SendQ exceeded", discSendQ)
		return
	}
	c.sendq = append(c.sendq, b)
	c.sendqBytes += len(b)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func (c *Client) sendMsg(m irc.Message) {
	b, err := m.Bytes()
	if err != nil {
		return
	}
	c.send(b)
}

func (c *Client) sendReplyMsg(m irc.Message) {
	b, err := m.Bytes()
	if err != nil {
		return
	}
	c.sendReply(b)
}

// close tells the client why with ERROR (RFC 2812 §3.7.4) and closes the
// connection once the queue is flushed. The first reason wins.
func (c *Client) close(reason, metric string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.quitReason, c.quitMetric = reason, metric
	overflow := metric == discSendQ
	if overflow {
		// Whatever is queued will not be read in time: drop it.
		c.sendq, c.sendqBytes = nil, 0
	}
	m := irc.Message{Command: "ERROR", Params: []string{"Closing link: " + reason}}
	b, _ := m.Bytes()
	c.sendq = append(c.sendq, b)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	// A writer blocked on a full socket must give up soon.
	_ = c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if start {
		go c.writeLoop()
	}
}

func (c *Client) writeLoop() {
	for {
		c.mu.Lock()
		q := c.sendq
		c.sendq, c.sendqBytes = nil, 0
		if len(q) == 0 {
			c.replyCredit = 0
			c.writing = false
			closing := c.closing && !c.closed
			if closing {
				c.closed = true
			}
			c.mu.Unlock()
			if closing {
				_ = c.conn.Close()
			}
			return
		}
		c.mu.Unlock()
		// No per-write deadline: it costs a timer update per write, and a
		// peer that stops reading is caught anyway, by sendq overflow if
		// traffic continues or by the ping timeout (whose close unblocks us)
		// if it does not.
		bufs := net.Buffers(q)
		if _, err := bufs.WriteTo(c.conn); err != nil {
			c.mu.Lock()
			if !c.closing {
				c.closing = true
				c.quitReason, c.quitMetric = "Write error", discWriteError
			}
			c.closed = true
			c.sendq, c.sendqBytes, c.writing = nil, 0, false
			c.mu.Unlock()
			_ = c.conn.Close()
			return
		}
	}
}

// serve is the reader goroutine.
func (c *Client) serve() {
	defer c.cleanup()
	s := c.s
	lr := irc.NewLineReader(c.conn, s.cfg.Limits.LineBytes)
	regDeadline := c.connectedAt.Add(s.cfg.Timers.RegistrationTimeout)
	for {
		var deadline time.Time
		switch {
		case c.u.Load() == nil:
			deadline = regDeadline
		case c.pingSent:
			deadline = time.Now().Add(s.cfg.Timers.PingTimeout)
		default:
			deadline = time.Now().Add(s.cfg.Timers.PingInterval)
		}
		_ = c.conn.SetReadDeadline(deadline)
		line, err := lr.ReadLine()
		if err != nil {
			switch {
			case errors.Is(err, irc.ErrLineTooLong):
				s.m.dropped.WithLabelValues(dropTooLong).Inc()
				c.sendMsg(s.numeric(c, errInputTooLong, "Input line was too long"))
				continue
			case errors.Is(err, os.ErrDeadlineExceeded):
				if c.u.Load() == nil {
					c.close("Registration timeout", discRegTimeout)
					return
				}
				if c.pingSent {
					c.close("Ping timeout: "+s.cfg.Timers.PingInterval.String()+" idle", discPingTimeout)
					return
				}
				c.pingSent = true
				c.sendMsg(irc.Message{Command: "PING", Params: []string{s.cfg.ServerName}})
				continue
			}
			c.close("Connection closed", discClosed)
			return
		}
		c.pingSent = false
		if now := time.Now(); c.throttle(now) {
			c.close("Excess Flood", discFlood)
			return
		}
		msg, err := irc.Parse(string(line))
		if err != nil {
			c.badLine(err)
			continue
		}
		c.handle(msg)
		if c.isClosing() {
			return
		}
	}
}

func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *Client) badLine(err error) {
	s := c.s
	switch {
	case errors.Is(err, irc.ErrEmpty):
		s.m.dropped.WithLabelValues(dropEmpty).Inc()
	case errors.Is(err, irc.ErrInvalidUTF8):
		// IRCv3 UTF8ONLY: reject with FAIL rather than store bytes.
		s.m.dropped.WithLabelValues(dropInvalidUTF8).Inc()
		c.sendMsg(s.serverMsg("FAIL", "*", "INVALID_UTF8", "Message rejected: it is not valid UTF-8"))
	case errors.Is(err, irc.ErrBodyTooLong), errors.Is(err, irc.ErrTagsTooLong):
		s.m.dropped.WithLabelValues(dropTooLong).Inc()
		c.sendMsg(s.numeric(c, errInputTooLong, "Input line was too long"))
	default:
		s.m.dropped.WithLabelValues(dropMalformed).Inc()
		c.sendMsg(s.serverMsg("FAIL", "*", "INVALID_MESSAGE", "Malformed line: "+strings.TrimPrefix(err.Error(), "irc: ")))
	}
}

// cleanup runs once the reader stops: it commits the QUIT of a registered
// client, so other nodes see it, then releases the session.
func (c *Client) cleanup() {
	c.close("Connection closed", discClosed)
	c.mu.Lock()
	reason, metric := c.quitReason, c.quitMetric
	c.mu.Unlock()
	c.s.m.disconnects.WithLabelValues(metric).Inc()
	if u := c.u.Load(); u != nil && !c.s.reaped.Load() {
		c.s.quitUser(u, reason)
	} else if u != nil {
		c.s.dropLocal(u)
	}
	c.s.forget(c)
}

// throttle applies flood control to one line: a client over its rate is
// slowed down (fake lag: we stop reading, TCP pushes back), and one that
// keeps flooding for longer than MaxFloodDelay is to be disconnected.
func (c *Client) throttle(now time.Time) bool {
	d := c.bucket.take(now)
	if d <= 0 {
		c.floodSince = time.Time{}
		return false
	}
	if c.floodSince.IsZero() {
		c.floodSince = now
	} else if now.Sub(c.floodSince) > c.s.cfg.Limits.MaxFloodDelay {
		return true
	}
	time.Sleep(d)
	return false
}

// tokenBucket is the flood limiter: burst lines at once, then rate per
// second. take returns how long the caller must wait for its token.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *tokenBucket) take(now time.Time) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

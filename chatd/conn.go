package chatd

import (
	"errors"
	"io"
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
// queue that a writer goroutine, started on demand, drains (writeQueue).
// An idle client holds no read buffer, and once parked no goroutine either
// (park_linux.go).
type Client struct {
	s    *Server
	conn net.Conn
	ip   string
	ipst *ipState // per-IP limits; nil for an exempt network

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
	loginFails  int       // failed SASL logins on this connection
	registered  bool      // an account was registered on this connection
	quitReason  string
	quitMetric  string
	connectedAt time.Time

	// Reader state kept across parking (park_linux.go).
	lr        *irc.LineReader
	lastLine  time.Time   // when the last line arrived (connectedAt before)
	fd        int32       // the socket, if the parker can watch it; else -1
	noPark    bool        // parking failed or came too late: wait for the next line
	parkTimer *time.Timer // the read deadline while parked (guarded by the parker)
	parkUntil time.Time   // that deadline (guarded by the parker)

	// Send side, guarded by mu.
	mu          sync.Mutex
	sendq       [][]byte
	sendqBytes  int
	inflight    int           // bytes the writer took and is writing (still in memory)
	replyCredit int           // reply bytes queued since the queue was last empty
	drained     chan struct{} // closed when the writer finishes a batch, for waitDrained
	writing     bool
	closing     bool // no more sends; the writer closes the conn after flushing
	closed      bool
}

func (s *Server) newClient(conn net.Conn) *Client {
	ip := conn.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	c := &Client{s: s, conn: conn, ip: ip, connectedAt: time.Now(), fd: -1}
	c.lastLine = c.connectedAt
	if s.parker != nil {
		c.fd = parkableFD(conn) // before the client is shared: the writer reads it
	}
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
	c.s.accountQueued(c, len(b))
	if start {
		go c.writeLoop()
	}
}

// queuedBytes is what c holds in memory for sending, and whether it is
// closing.
func (c *Client) queuedBytes() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendqBytes + c.inflight, c.closing
}

// waitDrained waits until at most limit bytes are queued to c, or the
// deadline. It reports false on the deadline or if c is closing.
func (c *Client) waitDrained(limit int, deadline time.Time) bool {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.mu.Lock()
		if c.closing || c.sendqBytes+c.inflight <= limit {
			closing := c.closing
			c.mu.Unlock()
			return !closing
		}
		if c.drained == nil {
			c.drained = make(chan struct{})
		}
		ch := c.drained
		c.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
		}
		select {
		case <-ch:
		case <-timer.C:
			return false
		}
	}
}

// wakeDrained wakes waitDrained. c.mu held.
func (c *Client) wakeDrained() {
	if c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
}

func (c *Client) sendMsg(m irc.Message) {
	b, err := m.Bytes()
	if err != nil {
		return
	}
	c.send(b)
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
	overflow := metric == discSendQ || metric == discSendQServer || metric == discSendQIP
	dropped := 0
	if overflow {
		// Whatever is queued will not be read in time: drop it.
		dropped = c.sendqBytes
		c.sendq, c.sendqBytes = nil, 0
	}
	c.wakeDrained()
	m := irc.Message{Command: "ERROR", Params: []string{"Closing link: " + reason}}
	b, _ := m.Bytes()
	c.sendq = append(c.sendq, b)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if dropped > 0 {
		c.s.accountQueued(c, -dropped)
	}
	// A writer blocked on a full socket must give up soon; at once when
	// the client is cut to free memory (its ERROR line is then lost, but
	// it was not reading).
	grace := 2 * time.Second
	if metric == discSendQServer || metric == discSendQIP {
		grace = 0
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(grace))
	if start {
		go c.writeLoop()
	}
}

func (c *Client) writeLoop() {
	for {
		c.mu.Lock()
		if c.inflight > 0 {
			c.s.accountQueued(c, -c.inflight)
			c.inflight = 0
		}
		c.wakeDrained()
		q := c.sendq
		c.inflight = c.sendqBytes
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
				c.s.parker.unpark(c) // the reader must see the socket close
				_ = c.conn.Close()
			}
			return
		}
		c.mu.Unlock()
		// No per-write deadline: it costs a timer update per write, and a
		// peer that stops reading is caught anyway, by sendq overflow if
		// traffic continues or by the ping timeout (whose close unblocks us)
		// if it does not.
		if err := writeQueue(c.conn, q); err != nil {
			c.mu.Lock()
			if !c.closing {
				c.closing = true
				c.quitReason, c.quitMetric = "Write error", discWriteError
			}
			c.closed = true
			freed := c.sendqBytes + c.inflight
			c.sendq, c.sendqBytes, c.inflight, c.writing = nil, 0, 0, false
			c.wakeDrained()
			c.mu.Unlock()
			c.s.accountQueued(c, -freed)
			c.s.parker.unpark(c)
			_ = c.conn.Close()
			return
		}
	}
}

// writeChunk is the size of the pooled buffers writeQueue copies lines into.
const writeChunk = 32 << 10

var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk); return &b }}

// writeQueue writes q's lines in order. Not with writev (net.Buffers): the
// socket would keep the iovec array of its largest batch for its lifetime
// (16 B a line: 320 B for a welcome burst, 16 KiB after a 1000-line
// CHATHISTORY reply), on every idle client. Lines are copied into a pooled
// buffer and written a chunk at a time; a lone line is written as it is.
func writeQueue(w io.Writer, q [][]byte) error {
	if len(q) == 1 {
		_, err := w.Write(q[0])
		return err
	}
	bp := writeBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		*bp = buf[:0]
		writeBufs.Put(bp)
	}()
	for _, b := range q {
		for len(b) > 0 {
			n := copy(buf[len(buf):cap(buf)], b)
			buf, b = buf[:len(buf)+n], b[n:]
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) == 0 {
		return nil
	}
	_, err := w.Write(buf)
	return err
}

// serve is the reader goroutine.
func (c *Client) serve() {
	c.lr = c.newLineReader()
	c.readLoop()
}

// readLoop reads and handles lines until the client is done, or until it
// parks (its goroutine then ends, and resume continues on a new one).
func (c *Client) readLoop() {
	for {
		parking := c.setReadDeadline()
		line, err := c.lr.ReadLine()
		if parking && errors.Is(err, os.ErrDeadlineExceeded) {
			// idle_park passed, not the client's own deadline.
			if c.park() {
				return
			}
			c.noPark = true
			continue
		}
		if !c.afterRead(line, err) {
			c.cleanup()
			return
		}
	}
}

// resume continues the reader of a parked client on a new goroutine;
// timedOut: its read deadline passed while it was parked.
func (c *Client) resume(timedOut bool) {
	if timedOut && c.readFailed(os.ErrDeadlineExceeded) {
		c.cleanup()
		return
	}
	if !timedOut {
		// Woken for input: read it. Its park deadline has passed, and a
		// read past its deadline fails before it looks at the socket.
		c.noPark = true
	}
	c.readLoop()
}

// park hands the idle client to the parker until its read deadline.
//
//go:noinline
func (c *Client) park() bool {
	d := time.Until(c.readDeadline())
	return d > 0 && c.s.parker.park(c, c.fd, d)
}

// The reader goroutine of an idle client is parked in serve's ReadLine
// for hours. serve's frame is kept tiny, everything else in the callees
// below (not inlined), so the parked stack stays under a quarter of its
// size and the GC halves it back to the minimum.

//go:noinline
func (c *Client) newLineReader() *irc.LineReader {
	l := c.s.cfg.Limits
	src := idleReader(c.conn)
	if l.FloodRate > 0 {
		src = &meteredReader{c: c, r: src, bucket: tokenBucket{rate: float64(l.ReadBytesRate),
			burst: float64(l.ReadBytesBurst), tokens: float64(l.ReadBytesBurst), last: c.connectedAt}}
	}
	return irc.NewLineReader(src, l.LineBytes)
}

// setReadDeadline sets the next read's deadline: the client's own
// (registration, ping), or, for a client the parker may hold that has
// nothing pending, idle_park after its last line if that comes first
// (parking: true).
//
//go:noinline
func (c *Client) setReadDeadline() (parking bool) {
	deadline := c.readDeadline()
	if c.fd >= 0 && !c.noPark && c.lr.Buffered() == 0 {
		if at := c.lastLine.Add(c.s.cfg.Timers.IdlePark); at.Before(deadline) {
			deadline, parking = at, true
		}
	}
	_ = c.conn.SetReadDeadline(deadline)
	return parking
}

// readDeadline is when the client's silence ends it or earns it a PING.
func (c *Client) readDeadline() time.Time {
	t := c.s.cfg.Timers
	switch {
	case c.u.Load() == nil:
		return c.connectedAt.Add(t.RegistrationTimeout)
	case c.pingSent:
		return time.Now().Add(t.PingTimeout)
	}
	return c.lastLine.Add(t.PingInterval)
}

// afterRead handles what ReadLine returned and reports whether to go on.
//
//go:noinline
func (c *Client) afterRead(line []byte, err error) bool {
	if err != nil {
		return !c.readFailed(err)
	}
	c.pingSent = false
	now := time.Now()
	c.lastLine, c.noPark = now, false
	if c.throttle(now) {
		c.close("Excess Flood", discFlood)
		return false
	}
	text := string(line)
	c.offStack(func() { c.dispatch(text) })
	return !c.isClosing()
}

// readFailed handles a ReadLine error and reports whether the client is
// done. Kept out of serve so the reader's own frame stays small.
//
//go:noinline
func (c *Client) readFailed(err error) bool {
	s := c.s
	switch {
	case errors.Is(err, irc.ErrLineTooLong):
		// Charged like any line: 417 is no way around flood control.
		if c.throttle(time.Now()) {
			c.close("Excess Flood", discFlood)
			return true
		}
		s.m.dropped.WithLabelValues(dropTooLong).Inc()
		c.sendMsg(s.numeric(c, errInputTooLong, "Input line was too long"))
		return false
	case errors.Is(err, errReadFlood):
		c.close("Excess Flood", discFlood)
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		if c.u.Load() == nil {
			c.close("Registration timeout", discRegTimeout)
			return true
		}
		if c.pingSent {
			c.close("Ping timeout: "+s.cfg.Timers.PingInterval.String()+" idle", discPingTimeout)
			return true
		}
		c.pingSent = true
		c.offStack(func() { c.sendMsg(irc.Message{Command: "PING", Params: []string{s.cfg.ServerName}}) })
		return false
	}
	c.close("Connection closed", discClosed)
	return true
}

// dispatch parses and handles one line.
func (c *Client) dispatch(line string) {
	msg, err := irc.Parse(line)
	if err != nil {
		c.badLine(line, err)
		return
	}
	c.handle(msg)
}

// offStack runs one command on a short-lived goroutine and waits
// for it, so commands still run strictly in order. A handler (registration,
// store calls into SQLite) grows a stack to 8-32 KiB; run on the reader
// goroutine, that stack stayed with every idle client until the GC shrank
// it, and was most of an idle client's memory. The reader itself only ever
// blocks in Read, on a minimal stack. Costs a goroutine start per command.
func (c *Client) offStack(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

func (c *Client) badLine(line string, err error) {
	s := c.s
	switch {
	case errors.Is(err, irc.ErrEmpty):
		s.m.dropped.WithLabelValues(dropEmpty).Inc()
	case errors.Is(err, irc.ErrInvalidUTF8):
		// IRCv3 UTF8ONLY: reject with FAIL rather than store bytes.
		s.m.dropped.WithLabelValues(dropInvalidUTF8).Inc()
		c.rejectInvalidUTF8(line)
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

// errReadFlood is what meteredReader returns for a client that has sent
// faster than read_bytes_rate for longer than max_flood_delay.
var errReadFlood = errors.New("chatd: read flood")

// meteredReader bounds the bytes a client may send per second, whatever
// they are (a line with no end never reaches the line throttle): over the
// rate it delays reading (TCP pushes back), and a client that stays over it
// for MaxFloodDelay gets errReadFlood.
type meteredReader struct {
	c      *Client
	r      io.Reader
	bucket tokenBucket
	since  time.Time // start of the current run over the rate
}

// WaitReadable passes irc.IdleWaiter through.
func (m *meteredReader) WaitReadable() error {
	if w, ok := m.r.(irc.IdleWaiter); ok {
		return w.WaitReadable()
	}
	return nil
}

func (m *meteredReader) Read(p []byte) (int, error) {
	// Never read more than the burst at once, so one read cannot overdraw
	// the bucket by more than a burst.
	if len(p) > int(m.bucket.burst) {
		p = p[:int(m.bucket.burst)]
	}
	n, err := m.r.Read(p)
	if n > 0 {
		now := time.Now()
		d := m.bucket.takeN(now, float64(n))
		switch {
		case d <= 0:
			m.since = time.Time{}
		case m.since.IsZero():
			m.since = now
			time.Sleep(d)
		case now.Sub(m.since) > m.c.s.cfg.Limits.MaxFloodDelay:
			return n, errReadFlood
		default:
			time.Sleep(d)
		}
	}
	return n, err
}

// tokenBucket is the flood limiter: burst lines at once, then rate per
// second. take returns how long the caller must wait for its token.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *tokenBucket) take(now time.Time) time.Duration { return b.takeN(now, 1) }

// takeN takes n tokens, going into debt if need be, and returns how long
// the debt takes to repay.
func (b *tokenBucket) takeN(now time.Time, n float64) time.Duration {
	if b.rate <= 0 {
		return 0
	}
	b.refill(now)
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

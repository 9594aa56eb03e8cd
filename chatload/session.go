package chatload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxLine bounds one received line: 8191 bytes of tags plus 512 of message
// (IRCv3 message-tags), rounded up. Longer lines are dropped and counted.
const maxLine = 16 << 10

// readBuf is the per-connection read buffer. Most IRC lines are far
// shorter; a longer line is assembled in session.partial, so tens of
// thousands of idle connections do not cost 16 KiB each.
const readBuf = 2 << 10

// DialFunc opens a TCP connection to server, from local when it is not nil.
// Tests inject one to produce errors a loopback socket cannot.
type DialFunc func(ctx context.Context, local *net.TCPAddr, server string) (net.Conn, error)

func defaultDial(ctx context.Context, local *net.TCPAddr, server string) (net.Conn, error) {
	d := net.Dialer{}
	if local != nil {
		d.LocalAddr = local
		d.Control = bindNoPort
	}
	return d.DialContext(ctx, "tcp", server)
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT: with a source address bound,
// Linux would otherwise pick the port at bind() time, unique per source
// address across all servers; deferred to connect(), a port is only unique
// per (source, server) pair, so each server gets the whole port range.
func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt IP_BIND_ADDRESS_NO_PORT: %w", serr)
	}
	return nil
}

// IOCount counts payload bytes on the TCP connections, as httperf's Net I/O
// does: no TCP/IP headers, no retransmissions.
type IOCount struct {
	sent atomic.Int64
	recv atomic.Int64
}

// Sent and Recv return the byte counts so far.
func (c *IOCount) Sent() int64 { return c.sent.Load() }
func (c *IOCount) Recv() int64 { return c.recv.Load() }

type countingConn struct {
	net.Conn
	io *IOCount
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.io.recv.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.io.sent.Add(int64(n))
	return n, err
}

// DropReason names why a received line was not processed.
type DropReason string

// Drop reasons.
const (
	DropLineTooLong DropReason = "line-too-long"
	DropUnparsable  DropReason = "unparsable"
	// DropForeign: a channel message this run did not write (another
	// client, or history left by an earlier run).
	DropForeign DropReason = "foreign-message"
	// DropOutOfRange: this run's format with a sequence number it never
	// sent.
	DropOutOfRange DropReason = "out-of-range"
)

// Drops counts dropped lines by reason; safe for concurrent use.
type Drops struct {
	mu sync.Mutex
	m  map[DropReason]int64
}

func (d *Drops) add(r DropReason) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[DropReason]int64{}
	}
	d.m[r]++
}

// Snapshot returns a copy of the counters (nil when nothing was dropped).
func (d *Drops) Snapshot() map[DropReason]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) == 0 {
		return nil
	}
	out := make(map[DropReason]int64, len(d.m))
	for k, v := range d.m {
		out[k] = v
	}
	return out
}

// session is one IRC client connection. One goroutine reads; write and
// close may be called from others.
type session struct {
	conn     net.Conn
	r        *bufio.Reader
	nick     string
	timeout  time.Duration
	drops    *Drops
	caps     map[string]bool // acknowledged capabilities
	isupport map[string]string
	lastRecv time.Time
	partial  []byte      // start of a line: longer than the buffer, or cut by a deadline
	skipping bool        // discarding the rest of a line beyond maxLine
	stop     func() bool // detaches the context watcher

	wmu  sync.Mutex // a sender goroutine and the reader (PONG) both write
	wbuf []byte
}

// dialSession connects and wraps the connection. The context bounds the
// dial only; closing on cancellation is armed for the session's lifetime.
func dialSession(ctx context.Context, dial DialFunc, local *net.TCPAddr, server string, timeout time.Duration, io *IOCount, drops *Drops) (*session, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := dial(dctx, local, server)
	if err != nil {
		if dctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrClientTimeout, err)
		}
		return nil, &phaseError{Phase: PhaseConnect, Err: err}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true) // IRC lines are small; Nagle would add latency
	}
	s := &session{
		conn:     countingConn{Conn: c, io: io},
		timeout:  timeout,
		drops:    drops,
		caps:     map[string]bool{},
		isupport: map[string]string{},
	}
	s.r = bufio.NewReaderSize(s.conn, readBuf)
	s.stop = context.AfterFunc(ctx, func() { c.Close() })
	return s, nil
}

func (s *session) close() {
	if s.stop != nil {
		s.stop()
	}
	s.conn.Close()
}

// write sends all messages in one write call.
func (s *session) write(msgs ...Message) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wbuf = s.wbuf[:0]
	for _, m := range msgs {
		s.wbuf = m.AppendUnchecked(s.wbuf)
	}
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return err
	}
	_, err := s.conn.Write(s.wbuf)
	return err
}

// read returns the next message, answering server PINGs and recording
// ISUPPORT tokens on the way. EOF becomes ErrPrematureClose: every caller
// that reads is waiting for something.
func (s *session) read(deadline time.Time) (Message, error) {
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return Message{}, err
	}
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Message{}, ErrPrematureClose
			}
			return Message{}, err
		}
		s.lastRecv = time.Now()
		m, err := ParseMessage(line)
		if err != nil {
			if !errors.Is(err, ErrEmptyLine) {
				s.drops.add(DropUnparsable)
			}
			continue
		}
		switch m.Command {
		case "PING":
			if err := s.write(Message{Command: "PONG", Params: m.Params}); err != nil {
				return Message{}, err
			}
			continue
		case "005":
			s.recordISupport(m)
		}
		return m, nil
	}
}

// readLine returns the next line. A line longer than the read buffer, or
// cut by a read deadline, is assembled in s.partial across calls; one longer
// than maxLine is dropped whole and counted.
func (s *session) readLine() (string, error) {
	for {
		b, err := s.r.ReadSlice('\n')
		if err == nil && !s.skipping {
			if len(s.partial) == 0 {
				return string(b), nil
			}
			s.partial = append(s.partial, b...)
			line := string(s.partial)
			s.partial = s.partial[:0]
			if len(line) > maxLine {
				s.drops.add(DropLineTooLong)
				continue
			}
			return line, nil
		}
		if err == nil { // end of a line being skipped
			s.skipping = false
			continue
		}
		if !s.skipping {
			s.partial = append(s.partial, b...)
			if len(s.partial) > maxLine {
				s.drops.add(DropLineTooLong)
				s.partial, s.skipping = s.partial[:0], true
			}
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
}

func (s *session) recordISupport(m Message) {
	// 005 nick tok1 tok2 ... :are supported by this server
	for i := 1; i < len(m.Params)-1; i++ {
		k, v, _ := strings.Cut(m.Params[i], "=")
		s.isupport[strings.ToUpper(k)] = v
	}
}

// ServerError is a refusal by the server: ERROR, FAIL or an error numeric.
// It matches ErrServerRefused with errors.Is.
type ServerError struct {
	Command string // "ERROR", "FAIL" or the numeric, e.g. "433"
	Line    string
}

func (e *ServerError) Error() string        { return ErrServerRefused.Error() + ": " + e.Line }
func (e *ServerError) Is(target error) bool { return target == ErrServerRefused }

// refusal turns a server error reply into an error, or nil if m is not one.
func refusal(m Message) error {
	switch m.Command {
	case "ERROR", "FAIL",
		"432", "433", "436", // nick unusable or in use
		"403", "405", "471", "473", "474", "475", // cannot join
		"404", "401", // cannot send
		"451", "461", "462", "464", "465", "421":
		return &ServerError{Command: m.Command, Line: wireString(&m)}
	}
	return nil
}

// join joins channel and waits for the server's JOIN echo (RFC 2812 §3.2.1).
func (s *session) join(channel string) (time.Duration, error) {
	start := time.Now()
	if err := s.write(Message{Command: "JOIN", Params: []string{channel}}); err != nil {
		return 0, &phaseError{Phase: PhaseJoin, Err: err}
	}
	deadline := start.Add(s.timeout)
	for {
		m, err := s.read(deadline)
		if err != nil {
			return 0, &phaseError{Phase: PhaseJoin, Err: err}
		}
		if m.Command == "JOIN" && strings.EqualFold(m.Nick(), s.nick) && strings.EqualFold(m.Param(0), channel) {
			return time.Since(start), nil
		}
		if err := refusal(m); err != nil {
			return 0, &phaseError{Phase: PhaseJoin, Err: err}
		}
	}
}

// message sends one PRIVMSG and waits for its reply: the echo (IRCv3
// echo-message) or, for a message to oneself, its delivery; without either,
// the PONG to a PING sent right behind it, which a server answers only after
// processing the PRIVMSG (commands are handled in order).
func (s *session) message(target, text, token string) (time.Duration, error) {
	msgs := []Message{{Command: "PRIVMSG", Params: []string{target, text}}}
	byEcho := s.caps["echo-message"] || strings.EqualFold(target, s.nick)
	if !byEcho {
		msgs = append(msgs, Message{Command: "PING", Params: []string{token}})
	}
	start := time.Now()
	if err := s.write(msgs...); err != nil {
		return 0, &phaseError{Phase: PhaseMessage, Err: err}
	}
	deadline := start.Add(s.timeout)
	for {
		m, err := s.read(deadline)
		if err != nil {
			return 0, &phaseError{Phase: PhaseMessage, Err: err}
		}
		if byEcho && m.Command == "PRIVMSG" && strings.EqualFold(m.Nick(), s.nick) && m.Param(1) == text {
			return time.Since(start), nil
		}
		if !byEcho && m.Command == "PONG" && m.Last() == token {
			return time.Since(start), nil
		}
		if err := refusal(m); err != nil {
			return 0, &phaseError{Phase: PhaseMessage, Err: err}
		}
	}
}

// idle keeps the connection for d, reading (and answering PINGs) without
// waiting for anything in particular: a user who is connected but silent.
func (s *session) idle(d time.Duration, phase Phase) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		_, err := s.read(end)
		if isTimeout(err) && !time.Now().Before(end) {
			return nil
		}
		if err != nil {
			return &phaseError{Phase: phase, Err: err}
		}
	}
	return nil
}

// quit sends QUIT and waits for the server to close (RFC 2812 §3.1.7: the
// server acknowledges with ERROR and closes), so TIME_WAIT lands on the
// server and not on the client's ephemeral ports.
func (s *session) quit() error {
	if err := s.write(Message{Command: "QUIT", Params: []string{"chatload done"}}); err != nil {
		return &phaseError{Phase: PhaseQuit, Err: err}
	}
	deadline := time.Now().Add(s.timeout)
	for {
		_, err := s.read(deadline)
		if errors.Is(err, ErrPrematureClose) {
			return nil
		}
		if err != nil {
			return &phaseError{Phase: PhaseQuit, Err: err}
		}
	}
}

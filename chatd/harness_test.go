package chatd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// testTimeout bounds every wait for an event in these tests; it is a
// deadline, not a sleep.
const testTimeout = 10 * time.Second

var nodeSeq atomic.Int64

func testConfig(name string) Config {
	return Config{
		Node:   name,
		Listen: []string{"127.0.0.1:0"},
		Limits: Limits{FloodRate: -1, MaxClients: -1},
		Timers: Timers{Heartbeat: 100 * time.Millisecond, DeadAfter: 600 * time.Millisecond,
			LameduckDrain: 10 * time.Millisecond, LameduckGrace: 5 * time.Second},
		MOTD: "hello\nworld",
	}
}

type testNode struct {
	*Server
	cancel context.CancelFunc
	errc   chan error
}

// startNode runs a node until the test ends. st nil gives it a private
// in-memory SQLite store.
func startNode(t testing.TB, cfg Config, st store.Store) *testNode {
	t.Helper()
	if cfg.Node == "" {
		cfg.Node = fmt.Sprintf("n%d", nodeSeq.Add(1))
	}
	srv, err := NewWithStore(cfg, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &testNode{Server: srv, cancel: cancel, errc: make(chan error, 1)}
	go func() { n.errc <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-n.errc:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(testTimeout):
			t.Errorf("node %s did not stop", cfg.Node)
		}
	})
	waitFor(t, "node ready", srv.Ready)
	return n
}

// startNodeNoCleanup runs a node for the whole test binary (fuzzing).
func startNodeNoCleanup(cfg Config) *testNode {
	srv, err := NewWithStore(cfg, nil, nil)
	if err != nil {
		panic(err)
	}
	n := &testNode{Server: srv, errc: make(chan error, 1)}
	go func() { n.errc <- srv.Run(context.Background()) }()
	for !srv.Ready() {
		time.Sleep(time.Millisecond)
	}
	return n
}

var nickSeq atomic.Int64

func uniqueNick() string { return fmt.Sprintf("fz%d", nickSeq.Add(1)) }

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tclient is a minimal IRC client for tests.
type tclient struct {
	t    testing.TB
	name string
	conn net.Conn
	r    *bufio.Reader
	seen []string
}

func dial(t testing.TB, addr net.Addr, name string) *tclient {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &tclient{t: t, name: name, conn: conn, r: newTestReader(conn)}
}

func newTestReader(conn net.Conn) *bufio.Reader { return bufio.NewReaderSize(conn, 16<<10) }

func (c *tclient) send(format string, a ...any) {
	c.t.Helper()
	line := fmt.Sprintf(format, a...)
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.name, line, err)
	}
}

func (c *tclient) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("%s: send: %v", c.name, err)
	}
}

// next reads one message or fails the test at the deadline.
func (c *tclient) next() (irc.Message, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(testTimeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return irc.Message{}, err
	}
	c.seen = append(c.seen, strings.TrimRight(line, "\r\n"))
	m, err := irc.Parse(line)
	if err != nil {
		c.t.Fatalf("%s: server sent unparsable line %q: %v", c.name, line, err)
	}
	return m, nil
}

// expect reads until a message matches, returning it and everything before.
func (c *tclient) expect(what string, match func(m irc.Message) bool) (irc.Message, []irc.Message) {
	c.t.Helper()
	var before []irc.Message
	for {
		m, err := c.next()
		if err != nil {
			c.t.Fatalf("%s: waiting for %s: %v; last lines:\n%s", c.name, what, err, c.tail())
		}
		if match(m) {
			return m, before
		}
		before = append(before, m)
	}
}

func (c *tclient) expectCmd(cmd string, params ...string) irc.Message {
	c.t.Helper()
	m, _ := c.expect(cmd+" "+strings.Join(params, " "), func(m irc.Message) bool {
		if m.Command != cmd {
			return false
		}
		for i, p := range params {
			if m.Param(i) != p {
				return false
			}
		}
		return true
	})
	return m
}

// expectClosed reads until EOF and returns the ERROR text, if any.
func (c *tclient) expectClosed() string {
	c.t.Helper()
	errText := ""
	for {
		m, err := c.next()
		if err != nil {
			return errText
		}
		if m.Command == "ERROR" {
			errText = m.Param(0)
		}
	}
}

func (c *tclient) tail() string {
	from := max(0, len(c.seen)-15)
	return "  " + strings.Join(c.seen[from:], "\n  ")
}

// register logs in with optional capabilities and waits for the end of MOTD.
func (c *tclient) register(nick string, caps ...string) {
	c.t.Helper()
	if len(caps) > 0 {
		c.send("CAP LS 302")
		c.send("CAP REQ :%s", strings.Join(caps, " "))
		c.expectCmd("CAP", "*", "ACK")
		c.send("CAP END")
	}
	c.send("NICK %s", nick)
	c.send("USER %s 0 * :Real %s", nick, nick)
	c.expectCmd(rplWelcome, nick)
	c.expect("end of MOTD", func(m irc.Message) bool { return m.Command == rplEndOfMotd || m.Command == errNoMotd })
	c.name = nick
}

func (c *tclient) join(ch string) {
	c.t.Helper()
	c.send("JOIN %s", ch)
	c.expectCmd(rplEndOfNames, c.name, ch)
}

var allCaps = []string{"server-time", "message-tags", "batch", "echo-message", "labeled-response", "draft/chathistory"}

func testContext() context.Context { return context.Background() }

package chatd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
)

// TestSlowClientDoesNotBlockFanout connects a member over net.Pipe, which
// has no buffering, and never reads from it after registration: its send
// queue overflows, it is disconnected with a counted reason, and the other
// member keeps receiving.
func TestSlowClientDoesNotBlockFanout(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.SendQBytes = 8192
	n := startNode(t, cfg, nil)
	srvEnd, cliEnd := net.Pipe()
	t.Cleanup(func() { cliEnd.Close() })
	n.ServeConn(srvEnd)
	slow := &tclient{t: t, name: "slow", conn: cliEnd}
	slow.r = newTestReader(cliEnd)
	slow.register("slow")
	slow.join("#fan")
	a := dial(t, n.Addr(), "a")
	a.register("fast", "echo-message")
	a.join("#fan")
	b := dial(t, n.Addr(), "b")
	b.register("reader")
	b.join("#fan")
	text := strings.Repeat("z", 300)
	for i := range 100 {
		a.send("PRIVMSG #fan :%d %s", i, text)
		a.expectCmd("PRIVMSG", "#fan", fmt.Sprintf("%d %s", i, text))
		b.expectCmd("PRIVMSG", "#fan", fmt.Sprintf("%d %s", i, text))
	}
	b.expectCmd("QUIT", "SendQ exceeded")
	if v := counterValue(t, n.m.disconnects.WithLabelValues(discSendQ)); v != 1 {
		t.Errorf("disconnects{sendq_exceeded} = %v, want 1", v)
	}
}

func TestFloodDisconnect(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.FloodBurst, cfg.Limits.FloodRate, cfg.Limits.MaxFloodDelay = 2, 50, 200*time.Millisecond
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "f")
	c.register("flooder")
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "PING %d\r\n", i)
	}
	c.sendRaw([]byte(b.String()))
	if got := c.expectClosed(); !strings.Contains(got, "Excess Flood") {
		t.Errorf("ERROR = %q, want Excess Flood", got)
	}
	// The counter moves when the server's reader finishes, just after EOF.
	waitFor(t, "disconnects{excess_flood} = 1", func() bool {
		return counterValue(t, n.m.disconnects.WithLabelValues(discFlood)) == 1
	})
}

func TestTimeouts(t *testing.T) {
	cfg := testConfig("")
	cfg.Timers.RegistrationTimeout = 200 * time.Millisecond
	cfg.Timers.PingInterval = 200 * time.Millisecond
	cfg.Timers.PingTimeout = 200 * time.Millisecond
	n := startNode(t, cfg, nil)

	idle := dial(t, n.Addr(), "idle")
	if got := idle.expectClosed(); !strings.Contains(got, "Registration timeout") {
		t.Errorf("unregistered: ERROR = %q", got)
	}
	// A registered client that answers PINGs stays; one that does not is dropped.
	mute := dial(t, n.Addr(), "mute")
	mute.register("mute")
	mute.expectCmd("PING")
	if got := mute.expectClosed(); !strings.Contains(got, "Ping timeout") {
		t.Errorf("half-open: ERROR = %q", got)
	}
	live := dial(t, n.Addr(), "live")
	live.register("live")
	for range 3 {
		p := live.expectCmd("PING")
		live.send("PONG :%s", p.Param(0))
	}
	live.send("PING still")
	live.expectCmd("PONG", n.cfg.ServerName, "still")
}

func TestMaxClients(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.MaxClients = 1
	n := startNode(t, cfg, nil)
	a := dial(t, n.Addr(), "a")
	a.register("first")
	b := dial(t, n.Addr(), "b")
	if got := b.expectClosed(); !strings.Contains(got, "too many") {
		t.Errorf("ERROR = %q", got)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLameduck(t *testing.T) {
	cfg := testConfig("")
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.Timers.LameduckDrain = 300 * time.Millisecond
	n := startNode(t, cfg, nil)
	base := "http://" + n.HTTPAddr().String()
	if code, _ := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d before shutdown", code)
	}
	if code, body := httpGet(t, base+"/metrics"); code != 200 || !strings.Contains(body, "chatd_connections") {
		t.Fatalf("/metrics = %d", code)
	}
	a := dial(t, n.Addr(), "a")
	a.register("stayer")
	a.join("#ld")
	done := make(chan error, 1)
	go func() { done <- n.Shutdown(context.Background()) }()
	a.expectCmd("NOTICE", "stayer")
	if code, body := httpGet(t, base+"/readyz"); code != 503 || !strings.Contains(body, "lameduck") {
		t.Errorf("/readyz during lameduck = %d %q", code, body)
	}
	if code, _ := httpGet(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz during lameduck = %d, want 200 (alive, just not ready)", code)
	}
	if c, err := net.DialTimeout("tcp", n.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Errorf("new connection accepted during lameduck")
	}
	if got := a.expectClosed(); !strings.Contains(got, "reconnect") {
		t.Errorf("ERROR = %q, want a reconnect hint", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Shutdown did not return")
	}
	select {
	case err := <-n.errc:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		n.errc <- nil // for the cleanup
	case <-time.After(testTimeout):
		t.Fatal("Run did not return after Shutdown")
	}
}

// TestBigReplyWithinAllowance: a CHATHISTORY page far larger than the send
// queue bound is queued whole for the client that asked for it (over an
// unbuffered pipe, so nothing drains while it is queued), while broadcasts
// stay bounded by sendq_bytes.
func TestBigReplyWithinAllowance(t *testing.T) {
	cfg := testConfig("")
	cfg.Limits.SendQBytes = 8192
	n := startNode(t, cfg, nil)
	a := dial(t, n.Addr(), "a")
	a.register("talker", "echo-message")
	a.join("#big")
	text := strings.Repeat("w", 300)
	for i := range 100 {
		a.send("PRIVMSG #big :%d %s", i, text)
		a.expectCmd("PRIVMSG", "#big")
	}
	srvEnd, cliEnd := net.Pipe()
	t.Cleanup(func() { cliEnd.Close() })
	n.ServeConn(srvEnd)
	r := &tclient{t: t, name: "reader", conn: cliEnd, r: newTestReader(cliEnd)}
	r.register("reader", allCaps...)
	r.join("#big")
	// Make the reader's writer busy: it takes this message and blocks on
	// the unbuffered pipe, so the history reply really waits in the queue.
	a.send("PRIVMSG #big :first")
	a.expectCmd("PRIVMSG", "#big", "first")
	waitFor(t, "reader's writer to hold a message", func() bool {
		for _, c := range n.snapshotClients() {
			if c.nickOrStar() == "reader" {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.writing && c.sendqBytes == 0
			}
		}
		return false
	})
	r.send("CHATHISTORY LATEST #big * 100")
	waitFor(t, "the history reply to wait in the reader's queue", func() bool {
		for _, c := range n.snapshotClients() {
			if c.nickOrStar() == "reader" {
				c.mu.Lock()
				defer c.mu.Unlock()
				return c.sendqBytes > cfg.Limits.SendQBytes
			}
		}
		return false
	})
	// A broadcast behind the big reply must not count the reply against
	// the sendq bound.
	a.send("PRIVMSG #big :behind the reply")
	a.expectCmd("PRIVMSG", "#big", "behind the reply")
	// The live copy may come before or after the batch (the message may
	// even be in the page): wait for both.
	count, live, ended := 0, false, false
	r.expect("history batch and live message", func(m irc.Message) bool {
		_, inBatch := m.Tag("batch")
		switch {
		case m.Command == "PRIVMSG" && inBatch && m.Param(1) != "behind the reply" && m.Param(1) != "first":
			count++
		case m.Command == "PRIVMSG" && !inBatch && m.Param(1) == "behind the reply":
			live = true
		case m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "-"):
			ended = true
		}
		return live && ended
	})
	if count < 99 {
		t.Errorf("got %d messages of history, want 100 (99 if the live one is in the page)", count)
	}
}

//go:build linux

package chatd

import (
	"strings"
	"testing"
	"time"
)

// Idle clients park (park_linux.go): their reader goroutine ends and an
// epoll set watches the socket. These tests check that a parked client is
// still the same IRC client: its timers run, input wakes it, and a server
// that closes it finishes it.

// parkedConfig parks clients after 20 ms of silence.
func parkedConfig(t *testing.T, node string) Config {
	cfg := operConfig(t, node)
	cfg.Timers.IdlePark = 20 * time.Millisecond
	return cfg
}

// parked reports how many clients n's parker holds.
func (n *testNode) parked() int {
	n.parker.mu.Lock()
	defer n.parker.mu.Unlock()
	return len(n.parker.parked)
}

func waitParked(t *testing.T, n *testNode, want int) {
	t.Helper()
	waitFor(t, "clients parked", func() bool { return n.parked() == want })
}

// TestParked_rfc2812_3_7_2_ping_and_timeouts: a server tests a quiet client
// with PING and closes one that does not answer (RFC 2812 §3.7.2, §3.7.3),
// and one that never registers; parked or not.
func TestParked_rfc2812_3_7_2_ping_and_timeouts(t *testing.T) {
	cfg := parkedConfig(t, "")
	cfg.Timers.RegistrationTimeout = time.Second
	cfg.Timers.PingInterval = time.Second
	cfg.Timers.PingTimeout = time.Second
	n := startNode(t, cfg, nil)

	idle := dial(t, n.Addr(), "idle")
	waitParked(t, n, 1)
	if got := idle.expectClosed(); !strings.Contains(got, "Registration timeout") {
		t.Errorf("unregistered: ERROR = %q", got)
	}
	mute := dial(t, n.Addr(), "mute")
	mute.register("mute")
	waitParked(t, n, 1)
	mute.expectCmd("PING")
	if got := mute.expectClosed(); !strings.Contains(got, "Ping timeout") {
		t.Errorf("half-open: ERROR = %q", got)
	}
	live := dial(t, n.Addr(), "live")
	live.register("live")
	for range 3 {
		waitParked(t, n, 1)
		p := live.expectCmd("PING")
		live.send("PONG :%s", p.Param(0))
	}
	live.send("PING still")
	live.expectCmd("PONG", n.cfg.ServerName, "still")
}

// TestParked_rfc2812_3_3_1_delivery_and_commands: a parked client receives
// messages (sends never need its reader) and its next command wakes it.
func TestParked_rfc2812_3_3_1_delivery_and_commands(t *testing.T) {
	n := startNode(t, parkedConfig(t, ""), nil)
	a := client(t, n, "a")
	b := client(t, n, "b")
	waitParked(t, n, 2)
	a.send("PRIVMSG b :hello while you sleep")
	if m := b.expectCmd("PRIVMSG", "b"); m.Param(1) != "hello while you sleep" {
		t.Errorf("b got %v", m)
	}
	waitParked(t, n, 2)
	b.send("PRIVMSG a :awake")
	if m := a.expectCmd("PRIVMSG", "a"); m.Param(1) != "awake" {
		t.Errorf("a got %v", m)
	}
	// A line split across two packets, the client parking in between.
	waitParked(t, n, 2)
	b.sendRaw([]byte("PRIVMSG a :sp"))
	b.sendRaw([]byte("lit\r\n"))
	if m := a.expectCmd("PRIVMSG", "a"); m.Param(1) != "split" {
		t.Errorf("a got %v", m)
	}
}

// TestParked_rfc2812_3_7_1_kill: KILL closes a parked client's connection,
// and the others see its QUIT (its reader must wake to commit it).
func TestParked_rfc2812_3_7_1_kill(t *testing.T) {
	n := startNode(t, parkedConfig(t, ""), nil)
	op := client(t, n, "op")
	victim := client(t, n, "victim")
	watcher := client(t, n, "watcher")
	victim.join("#k")
	watcher.join("#k")
	op.send("OPER root hunter2")
	op.expectCmd(rplYoureOper, "op")
	waitFor(t, "victim parked", func() bool {
		n.parker.mu.Lock()
		defer n.parker.mu.Unlock()
		for _, c := range n.parker.parked {
			if c.nickOrStar() == "victim" {
				return true
			}
		}
		return false
	})
	op.send("KILL victim :spam")
	if reason := victim.expectClosed(); !strings.Contains(reason, "Killed (op (spam))") {
		t.Errorf("victim's ERROR = %q", reason)
	}
	if m := watcher.expectCmd("QUIT"); !strings.HasPrefix(m.Source, "victim!") {
		t.Errorf("watcher saw %v", m)
	}
	again := dial(t, n.Addr(), "again")
	again.register("victim")
}

package chatd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hachat/hachat/chatd/irc"
)

// TestRealClient_weechat drives WeeChat (weechat-headless, Debian package
// weechat-headless) through connect, join, WHO, message, away, monitor and
// quit against a chatd on loopback. The test commands WeeChat through its
// FIFO only after the server shows the previous step happened, and checks
// each step from the server's side and from a second, scripted client.
func TestRealClient_weechat(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	peer := client(t, n, "peer", "away-notify")
	peer.join("#real")
	send, dir := startWeechat(t, n)

	// connect + join (autojoin): the peer sees wee join.
	m := peer.expectCmd("JOIN", "#real")
	if !strings.HasPrefix(m.Source, "wee!") {
		t.Fatalf("JOIN from %q, want wee", m.Source)
	}
	// WHO: WeeChat asks for the channel's users after joining.
	waitFor(t, "WeeChat's WHO", func() bool { return counterValue(t, n.m.commands.WithLabelValues("WHO")) >= 1 })

	// message, both ways.
	send("msg #real hello from weechat")
	peer.expectCmd("PRIVMSG", "#real", "hello from weechat")
	peer.send("PRIVMSG #real :hello weechat")
	waitFor(t, "WeeChat logged the peer's message", func() bool { return logged(dir, "hello weechat") })

	// away: the peer has away-notify.
	send("away gone fishing")
	peer.expectCmd("AWAY", "gone fishing")

	// monitor: WeeChat's /notify uses MONITOR when ISUPPORT has it.
	send("notify add buddy chatd")
	waitFor(t, "WeeChat's MONITOR of buddy", func() bool {
		n.mu.RLock()
		defer n.mu.RUnlock()
		return len(n.feat.monitors["buddy"]) == 1
	})
	client(t, n, "buddy")
	waitFor(t, "WeeChat noticed buddy online", func() bool { return logged(dir, "buddy (~buddy@127.0.0.1) has connected") })

	// quit.
	send("quit see you")
	q, _ := peer.expect("wee's QUIT", func(m irc.Message) bool { return m.Command == "QUIT" && strings.HasPrefix(m.Source, "wee!") })
	if !strings.Contains(q.Param(0), "see you") {
		t.Errorf("QUIT reason %q", q.Param(0))
	}
}

// startWeechat runs WeeChat against n, joining #real as "wee", until the
// test ends. send types a command into #real's buffer (through the FIFO);
// dir holds WeeChat's logs (see logged). It skips the test when WeeChat is
// not installed.
func startWeechat(t *testing.T, n *testNode) (send func(command string), dir string) {
	t.Helper()
	bin, err := exec.LookPath("weechat-headless")
	if err != nil {
		t.Skip("weechat-headless not installed (apt install weechat-headless weechat-plugins; scripts/install-deps.sh does)")
	}
	if fifos, _ := filepath.Glob("/usr/lib/*/weechat/plugins/fifo.so"); len(fifos) == 0 {
		t.Skip("WeeChat's fifo plugin is not installed (apt install weechat-plugins; scripts/install-deps.sh does)")
	}
	dir = t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	setup := strings.Join([]string{
		"/set fifo.file.path " + fifo,
		"/set fifo.file.enabled on",
		"/set logger.file.path " + filepath.Join(dir, "logs"),
		"/set logger.file.flush_delay 0",
		"/server add chatd " + strings.Replace(n.Addr().String(), ":", "/", 1),
		"/set irc.server.chatd.nicks wee",
		"/set irc.server.chatd.username wee",
		"/set irc.server.chatd.realname WeeChat_user",
		"/set irc.server.chatd.autojoin #real",
		"/set irc.server.chatd.capabilities *",
		"/set irc.server.chatd.anti_flood_prio_high 0",
		"/set irc.server.chatd.anti_flood_prio_low 0",
		"/connect chatd",
	}, ";")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--dir", dir, "-r", setup)
	cmd.Env = append(os.Environ(), "LANG=C", "LC_ALL=C") // the log lines checked below are WeeChat's English
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel() // kills the one process we started, by its handle
		<-exited
	})
	send = func(command string) {
		t.Helper()
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatalf("weechat fifo: %v (weechat output: %s)", err, out.String())
		}
		defer f.Close()
		if _, err := fmt.Fprintf(f, "irc.chatd.#real */%s\n", command); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "weechat fifo", func() bool { _, err := os.Stat(fifo); return err == nil })
	return send, dir
}

// logged reports whether any of WeeChat's buffer logs contains text.
func logged(dir, text string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.weechatlog"))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "core.") {
			continue // echoes the commands we typed
		}
		if b, _ := os.ReadFile(f); strings.Contains(string(b), text) {
			return true
		}
	}
	return false
}

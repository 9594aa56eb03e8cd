package chatd

// More conformance tests (second pass against the irctest rule list and the
// specs): one rule per test, named for the spec section it checks.

import (
	"strings"
	"testing"
)

// isupport returns the client's ISUPPORT tokens (VERSION repeats 005).
func (c *tclient) isupport() map[string]string {
	c.t.Helper()
	c.send("VERSION")
	out := map[string]string{}
	for _, m := range c.sync() {
		if m.Command != rplISupport || len(m.Params) < 2 {
			continue
		}
		for _, tok := range m.Params[1 : len(m.Params)-1] {
			k, v, _ := strings.Cut(tok, "=")
			out[k] = v
		}
	}
	return out
}

// botClient registers nick and makes it a bot, waiting for the MODE echo.
func botClient(t *testing.T, n *testNode, nick string) *tclient {
	t.Helper()
	b := client(t, n, nick)
	b.send("MODE %s +B", nick)
	b.expectCmd("MODE", nick, "+B")
	return b
}

func TestBotMode_ircv3_bot_mode_isupport_BOT(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "u")
	c.send("NICK u")
	c.send("USER u 0 * :u")
	myinfo := c.expectCmd(rplMyInfo, "u")
	if v := c.isupport()["BOT"]; v != "B" {
		t.Errorf("ISUPPORT BOT = %q, want B", v)
	}
	if !strings.Contains(myinfo.Param(3), "B") {
		t.Errorf("004 user modes %q lack B", myinfo.Param(3))
	}
}

func TestBotMode_ircv3_bot_mode_set_echoes_MODE(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	b := botClient(t, n, "botnick")
	b.send("MODE botnick")
	b.expectCmd(rplUmodeIs, "botnick", "+B")
}

func TestBotMode_ircv3_bot_mode_whois_335(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	botClient(t, n, "botnick")
	u := client(t, n, "usernick")
	u.send("WHOIS botnick")
	u.expectCmd(rplWhoisBot, "usernick", "botnick")
	u.send("WHOIS usernick")
	for _, m := range u.sync() {
		if m.Command == rplWhoisBot {
			t.Errorf("a user who is not a bot got %v", m)
		}
	}
}

func TestBotMode_ircv3_bot_mode_tag_on_private_message(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	b := botClient(t, n, "botnick")
	u := client(t, n, "usernick", "message-tags")
	plain := client(t, n, "plainnick")
	b.send("PRIVMSG usernick :beep boop")
	b.send("PRIVMSG plainnick :beep boop")
	m := u.expectCmd("PRIVMSG", "usernick", "beep boop")
	if _, ok := m.Tag("bot"); !ok {
		t.Errorf("bot's PRIVMSG lacks the bot tag: %v", m)
	}
	m = plain.expectCmd("PRIVMSG", "plainnick", "beep boop")
	if len(m.Tags) != 0 {
		t.Errorf("client without message-tags got tags: %v", m.Tags)
	}
}

func TestBotMode_ircv3_bot_mode_tag_on_channel_message(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	b := botClient(t, n, "botnick")
	u := client(t, n, "usernick", "message-tags")
	b.join("#chan")
	u.join("#chan")
	u.send("PRIVMSG #chan :not a bot")
	b.expectCmd("PRIVMSG", "#chan", "not a bot")
	b.send("PRIVMSG #chan :beep boop")
	m := u.expectCmd("PRIVMSG", "#chan", "beep boop")
	if _, ok := m.Tag("bot"); !ok {
		t.Errorf("bot's channel PRIVMSG lacks the bot tag: %v", m)
	}
}

func TestBotMode_ircv3_bot_mode_who_flag(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	b := botClient(t, n, "botnick")
	u := client(t, n, "usernick")
	b.join("#chan")
	u.join("#chan")
	u.send("WHO #chan")
	flags := map[string]string{}
	for _, m := range u.sync() {
		if m.Command == rplWhoReply {
			flags[m.Param(5)] = m.Param(6)
		}
	}
	if !strings.Contains(flags["botnick"], "B") {
		t.Errorf("WHO flags of the bot = %q, want a B", flags["botnick"])
	}
	if strings.Contains(flags["usernick"], "B") {
		t.Errorf("WHO flags of a user = %q, want no B", flags["usernick"])
	}
}

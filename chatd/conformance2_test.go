package chatd

// More conformance tests (second pass against the irctest rule list and the
// specs): one rule per test, named for the spec section it checks.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/chatd/irc"
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

func TestADMIN_modern_256_to_259(t *testing.T) {
	cfg := testConfig("")
	cfg.ServerName = "irc.example.test"
	cfg.AdminEmail = "ops@example.test"
	n := startNode(t, cfg, nil)
	c := client(t, n, "nick")
	c.send("ADMIN")
	got := c.sync()
	if diff := cmp.Diff([]string{rplAdminMe, rplAdminLoc1, rplAdminLoc2, rplAdminEmail}, cmdNames(got)); diff != "" {
		t.Fatalf("ADMIN replies (-want +got):\n%s", diff)
	}
	if got[0].Param(1) != "irc.example.test" || got[3].Param(1) != "ops@example.test" {
		t.Errorf("256 server = %q, 259 email = %q", got[0].Param(1), got[3].Param(1))
	}
}

func TestVERSION_modern_unknown_target_402(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	for _, cmd := range []string{"VERSION", "TIME", "ADMIN", "INFO", "MOTD"} {
		c.send("%s no.such.server", cmd)
		c.expectCmd(errNoSuchServer, "nick", "no.such.server")
	}
	c.send("TIME %s", n.cfg.ServerName)
	c.expectCmd(rplTime, "nick", n.cfg.ServerName)
}

func TestLINKS_rfc2812_3_4_5_this_server(t *testing.T) {
	cfg := testConfig("")
	cfg.ServerName = "irc.example.test"
	n := startNode(t, cfg, nil)
	c := client(t, n, "nick")
	c.send("LINKS")
	got := c.sync()
	if diff := cmp.Diff([]string{rplLinks, rplEndOfLinks}, cmdNames(got)); diff != "" {
		t.Fatalf("LINKS replies (-want +got):\n%s", diff)
	}
	want := []string{"nick", "irc.example.test", "irc.example.test", "0 hachat IRC server"}
	if diff := cmp.Diff(want, got[0].Params); diff != "" {
		t.Errorf("364 (-want +got):\n%s", diff)
	}
	if got[1].Param(1) != "*" {
		t.Errorf("365 mask = %q, want *", got[1].Param(1))
	}
	c.send("LINKS *.other.test")
	if diff := cmp.Diff([]string{rplEndOfLinks}, cmdNames(c.sync())); diff != "" {
		t.Errorf("LINKS with a mask matching nothing (-want +got):\n%s", diff)
	}
}

func TestSTATS_rfc2812_3_4_4_uptime_242(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	c.send("STATS u")
	got := c.sync()
	if diff := cmp.Diff([]string{rplStatsUptime, rplEndOfStats}, cmdNames(got)); diff != "" {
		t.Fatalf("STATS u replies (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got[0].Param(1), "Server Up 0 days ") || got[1].Param(1) != "u" {
		t.Errorf("STATS u = %v", got)
	}
}

func TestSTATS_rfc2812_3_4_4_unknown_letter_ends_report(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	c.send("STATS q")
	c.expectCmd(rplEndOfStats, "nick", "q")
	c.send("STATS")
	c.expectCmd(errNeedMoreParams, "nick", "STATS")
}

func TestSTATS_uptime_text(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                            "Server Up 0 days 0:00:00",
		59 * time.Second:             "Server Up 0 days 0:00:59",
		26*time.Hour + 3*time.Minute: "Server Up 1 days 2:03:00",
	} {
		if got := uptimeText(d); got != want {
			t.Errorf("uptimeText(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestHELP_modern_index(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	for _, cmd := range []string{"HELP", "HELPOP"} {
		c.send("%s", cmd)
		got := c.sync()
		if len(got) < 3 || got[0].Command != rplHelpStart || got[len(got)-1].Command != rplEndOfHelp {
			t.Fatalf("%s: got %v, want 704 ... 706", cmd, cmdNames(got))
		}
		for _, m := range got[1 : len(got)-1] {
			if m.Command != rplHelpTxt || m.Param(1) != got[0].Param(1) {
				t.Errorf("%s: %v inside the help, want 705 with subject %q", cmd, m, got[0].Param(1))
			}
		}
	}
}

func TestHELP_modern_command_subject(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	c.send("HELP privmsg")
	got := c.sync()
	if len(got) < 2 || got[0].Command != rplHelpStart || got[len(got)-1].Command != rplEndOfHelp {
		t.Fatalf("got %v, want 704 ... 706", cmdNames(got))
	}
	for _, m := range got {
		if m.Param(1) != "PRIVMSG" {
			t.Errorf("%s subject = %q, want PRIVMSG", m.Command, m.Param(1))
		}
	}
}

func TestHELP_modern_unknown_subject_524(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	c.send("HELP THISISNOTACOMMAND")
	got := c.sync()
	if diff := cmp.Diff([]string{errHelpNotFound}, cmdNames(got)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if got[0].Param(1) != "THISISNOTACOMMAND" {
		t.Errorf("524 subject = %q", got[0].Param(1))
	}
}

// Every command the server takes has a HELP topic, and every topic is a
// command: the table cannot drift from the dispatch table.
func TestHELP_modern_every_command_has_a_topic(t *testing.T) {
	for name := range commands {
		if _, ok := helpTopics[name]; !ok {
			t.Errorf("command %s has no HELP topic", name)
		}
	}
	for name := range helpTopics {
		if _, ok := commands[name]; !ok {
			t.Errorf("HELP topic %s is not a command", name)
		}
	}
}

func TestUTF8ONLY_ircv3_utf8_only_FAIL_names_command_and_label(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "bar", "batch", "echo-message", "labeled-response")
	c.join("#qux")
	c.sendRaw([]byte("@label=xyz privmsg #qux hi\xaa\r\n"))
	m := c.expectCmd("FAIL")
	if m.Param(0) != "PRIVMSG" || m.Param(1) != "INVALID_UTF8" {
		t.Errorf("got %v, want FAIL PRIVMSG INVALID_UTF8", m)
	}
	if l, _ := m.Tag("label"); l != "xyz" {
		t.Errorf("FAIL label = %q, want xyz", l)
	}
	c.sendRaw([]byte("\xaa\xbb\r\n"))
	c.expectCmd("FAIL", "*", "INVALID_UTF8")
}

// WHOIS shows the idle time of a user on another node too: every node
// applies the user's messages, so every node knows when it last spoke.
func TestWHOIS_rfc2812_3_6_2_317_idle_of_a_user_on_another_node(t *testing.T) {
	na, nb := twoNodes(t)
	a := client(t, na, "onA")
	b := client(t, nb, "onB")
	b.send("WHOIS onA")
	m := b.expectCmd(rplWhoisIdle, "onB", "onA")
	nb.mu.RLock()
	u := nb.users["ona"]
	nb.mu.RUnlock()
	if m.Param(3) != itoa(int(u.since.Unix())) {
		t.Errorf("317 signon = %s, want %d", m.Param(3), u.since.Unix())
	}
	u.lastActive.Store(u.since.Unix() - 1000) // as if it spoke long ago
	b.send("WHOIS onA")
	if m := b.expectCmd(rplWhoisIdle, "onB", "onA"); atoi(m.Param(2)) < 1000 {
		t.Errorf("317 idle = %s, want >= 1000", m.Param(2))
	}
	waitFor(t, "node A to know onB", func() bool {
		na.mu.RLock()
		defer na.mu.RUnlock()
		return na.users["onb"] != nil
	})
	a.send("PRIVMSG onB :hello")
	b.expectCmd("PRIVMSG", "onB", "hello")
	b.send("WHOIS onA")
	if m := b.expectCmd(rplWhoisIdle, "onB", "onA"); atoi(m.Param(2)) >= 1000 {
		t.Errorf("317 idle = %s after a PRIVMSG, want it reset", m.Param(2))
	}
}

func TestCAP_ircv3_LS_302_multiline(t *testing.T) {
	var names []string
	for i := range 60 {
		names = append(names, fmt.Sprintf("vendor.example/capability-%02d", i))
	}
	server := strings.Repeat("s", 63)
	got := capLines(server, "*", "LS", names, true)
	if len(got) < 2 {
		t.Fatalf("%d lines, want the list split", len(got))
	}
	var back []string
	for i, m := range got {
		b, err := m.Bytes()
		if err != nil || len(b) > 512 {
			t.Errorf("line %d: %d bytes (%v), want at most 512", i, len(b), err)
		}
		last := i == len(got)-1
		if star := m.Param(2) == "*"; star == last {
			t.Errorf("line %d: continuation marker %v, want %v", i, star, !last)
		}
		back = append(back, strings.Fields(m.Params[len(m.Params)-1])...)
	}
	if diff := cmp.Diff(names, back); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if one := capLines(server, "*", "LS", names, false); len(one) != 1 {
		t.Errorf("CAP LS 301: %d lines, want 1 (no continuation before 302)", len(one))
	}
}

func TestCAP_ircv3_LS_lines_within_512_bytes_with_a_long_server_name(t *testing.T) {
	cfg := testConfig("")
	cfg.ServerName = strings.Repeat("s", 63)
	n := startNode(t, cfg, nil)
	c := dial(t, n.Addr(), "c")
	c.send("CAP LS 302")
	c.send("PING x")
	_, before := c.expect("PONG", func(m irc.Message) bool { return m.Command == "PONG" })
	for _, m := range before {
		if b, _ := m.Bytes(); len(b) > 512 {
			t.Errorf("%d-byte line: %s", len(b), b)
		}
	}
}

func TestWHOIS_rfc2812_3_6_2_target_server(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick")
	client(t, n, "other")
	c.send("WHOIS no.such.server other")
	c.expectCmd(errNoSuchServer, "nick", "no.such.server")
	for _, target := range []string{n.cfg.ServerName, "other"} {
		c.send("WHOIS %s other", target)
		c.expectCmd(rplWhoisUser, "nick", "other")
	}
	c.send("WHOIS ghost ghost")
	c.expectCmd(errNoSuchNick, "nick", "ghost")
}

func TestCanonMask_ircv3_account_extban(t *testing.T) {
	for in, want := range map[string]struct {
		mask string
		ok   bool
	}{
		"$a:bob":     {"$a:bob", true},
		"$a:b*":      {"$a:b*", true},
		"$a:":        {"", false},
		"$x:bob":     {"", false}, // an extban chatd does not know
		"$a:a b":     {"", false},
		"plain$nick": {"plain$nick!*@*", true},
	} {
		if got, ok := canonMask(in); got != want.mask || ok != want.ok {
			t.Errorf("canonMask(%q) = %q, %v; want %q, %v", in, got, ok, want.mask, want.ok)
		}
	}
}

// loggedIn registers nick and an account of the same name, logged in.
func loggedIn(t *testing.T, n *testNode, nick, account string) *tclient {
	t.Helper()
	c := client(t, n, nick)
	c.send("REGISTER %s * :long enough password", account)
	c.expectCmd(rplLoggedIn, nick)
	return c
}

func TestMODE_ircv3_account_extban_isupport(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	is := client(t, n, "nick").isupport()
	if is["EXTBAN"] != "$,a" || is["ACCOUNTEXTBAN"] != "a" {
		t.Errorf("EXTBAN=%q ACCOUNTEXTBAN=%q, want $,a and a", is["EXTBAN"], is["ACCOUNTEXTBAN"])
	}
}

func TestMODE_ircv3_account_extban_ban(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "chanop")
	op.join("#chan")
	op.send("MODE #chan +b $a:bob")
	op.expectCmd("MODE", "#chan", "+b", "$a:bob")
	b := loggedIn(t, n, "bobby", "bob")
	b.send("JOIN #chan")
	b.expectCmd(errBannedFromChan, "bobby", "#chan")
	imposter := client(t, n, "bob") // the nick, not the account
	imposter.join("#chan")
	op.send("MODE #chan -b $a:BOB")
	op.expectCmd("MODE", "#chan", "-b", "$a:bob")
	b.join("#chan")
}

func TestMODE_ircv3_account_extban_exception_and_invex(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "chanop")
	op.join("#e")
	op.join("#i")
	op.send("MODE #e +be *!*@* $a:bob")
	op.expectCmd("MODE", "#e", "+be")
	op.send("MODE #i +iI $a:bob")
	op.expectCmd("MODE", "#i", "+iI")
	b := loggedIn(t, n, "bobby", "bob")
	b.join("#e")
	b.join("#i")
	other := client(t, n, "other")
	other.send("JOIN #i")
	other.expectCmd(errInviteOnlyChan, "other", "#i")
}

func TestKNOCK_modern_isupport_and_open_channel_713(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "chanop")
	op.join("#open")
	k := client(t, n, "knocker")
	if _, ok := k.isupport()["KNOCK"]; !ok {
		t.Error("ISUPPORT lacks KNOCK")
	}
	k.send("KNOCK #open")
	k.expectCmd(errChanOpen, "knocker", "#open")
	k.send("KNOCK #nowhere")
	k.expectCmd(errNoSuchChannel, "knocker", "#nowhere")
	op.send("KNOCK #open")
	op.expectCmd(errKnockOnChan, "chanop", "#open")
}

// A knock reaches the operators on every node, and only them.
func TestKNOCK_modern_delivered_to_operators_710_711(t *testing.T) {
	na, nb := twoNodes(t)
	op := client(t, nb, "chanop")
	op.join("#closed")
	op.send("MODE #closed +i")
	op.expectCmd("MODE", "#closed", "+i")
	voice := client(t, nb, "member")
	op.send("INVITE member #closed")
	op.expectCmd(rplInviting, "chanop", "member", "#closed")
	voice.join("#closed")
	k := client(t, na, "knocker")
	waitFor(t, "node A to know #closed is +i", func() bool {
		na.mu.RLock()
		defer na.mu.RUnlock()
		ch := na.channels["#closed"]
		return ch != nil && ch.hasMode('i')
	})
	k.send("KNOCK #closed :let me in")
	k.expectCmd(rplKnockDlvr, "knocker", "#closed")
	m := op.expectCmd(rplKnock, "chanop", "#closed")
	if !strings.HasPrefix(m.Param(2), "knocker!") {
		t.Errorf("710 mask = %q, want knocker's", m.Param(2))
	}
	voice.send("PING after-knock")
	for _, m := range voice.sync() {
		if m.Command == rplKnock {
			t.Errorf("a member who is not an operator got %v", m)
		}
	}
}

func TestKNOCK_modern_too_many_712(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "chanop")
	op.join("#closed")
	op.send("MODE #closed +k secret")
	op.expectCmd("MODE", "#closed", "+k", "secret")
	k := client(t, n, "knocker")
	k.send("KNOCK #closed")
	k.expectCmd(rplKnockDlvr, "knocker", "#closed")
	k.send("KNOCK #closed")
	k.expectCmd(errTooManyKnock, "knocker", "#closed")
	if v := counterValue(t, n.m.dropped.WithLabelValues(dropKnockThrottled)); v != 1 {
		t.Errorf("dropped{%s} = %v, want 1", dropKnockThrottled, v)
	}
}

func TestKNOCK_limiter(t *testing.T) {
	var k knockLimiter
	t0 := time.Unix(1000, 0)
	if !k.allow("#a", t0) || k.allow("#a", t0.Add(knockInterval-time.Second)) {
		t.Fatal("a second knock within the interval was allowed, or the first refused")
	}
	if !k.allow("#a", t0.Add(knockInterval)) {
		t.Error("a knock after the interval was refused")
	}
	for i := range maxKnocks - 1 {
		if !k.allow(fmt.Sprint("#c", i), t0.Add(knockInterval)) {
			t.Fatalf("knock %d refused below maxKnocks", i)
		}
	}
	if k.allow("#one-too-many", t0.Add(knockInterval)) {
		t.Error("a knock beyond maxKnocks was allowed")
	}
	if len(k) > maxKnocks {
		t.Errorf("limiter holds %d channels, want at most %d", len(k), maxKnocks)
	}
}

// labeled-response: "The batch type MUST be one of: an existing type
// applicable to the entire response, labeled-response". A response that is
// one batch already carries the label on its start, unwrapped.
func TestLabeledResponse_ircv3_single_batch_response_carries_label(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick", allCaps...)
	c.join("#h")
	c.send("PRIVMSG #h :one")
	c.expectCmd("PRIVMSG", "#h", "one")
	c.send("@label=L1 CHATHISTORY LATEST #h * 10")
	start := c.expectCmd("BATCH")
	if start.Param(1) != "chathistory" {
		t.Fatalf("first reply %v, want the chathistory batch", start)
	}
	if l, _ := start.Tag("label"); l != "L1" {
		t.Errorf("batch start label = %q, want L1", l)
	}
}

// RFC 2812 §3.2.5 with several channels: the 353s of each, then one 366
// naming the list as sent (TARGMAX advertises NAMES without a limit).
func TestNAMES_rfc2812_3_2_5_several_channels_one_end(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "nick1")
	c.join("#chan1")
	c.join("#chan2")
	c.send("NAMES #chan1,#chan2,#none")
	got := c.sync()
	want := [][]string{
		{rplNamReply, "nick1", "=", "#chan1", "@nick1"},
		{rplNamReply, "nick1", "=", "#chan2", "@nick1"},
		{rplEndOfNames, "nick1", "#chan1,#chan2,#none", "End of /NAMES list."},
	}
	if diff := cmp.Diff(want, params(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	c.send("NAMES #CHAN1")
	if m := c.expectCmd(rplEndOfNames); m.Param(1) != "#chan1" {
		t.Errorf("366 for one channel names %q, want #chan1", m.Param(1))
	}
}

// WHOX's idle field (l) is the same cluster-wide idle time as WHOIS 317.
func TestWHOX_ircv3_whox_idle_of_a_user_on_another_node(t *testing.T) {
	na, nb := twoNodes(t)
	client(t, na, "onA")
	b := client(t, nb, "onB")
	waitFor(t, "node B to know onA", func() bool {
		nb.mu.RLock()
		defer nb.mu.RUnlock()
		return nb.users["ona"] != nil
	})
	nb.mu.RLock()
	u := nb.users["ona"]
	nb.mu.RUnlock()
	u.lastActive.Store(u.since.Unix() - 1000)
	b.send("WHO onA %s", "%tnl,7")
	m := b.expectCmd(rplWhoSpcRpl, "onB", "7", "onA")
	if atoi(m.Param(3)) < 1000 {
		t.Errorf("WHOX idle = %s, want >= 1000", m.Param(3))
	}
}

func TestPackWords(t *testing.T) {
	tests := []struct {
		words []string
		room  int
		want  [][]string
	}{
		{nil, 10, [][]string{nil}},
		{[]string{"a", "b", "c"}, 10, [][]string{{"a", "b", "c"}}},
		{[]string{"aaaa", "bbbb", "cccc"}, 9, [][]string{{"aaaa", "bbbb"}, {"cccc"}}},
		{[]string{"aaaa", "bbbb", "cccc"}, 8, [][]string{{"aaaa"}, {"bbbb"}, {"cccc"}}},
		{[]string{"toolongname", "b"}, 4, [][]string{{"toolongname"}, {"b"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, packWords(tt.words, tt.room)); diff != "" {
			t.Errorf("packWords(%q, %d) (-want +got):\n%s", tt.words, tt.room, diff)
		}
	}
}

// RFC 2812 §2.3: a user in many long-named channels gets its WHOIS 319
// in several lines of at most 512 bytes, every channel in one of them.
func TestWHOIS_rfc2812_2_3_319_split_within_512_bytes(t *testing.T) {
	cfg := testConfig("")
	cfg.ServerName = strings.Repeat("s", 63)
	n := startNode(t, cfg, nil)
	nick := strings.Repeat("n", 30)
	a := client(t, n, nick)
	want := map[string]bool{}
	for i := range 12 {
		ch := fmt.Sprintf("#%s%02d", strings.Repeat("c", 60), i)
		a.join(ch)
		want["@"+ch] = true
	}
	asker := strings.Repeat("a", 30)
	b := client(t, n, asker)
	b.send("WHOIS %s", nick)
	got := map[string]bool{}
	lines := 0
	for _, m := range b.sync() {
		if m.Command != rplWhoisChannels {
			continue
		}
		lines++
		if bts, _ := m.Bytes(); len(bts) > 512 {
			t.Errorf("319 of %d bytes", len(bts))
		}
		for _, ch := range strings.Fields(m.Param(2)) {
			got[ch] = true
		}
	}
	if lines < 2 {
		t.Errorf("%d 319 lines, want the list split", lines)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("channels (-want +got):\n%s", diff)
	}
}

func TestMODE_modern_isupport_KEYLEN(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "bar")
	if v := c.isupport()["KEYLEN"]; v != itoa(maxKeyLen) {
		t.Errorf("ISUPPORT KEYLEN = %q, want %d", v, maxKeyLen)
	}
	c.join("#chan")
	c.send("MODE #chan +k %s", strings.Repeat("long", 100))
	c.expectCmd("696", "bar", "#chan", "k", "*")
	key := strings.Repeat("k", maxKeyLen)
	c.send("MODE #chan +k %s", key)
	c.expectCmd("MODE", "#chan", "+k", key)
}

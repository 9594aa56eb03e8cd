package chatd

// Conformance tests for the IRC surface: one rule per test, each against a
// fresh server, named for the section of the spec it checks
// (RFC 2812, https://modern.ircdocs.horse, https://ircv3.net/specs).

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// sync sends PING and returns everything that arrived before its PONG: the
// replies to the commands sent before it, in order.
func (c *tclient) sync() []irc.Message {
	c.t.Helper()
	tok := "sync" + uniqueNick()
	c.send("PING %s", tok)
	_, before := c.expect("PONG "+tok, func(m irc.Message) bool { return m.Command == "PONG" && m.Param(1) == tok })
	return before
}

func cmdNames(ms []irc.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Command)
	}
	return out
}

// twoNodes starts two nodes sharing one store, as two app servers of one
// cluster behind a balancer (same server_name).
func twoNodes(t *testing.T) (*testNode, *testNode) {
	t.Helper()
	st, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := testConfig("app1")
	a.ServerName = "irc.example.test"
	b := testConfig("app2")
	b.ServerName = "irc.example.test"
	return startNode(t, a, st), startNode(t, b, st)
}

var (
	operHashOnce sync.Once
	operHash     string
)

// operConfig is testConfig with operator "root", password "hunter2".
func operConfig(t *testing.T, node string) Config {
	operHashOnce.Do(func() {
		var err error
		if operHash, err = store.HashPassword("hunter2"); err != nil {
			panic(err)
		}
	})
	cfg := testConfig(node)
	cfg.Operators = []Operator{{Name: "root", Password: operHash}}
	return cfg
}

func client(t *testing.T, n *testNode, nick string, caps ...string) *tclient {
	t.Helper()
	c := dial(t, n.Addr(), nick)
	c.register(nick, caps...)
	return c
}

func TestUSER_modern_empty_realname_461(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "u")
	c.send("NICK nick")
	c.send("USER nick * * :")
	c.expectCmd(errNeedMoreParams, "nick", "USER")
}

func TestKICK_rfc2812_3_2_8_default_comment(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "kop")
	bob := client(t, n, "bob")
	op.join("#k")
	bob.join("#k")
	op.send("KICK #k bob")
	m := bob.expectCmd("KICK", "#k", "bob")
	if m.Param(2) != "kop" {
		t.Errorf("default KICK comment = %q, want the kicker's nick kop", m.Param(2))
	}
}

func TestKICK_modern_multiple_targets(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "kop")
	a := client(t, n, "ka")
	b := client(t, n, "kb")
	op.join("#k")
	a.join("#k")
	b.join("#k")
	op.send("KICK #k ka,kb :bye")
	op.expectCmd("KICK", "#k", "ka", "bye")
	op.expectCmd("KICK", "#k", "kb", "bye")
}

func TestMODE_rfc2812_3_2_3_op_unknown_nick_401(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "mop")
	op.join("#m")
	op.send("MODE #m +o nosuch")
	op.expectCmd(errNoSuchNick, "mop", "nosuch")
}

func TestMODE_rfc2812_3_2_3_op_nick_not_on_channel_441(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "mop")
	client(t, n, "outside")
	op.join("#m")
	op.send("MODE #m +o outside")
	op.expectCmd(errUserNotInChan, "mop", "outside", "#m")
}

func TestMODE_modern_isupport_MODES_bounds_replies(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "mop")
	op.join("#m")
	// 430 bytes of unknown letters and bad nicks.
	op.send("MODE #m +%s %s", strings.Repeat("Z", 300)+strings.Repeat("o", 13), strings.Repeat("nosuch ", 12)+"nosuch")
	got := op.sync()
	if n := len(got); n > 4 {
		t.Errorf("one MODE line got %d replies, want at most one per distinct error: %v", n, cmdNames(got))
	}
	if countCmd(got, errUnknownMode) != 1 || countCmd(got, errNoSuchNick) != 1 {
		t.Errorf("want one 472 and one 401, got %v", cmdNames(got))
	}
}

func TestMODE_modern_isupport_MODES_limit(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "mop")
	op.join("#m")
	op.send("MODE #m +bbbbbb a b c d e f")
	op.expectCmd("MODE", "#m", "+bbbb")
	op.send("MODE #m +b")
	got := op.sync()
	if n := countCmd(got, rplBanList); n != maxModes {
		t.Errorf("MODES=%d but %d bans were set", maxModes, n)
	}
}

func TestMODE_rfc2812_3_2_3_noop_not_broadcast(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "mop")
	other := client(t, n, "other")
	op.join("#m")
	other.join("#m")
	op.send("MODE #m +n") // already +n
	op.send("PRIVMSG #m :marker")
	_, before := other.expect("marker", func(m irc.Message) bool { return m.Command == "PRIVMSG" && m.Param(1) == "marker" })
	if countCmd(before, "MODE") != 0 {
		t.Errorf("a no-op MODE was broadcast: %v", cmdNames(before))
	}
	evs, err := n.st.History(context.Background(), store.HistoryQuery{Target: "#m", Mode: store.ModeLatest, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Kind == store.KindMode {
			t.Errorf("a no-op MODE was logged: %+v", ev)
		}
	}
}

func TestMODE_rfc2812_4_2_6_secret_hidden_from_outsiders(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "mop")
	out := client(t, n, "out")
	op.join("#s")
	op.send("MODE #s +sk key")
	op.expectCmd("MODE", "#s", "+sk", "key")
	out.send("MODE #s")
	got := out.sync()
	if countCmd(got, rplChannelModeIs) != 0 || countCmd(got, errNoSuchChannel) != 1 {
		t.Errorf("outsider's MODE #s got %v, want 403 only", cmdNames(got))
	}
}

func TestLUSERS_modern_265_266_max_is_peak(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "la")
	b := client(t, n, "lb")
	b.send("QUIT")
	b.expectClosed()
	waitFor(t, "lb gone", func() bool {
		n.mu.RLock()
		defer n.mu.RUnlock()
		return n.users["lb"] == nil
	})
	a.send("LUSERS")
	m := a.expectCmd(rplLocalUsers)
	if m.Param(1) != "1" || m.Param(2) != "2" {
		t.Errorf("265 = %v, want current 1 max 2", m.Params)
	}
	m = a.expectCmd(rplGlobalUsers)
	if m.Param(1) != "1" || m.Param(2) != "2" {
		t.Errorf("266 = %v, want current 1 max 2", m.Params)
	}
}

func TestLUSERS_rfc2812_251_counts_invisible(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "la")
	client(t, n, "lb")
	a.send("MODE la +i")
	a.expectCmd("MODE", "la", "+i")
	a.send("LUSERS")
	m := a.expectCmd(rplLuserClient)
	if !strings.Contains(m.Param(1), "There are 1 users and 1 invisible") {
		t.Errorf("251 = %q, want 1 users and 1 invisible", m.Param(1))
	}
}

func TestEchoMessage_ircv3_message_to_self_arrives_twice(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "me", "echo-message", "labeled-response", "batch", "message-tags")
	c.send("@label=x1 PRIVMSG me :hi")
	var got []irc.Message
	for len(got) < 2 {
		m := c.expectCmd("PRIVMSG", "me", "hi")
		got = append(got, m)
	}
	labeled := 0
	for _, m := range got {
		if l, ok := m.Tag("label"); ok && l == "x1" {
			labeled++
		}
	}
	if labeled != 1 {
		t.Errorf("%d of the two copies carry the label, want exactly 1", labeled)
	}
}

func TestUnknownCommand_modern_421_labeled(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "me", "labeled-response", "batch")
	c.send("@label=u1 FOO_BAR x")
	m := c.expectCmd(errUnknownCommand, "me", "FOO_BAR")
	if l, _ := m.Tag("label"); l != "u1" {
		t.Errorf("421 label = %q, want u1", l)
	}
}

func TestWHOIS_rfc2812_3_6_2_317_idle(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "wa")
	b := client(t, n, "wb")
	n.mu.RLock()
	u := n.users["wa"]
	n.mu.RUnlock()
	u.lastActive.Store(u.since.Unix() - 1000) // as if it spoke long ago
	b.send("WHOIS wa")
	m := b.expectCmd(rplWhoisIdle, "wb", "wa")
	if atoi(m.Param(2)) < 1000 {
		t.Errorf("317 idle = %s, want >= 1000", m.Param(2))
	}
	if m.Param(3) != itoa(int(u.since.Unix())) {
		t.Errorf("317 signon = %s, want %d", m.Param(3), u.since.Unix())
	}
	a.send("PRIVMSG wb :hello")
	b.expectCmd("PRIVMSG", "wb", "hello")
	b.send("WHOIS wa")
	if m := b.expectCmd(rplWhoisIdle, "wb", "wa"); atoi(m.Param(2)) >= 1000 {
		t.Errorf("317 idle = %s after a PRIVMSG, want it reset", m.Param(2))
	}
}

func TestWHOIS_modern_312_server_name_not_node(t *testing.T) {
	a, b := twoNodes(t)
	client(t, a, "onA")
	cb := client(t, b, "onB")
	cb.send("WHOIS onA")
	cb.expectCmd(rplWhoisServer, "onB", "onA", "irc.example.test")
	cb.send("WHO onA")
	if m := cb.expectCmd(rplWhoReply, "onB"); m.Param(4) != "irc.example.test" {
		t.Errorf("352 server = %q, want irc.example.test", m.Param(4))
	}
}

func TestWHOWAS_rfc2812_3_6_3_after_quit_cluster_wide(t *testing.T) {
	a, b := twoNodes(t)
	gone := client(t, a, "gone")
	asker := client(t, b, "asker")
	gone.send("QUIT :bye")
	gone.expectClosed()
	waitFor(t, "gone's QUIT on app2", func() bool {
		b.mu.RLock()
		defer b.mu.RUnlock()
		return b.users["gone"] == nil
	})
	asker.send("WHOWAS gone")
	m := asker.expectCmd(rplWhowasUser, "asker", "gone")
	if m.Param(2) != "~gone" || m.Param(5) != "Real gone" {
		t.Errorf("314 = %v", m.Params)
	}
	asker.expectCmd(rplWhoisServer, "asker", "gone", "irc.example.test")
	asker.expectCmd(rplEndOfWhowas, "asker", "gone")
}

func TestWHOWAS_rfc2812_3_6_3_unknown_406(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "asker")
	c.send("WHOWAS neverwas")
	c.expectCmd(errWasNoSuchNick, "asker", "neverwas")
	c.expectCmd(rplEndOfWhowas, "asker", "neverwas")
}

func TestOPER_rfc2812_3_1_4_success_381(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	c := client(t, n, "op")
	c.send("OPER root hunter2")
	c.expectCmd("MODE", "op", "+o")
	c.expectCmd(rplYoureOper, "op")
	c.send("MODE op")
	c.expectCmd(rplUmodeIs, "op", "+o")
}

func TestOPER_rfc2812_3_1_4_bad_password_464(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	c := client(t, n, "op")
	c.send("OPER root wrong")
	c.expectCmd(errPasswdMismatch, "op")
}

func TestKILL_rfc2812_3_7_1_not_operator_481(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "op")
	client(t, n, "victim")
	c.send("KILL victim :bye")
	c.expectCmd(errNoPrivileges, "op")
}

func TestKILL_rfc2812_3_7_1_cluster_wide(t *testing.T) {
	st, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := startNode(t, operConfig(t, "app1"), st)
	b := startNode(t, operConfig(t, "app2"), st)
	op := client(t, a, "op")
	victim := client(t, b, "victim")
	watcher := client(t, a, "watcher")
	victim.join("#k")
	watcher.join("#k")
	op.send("OPER root hunter2")
	op.expectCmd(rplYoureOper, "op")
	op.send("KILL victim :spam")
	if reason := victim.expectClosed(); !strings.Contains(reason, "Killed (op (spam))") {
		t.Errorf("victim's ERROR = %q", reason)
	}
	m := watcher.expectCmd("QUIT")
	if !strings.HasPrefix(m.Source, "victim!") || !strings.Contains(m.Param(0), "spam") {
		t.Errorf("watcher saw %v", m)
	}
	// The nick is free again, on either node.
	again := dial(t, a.Addr(), "again")
	again.register("victim")
}

func TestWALLOPS_rfc2812_4_7_to_plus_w(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	op := client(t, n, "op")
	w := client(t, n, "w")
	plain := client(t, n, "plain")
	w.send("MODE w +w")
	w.expectCmd("MODE", "w", "+w")
	op.send("OPER root hunter2")
	op.expectCmd(rplYoureOper, "op")
	op.send("WALLOPS :hear ye")
	w.expectCmd("WALLOPS", "hear ye")
	// The WALLOPS was applied before this later event: plain, without +w,
	// must have had it before the marker.
	op.send("PRIVMSG plain :marker")
	_, before := plain.expect("marker", func(m irc.Message) bool { return m.Command == "PRIVMSG" })
	if countCmd(before, "WALLOPS") != 0 {
		t.Errorf("user without +w got WALLOPS")
	}
}

func TestINFO_rfc2812_3_4_10(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "me")
	c.send("INFO")
	c.expectCmd(rplInfo, "me")
	c.expectCmd(rplEndOfInfo, "me")
}

func TestREHASH_rfc2812_4_2_reloads_operators_and_motd(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	newCfg := operConfig(t, "")
	newCfg.MOTD = "rehashed motd"
	newCfg.Operators = append(newCfg.Operators, Operator{Name: "second", Password: operHash})
	n.SetReloader(func() (Config, error) { return newCfg, nil })
	c := client(t, n, "op")
	c.send("OPER root hunter2")
	c.expectCmd(rplYoureOper, "op")
	c.send("REHASH")
	c.expectCmd(rplRehashing, "op")
	c.send("MOTD")
	c.expectCmd(rplMotd, "op", "- rehashed motd")
	d := client(t, n, "op2")
	d.send("OPER second hunter2")
	d.expectCmd(rplYoureOper, "op2")
}

func TestWHOX_ircv3_whox_354(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "coolNick")
	b := client(t, n, "other")
	a.join("#c")
	b.join("#c")
	b.send("WHO #c %s", "%tcuhnfar,42")
	m := b.expectCmd(rplWhoSpcRpl, "other", "42", "#c")
	want := []string{"other", "42", "#c", "~coolNick", "127.0.0.1", "coolNick", "H@", "0", "Real coolNick"}
	if strings.Join(m.Params, "|") != strings.Join(want, "|") {
		t.Errorf("354 = %q, want %q", m.Params, want)
	}
	b.send("VERSION")
	found := false
	for _, m := range b.sync() {
		if m.Command == rplISupport && strings.Contains(strings.Join(m.Params, " "), " WHOX") {
			found = true
		}
	}
	if !found {
		t.Error("ISUPPORT lacks WHOX")
	}
}

func TestWHO_modern_mask_hides_invisible(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	evan := client(t, n, "evan")
	sh := client(t, n, "shivaram")
	evan.send("MODE evan +i")
	evan.expectCmd("MODE", "evan", "+i")
	sh.send("WHO eva*")
	if got := sh.sync(); countCmd(got, rplWhoReply) != 0 {
		t.Errorf("WHO eva* showed an invisible user: %v", cmdNames(got))
	}
	sh.send("WHO evan")
	if got := sh.sync(); countCmd(got, rplWhoReply) != 1 {
		t.Errorf("WHO evan (exact nick) = %v, want one 352", cmdNames(got))
	}
	evan.join("#t")
	sh.join("#t")
	sh.send("WHO eva*")
	if got := sh.sync(); countCmd(got, rplWhoReply) != 1 {
		t.Errorf("WHO eva* with a shared channel = %v, want one 352", cmdNames(got))
	}
}

func TestMONITOR_ircv3_monitor_cross_node(t *testing.T) {
	a, b := twoNodes(t)
	w := client(t, a, "watcher")
	w.send("MONITOR + target,other")
	w.expectCmd(rplMonOffline, "watcher", "target,other")
	tc := client(t, b, "target")
	m := w.expectCmd(rplMonOnline, "watcher")
	if !strings.HasPrefix(m.Param(1), "target!") {
		t.Errorf("730 = %q", m.Param(1))
	}
	w.send("MONITOR L")
	w.expectCmd(rplMonList, "watcher")
	w.expectCmd(rplEndOfMonList, "watcher")
	tc.send("QUIT")
	w.expectCmd(rplMonOffline, "watcher", "target")
}

func TestMONITOR_ircv3_monitor_list_full_734(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	w := client(t, n, "watcher")
	var nicks []string
	for i := 0; i <= maxMonitor; i++ {
		nicks = append(nicks, "n"+itoa(i))
	}
	w.send("MONITOR + %s", strings.Join(nicks[:50], ","))
	w.send("MONITOR + %s", strings.Join(nicks[50:], ","))
	w.expectCmd(errMonListFull, "watcher", itoa(maxMonitor))
}

func TestAWAY_ircv3_away_notify_cross_node(t *testing.T) {
	a, b := twoNodes(t)
	away := client(t, a, "goer")
	peer := client(t, b, "peer", "away-notify")
	away.join("#a")
	peer.join("#a")
	away.send("AWAY :lunch")
	away.expectCmd(rplNowAway, "goer")
	m := peer.expectCmd("AWAY", "lunch")
	if !strings.HasPrefix(m.Source, "goer!") {
		t.Errorf("AWAY source = %q", m.Source)
	}
	peer.send("WHOIS goer")
	peer.expectCmd(rplAway, "peer", "goer", "lunch")
	peer.send("WHO #a")
	got := peer.sync()
	for _, m := range got {
		if m.Command == rplWhoReply && m.Param(5) == "goer" && !strings.HasPrefix(m.Param(6), "G") {
			t.Errorf("WHO flags on the other node = %q, want G", m.Param(6))
		}
	}
	away.send("AWAY")
	away.expectCmd(rplUnaway, "goer")
	if m := peer.expectCmd("AWAY"); len(m.Params) != 0 {
		t.Errorf("back AWAY has params %v", m.Params)
	}
}

func TestSETNAME_ircv3_setname_cross_node(t *testing.T) {
	a, b := twoNodes(t)
	c := client(t, a, "renamer", "setname")
	peer := client(t, b, "peer", "setname")
	c.join("#s")
	peer.join("#s")
	c.send("SETNAME :New Name")
	c.expectCmd("SETNAME", "New Name")
	peer.expectCmd("SETNAME", "New Name")
	peer.send("WHOIS renamer")
	peer.expectCmd(rplWhoisUser, "peer", "renamer", "~renamer", "127.0.0.1", "*", "New Name")
}

func TestExtendedJoin_ircv3_extended_join(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	obs := client(t, n, "obs", "extended-join")
	obs.join("#e")
	j := client(t, n, "joiner")
	j.join("#e")
	obs.expectCmd("JOIN", "#e", "*", "Real joiner")
}

func TestMultiPrefix_ircv3_multi_prefix_names(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "mp", "multi-prefix")
	c.join("#p")
	c.send("MODE #p +v mp")
	c.expectCmd("MODE", "#p", "+v", "mp")
	c.send("NAMES #p")
	m := c.expectCmd(rplNamReply, "mp")
	if m.Param(3) != "@+mp" {
		t.Errorf("NAMES with multi-prefix = %q, want @+mp", m.Param(3))
	}
}

func TestUserhostInNames_ircv3_userhost_in_names(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := client(t, n, "uh", "userhost-in-names")
	c.send("JOIN #u")
	m := c.expectCmd(rplNamReply, "uh")
	if m.Param(3) != "@uh!~uh@127.0.0.1" {
		t.Errorf("NAMES with userhost-in-names = %q", m.Param(3))
	}
}

func TestInviteNotify_ircv3_invite_notify(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "op")
	op2 := client(t, n, "op2", "invite-notify")
	client(t, n, "guest")
	op.join("#i")
	op2.join("#i")
	op.send("MODE #i +o op2")
	op2.expectCmd("MODE", "#i", "+o", "op2")
	op.send("INVITE guest #i")
	m := op2.expectCmd("INVITE", "guest", "#i")
	if !strings.HasPrefix(m.Source, "op!") {
		t.Errorf("INVITE source = %q", m.Source)
	}
}

func TestSTATUSMSG_modern_isupport_to_ops_only(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "op")
	plain := client(t, n, "plain")
	sender := client(t, n, "sender")
	op.join("#st")
	plain.join("#st")
	sender.join("#st")
	sender.send("PRIVMSG @#st :ops only")
	op.expectCmd("PRIVMSG", "@#st", "ops only")
	sender.send("PRIVMSG #st :everyone")
	_, before := plain.expect("everyone", func(m irc.Message) bool { return m.Command == "PRIVMSG" && m.Param(1) == "everyone" })
	if countCmd(before, "PRIVMSG") != 0 {
		t.Errorf("a non-op got the STATUSMSG: %v", before)
	}
}

func TestLIST_modern_isupport_ELIST_C_T(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "la")
	a.join("#old")
	a.join("#new")
	a.send("TOPIC #old :topic")
	a.expectCmd("TOPIC", "#old", "topic")
	n.mu.Lock()
	n.channels["#old"].created = time.Now().Add(-3 * time.Minute)
	n.channels["#old"].topicAt = time.Now().Add(-3 * time.Minute)
	n.mu.Unlock()
	list := func(q string) string {
		a.send("LIST %s", q)
		var names []string
		for _, m := range a.sync() {
			if m.Command == rplList {
				names = append(names, m.Param(1))
			}
		}
		return strings.Join(names, ",")
	}
	for q, want := range map[string]string{"C>2": "#old", "C<2": "#new", "C<0": "", "C>0": "#new,#old", "T>2": "#new,#old"} {
		if got := list(q); got != want {
			t.Errorf("LIST %s = %q, want %q", q, got, want)
		}
	}
}

func TestLIST_modern_isupport_ELIST(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "la")
	b := client(t, n, "lb")
	a.join("#big")
	b.join("#big")
	a.join("#small")
	a.send("LIST >1")
	got := a.sync()
	var names []string
	for _, m := range got {
		if m.Command == rplList {
			names = append(names, m.Param(1))
		}
	}
	if strings.Join(names, ",") != "#big" {
		t.Errorf("LIST >1 = %v, want #big", names)
	}
	a.send("LIST #sm*")
	names = nil
	for _, m := range a.sync() {
		if m.Command == rplList {
			names = append(names, m.Param(1))
		}
	}
	if strings.Join(names, ",") != "#small" {
		t.Errorf("LIST #sm* = %v, want #small", names)
	}
}

func TestMODE_modern_ban_exception_e(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "op")
	friend := client(t, n, "friend")
	op.join("#x")
	op.send("MODE #x +be *!*@* friend")
	op.expectCmd("MODE", "#x", "+be", "*!*@*", "friend!*@*")
	friend.join("#x") // banned by *!*@*, let in by the exception
	op.send("MODE #x e")
	op.expectCmd(rplExceptList, "op", "#x", "friend!*@*")
	op.expectCmd(rplEndOfExceptList, "op", "#x")
}

func TestMODE_modern_invite_exception_I(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "op")
	guest := client(t, n, "guest")
	other := client(t, n, "other")
	op.join("#x")
	op.send("MODE #x +iI guest")
	op.expectCmd("MODE", "#x", "+iI", "guest!*@*")
	guest.join("#x")
	other.send("JOIN #x")
	other.expectCmd(errInviteOnlyChan, "other", "#x")
	op.send("MODE #x I")
	op.expectCmd(rplInviteList, "op", "#x", "guest!*@*")
	op.expectCmd(rplEndOfInviteList, "op", "#x")
}

func TestMODE_modern_exception_lists_survive_restart(t *testing.T) {
	st, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := startNode(t, testConfig("app1"), st)
	op := client(t, a, "op")
	op.join("#x")
	op.send("MODE #x +eI friend guest")
	op.expectCmd("MODE", "#x", "+eI", "friend!*@*", "guest!*@*")
	// A node starting now loads the lists from the store.
	b := startNode(t, testConfig("app2"), st)
	c := client(t, b, "asker")
	c.send("MODE #x e")
	c.expectCmd(rplExceptList, "asker", "#x", "friend!*@*")
	c.send("MODE #x I")
	c.expectCmd(rplInviteList, "asker", "#x", "guest!*@*")
}

func TestINVITE_modern_list_336(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	op := client(t, n, "op")
	guest := client(t, n, "guest")
	op.join("#x")
	op.send("INVITE guest #x")
	op.expectCmd(rplInviting, "op", "guest", "#x")
	guest.expectCmd("INVITE", "guest", "#x")
	guest.send("INVITE")
	guest.expectCmd(rplInviteListUser, "guest", "#x")
	guest.expectCmd(rplEndOfInviteListUser, "guest")
}

func TestAWAY_ircv3_away_notify_on_join(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	foo := client(t, n, "foo", "away-notify")
	foo.join("#chan")
	bar := client(t, n, "bar")
	bar.send("AWAY :already away")
	bar.expectCmd(rplNowAway, "bar")
	bar.join("#chan")
	foo.expectCmd("JOIN", "#chan")
	m := foo.expectCmd("AWAY", "already away")
	if !strings.HasPrefix(m.Source, "bar!") {
		t.Errorf("AWAY source %q", m.Source)
	}
}

func TestMONITOR_ircv3_extended_monitor_away(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	foo := client(t, n, "foo", "extended-monitor", "away-notify")
	bar := client(t, n, "bar")
	foo.send("MONITOR + bar")
	foo.expectCmd(rplMonOnline, "foo")
	bar.send("AWAY :afk")
	bar.expectCmd(rplNowAway, "bar")
	m := foo.expectCmd("AWAY", "afk")
	if !strings.HasPrefix(m.Source, "bar!") {
		t.Errorf("AWAY source %q", m.Source)
	}
}

func TestMONITOR_ircv3_monitor_nick_change(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	w := client(t, n, "bar")
	w.send("MONITOR + qux")
	w.expectCmd(rplMonOffline, "bar", "qux")
	baz := client(t, n, "baz")
	baz.send("NICK qux")
	if m := w.expectCmd(rplMonOnline, "bar"); !strings.HasPrefix(m.Param(1), "qux!") {
		t.Errorf("730 = %q", m.Param(1))
	}
	baz.send("NICK QUX") // a change of case: no numeric
	baz.expectCmd("NICK", "QUX")
	baz.send("NICK bazbat")
	m, before := w.expect("731", func(m irc.Message) bool { return m.Command == rplMonOffline })
	if m.Param(1) != "QUX" || len(before) != 0 {
		t.Errorf("731 %q after %v; want QUX and nothing before", m.Param(1), cmdNames(before))
	}
}

func TestLUSERS_modern_252_operators(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	bar := client(t, n, "bar")
	bar.send("OPER root hunter2")
	bar.expectCmd(rplYoureOper, "bar")
	bar.send("LUSERS")
	if m := bar.expectCmd(rplLuserOp, "bar"); m.Param(1) != "1" {
		t.Errorf("252 = %q after OPER, want 1", m.Param(1))
	}
	bar.send("MODE bar -o")
	bar.expectCmd("MODE", "bar", "-o")
	bar.send("LUSERS")
	if m := bar.expectCmd(rplLuserOp, "bar"); m.Param(1) != "0" {
		t.Errorf("252 = %q after MODE -o, want 0", m.Param(1))
	}
}

func TestAccountNotify_ircv3_account_notify(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	peer := client(t, n, "peer", "account-notify")
	u := client(t, n, "newbie")
	peer.join("#a")
	u.join("#a")
	u.send("REGISTER newacct * :long enough password")
	u.expectCmd(rplLoggedIn, "newbie")
	m := peer.expectCmd("ACCOUNT", "newacct")
	if !strings.HasPrefix(m.Source, "newbie!") {
		t.Errorf("ACCOUNT source %q", m.Source)
	}
}

func TestWHOWAS_rfc2812_3_6_3_from_the_log_after_restart(t *testing.T) {
	st, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := startNode(t, testConfig("app1"), st)
	c := client(t, a, "early")
	c.send("NICK renamed")
	c.expectCmd("NICK", "renamed")
	c.send("QUIT")
	c.expectClosed()
	waitFor(t, "renamed's QUIT applied", func() bool {
		a.mu.RLock()
		defer a.mu.RUnlock()
		return a.users["renamed"] == nil
	})
	// A node that starts now rebuilds WHOWAS from the log.
	b := startNode(t, testConfig("app2"), st)
	asker := client(t, b, "asker")
	asker.send("WHOWAS early")
	asker.expectCmd(rplWhowasUser, "asker", "early", "~early", "127.0.0.1", "*", "Real early")
	asker.send("WHOWAS renamed")
	asker.expectCmd(rplWhowasUser, "asker", "renamed", "~early", "127.0.0.1", "*", "Real early")
}

func TestWHOIS_modern_invisible_hides_channels(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	one := client(t, n, "userOne")
	two := client(t, n, "userTwo")
	one.join("#xyz")
	one.send("MODE userOne +i")
	one.expectCmd("MODE", "userOne", "+i")
	two.send("WHOIS userOne")
	if got := two.sync(); countCmd(got, rplWhoisChannels) != 0 {
		t.Errorf("WHOIS of a +i user showed its channels to an outsider: %v", cmdNames(got))
	}
	two.join("#xyz")
	two.send("WHOIS userOne")
	if got := two.sync(); countCmd(got, rplWhoisChannels) != 1 {
		t.Errorf("WHOIS of a +i user sharing a channel: %v, want 319", cmdNames(got))
	}
}

func TestKILL_modern_one_argument(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	op := client(t, n, "ircop")
	alice := client(t, n, "alice")
	op.send("OPER root hunter2")
	op.expectCmd(rplYoureOper, "ircop")
	op.send("KILL alice")
	if reason := alice.expectClosed(); !strings.Contains(reason, "Killed (ircop)") {
		t.Errorf("ERROR = %q", reason)
	}
}

func TestMODE_rfc2812_3_2_3_unset_key_keeps_argument_order(t *testing.T) {
	a, b := twoNodes(t)
	op := client(t, a, "op")
	bob := client(t, b, "bob")
	op.join("#k")
	bob.join("#k")
	op.send("MODE #k +k secret")
	op.expectCmd("MODE", "#k", "+k", "secret")
	op.send("MODE #k -k+o secret bob")
	op.expectCmd("MODE", "#k", "-k+o", "*", "bob")
	bob.expectCmd("MODE", "#k", "-k+o", "*", "bob")
	// On bob's node the change was applied with its arguments in place.
	bob.send("NAMES #k")
	if m := bob.expectCmd(rplNamReply, "bob"); !strings.Contains(" "+m.Param(3)+" ", " @bob ") {
		t.Errorf("NAMES on bob's node = %q, want @bob", m.Param(3))
	}
	bob.send("MODE #k")
	if m := bob.expectCmd(rplChannelModeIs, "bob", "#k"); strings.Contains(m.Param(2), "k") {
		t.Errorf("modes on bob's node = %q, key still set", m.Param(2))
	}
}

func TestLUSERS_modern_253_unregistered(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	bar := client(t, n, "bar")
	qux := dial(t, n.Addr(), "qux")
	qux.send("NICK qux")
	qux.send("PING x")
	qux.expectCmd("PONG")
	bar.send("LUSERS")
	if m := bar.expectCmd(rplLuserUnknown, "bar"); m.Param(1) != "1" {
		t.Errorf("253 = %q, want 1", m.Param(1))
	}
}

func TestOPER_modern_unknown_name_464(t *testing.T) {
	n := startNode(t, operConfig(t, ""), nil)
	c := client(t, n, "op")
	c.send("OPER nosuchoper hunter2")
	c.expectCmd(errPasswdMismatch, "op")
	c.send("MODE op")
	c.expectCmd(rplUmodeIs, "op", "+")
}

func TestAWAY_rfc2812_4_1_known_to_a_node_started_later(t *testing.T) {
	st, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := startNode(t, testConfig("app1"), st)
	u := client(t, a, "early", "setname")
	u.send("AWAY :gone fishing")
	u.expectCmd(rplNowAway, "early")
	u.send("MODE early +i")
	u.expectCmd("MODE", "early", "+i")
	u.send("SETNAME :New Name")
	u.expectCmd("SETNAME", "New Name")
	// A node starting now loads them with the cluster state.
	b := startNode(t, testConfig("app2"), st)
	c := client(t, b, "asker")
	c.send("WHOIS early")
	c.expectCmd(rplWhoisUser, "asker", "early", "~early", "127.0.0.1", "*", "New Name")
	c.expectCmd(rplAway, "asker", "early", "gone fishing")
	c.send("LUSERS")
	if m := c.expectCmd(rplLuserClient, "asker"); !strings.Contains(m.Param(1), "1 invisible") {
		t.Errorf("251 on the new node = %q, want early counted invisible", m.Param(1))
	}
}

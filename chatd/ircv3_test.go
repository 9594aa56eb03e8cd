package chatd

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

func TestCapNegotiation(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "cap")
	c.send("CAP LS 302")
	ls := c.expectCmd("CAP", "*", "LS")
	for _, want := range []string{"sasl=PLAIN", "draft/chathistory", "echo-message", "labeled-response", "server-time", "message-tags", "batch", "draft/account-registration=before-connect"} {
		if !strings.Contains(" "+ls.Param(2)+" ", " "+want+" ") {
			t.Errorf("CAP LS %q lacks %s", ls.Param(2), want)
		}
	}
	c.send("CAP REQ :server-time bogus-cap")
	c.expectCmd("CAP", "*", "NAK", "server-time bogus-cap")
	c.send("NICK cap")
	c.send("USER cap 0 * :c")
	// Registration waits for CAP END.
	c.send("CAP REQ :server-time")
	c.expectCmd("CAP", "cap", "ACK", "server-time")
	c.send("CAP END")
	c.expectCmd(rplWelcome, "cap")
	c.send("CAP LIST")
	c.expectCmd("CAP", "cap", "LIST", "server-time")
}

// TestEchoLabeled checks echo-message with labeled-response: the echo carries
// the label, server-time and msgid, and the msgid is the one in history.
func TestEchoLabeled(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("ea", allCaps...)
	b := dial(t, n.Addr(), "b")
	b.register("eb", "server-time", "message-tags")
	a.join("#echo")
	b.join("#echo")
	a.send("@label=L1;+draft/reply=abc PRIVMSG #echo :hello")
	echo := a.expectCmd("PRIVMSG", "#echo", "hello")
	if l, _ := echo.Tag("label"); l != "L1" {
		t.Errorf("echo label = %q, want L1 (tags %v)", l, echo.Tags)
	}
	msgid, ok := echo.Tag("msgid")
	if !ok {
		t.Fatalf("echo has no msgid: %v", echo.Tags)
	}
	if _, ok := echo.Tag("time"); !ok {
		t.Errorf("echo has no time tag")
	}
	got := b.expectCmd("PRIVMSG", "#echo", "hello")
	if id, _ := got.Tag("msgid"); id != msgid {
		t.Errorf("recipient msgid %q != echo msgid %q", id, msgid)
	}
	if v, _ := got.Tag("+draft/reply"); v != "abc" {
		t.Errorf("client tag not relayed: %v", got.Tags)
	}
	if _, ok := got.Tag("label"); ok {
		t.Errorf("label leaked to another client")
	}
	// Labeled command with several replies: a labeled-response batch.
	a.send("@label=L2 WHOIS eb")
	start := a.expectCmd("BATCH")
	if l, _ := start.Tag("label"); l != "L2" || start.Param(1) != "labeled-response" {
		t.Errorf("batch start = %v %v", start.Tags, start.Params)
	}
	id := strings.TrimPrefix(start.Param(0), "+")
	m := a.expectCmd(rplWhoisUser)
	if b, _ := m.Tag("batch"); b != id {
		t.Errorf("311 batch tag = %q, want %q", b, id)
	}
	a.expectCmd("BATCH", "-"+id)
	// Labeled command with no reply: ACK.
	a.send("@label=L3 PONG x")
	ack := a.expectCmd("ACK")
	if l, _ := ack.Tag("label"); l != "L3" {
		t.Errorf("ACK label = %q", l)
	}
	// History has the message under the same msgid.
	a.send("CHATHISTORY LATEST #echo * 10")
	hm := a.expectCmd("PRIVMSG", "#echo", "hello")
	if id, _ := hm.Tag("msgid"); id != msgid {
		t.Errorf("history msgid %q != %q", id, msgid)
	}
}

func TestChathistory(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("ha", allCaps...)
	a.join("#hist")
	var ids []string
	for i := range 10 {
		a.send("PRIVMSG #hist :m%d", i)
		m := a.expectCmd("PRIVMSG", "#hist", fmt.Sprintf("m%d", i))
		id, _ := m.Tag("msgid")
		ids = append(ids, id)
	}
	b := dial(t, n.Addr(), "b")
	b.register("hb", allCaps...)
	b.join("#hist")
	texts := func(q string) []string {
		t.Helper()
		b.send("%s", q)
		start, _ := b.expect("BATCH start", func(m irc.Message) bool {
			return (m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "+") && m.Param(1) == "chathistory") || m.Command == "FAIL"
		})
		if start.Command == "FAIL" {
			t.Fatalf("%s: %v", q, start.Params)
		}
		if start.Param(2) != "#hist" {
			t.Errorf("batch target = %q", start.Param(2))
		}
		id := strings.TrimPrefix(start.Param(0), "+")
		_, in := b.expect("BATCH end", func(m irc.Message) bool { return m.Command == "BATCH" && m.Param(0) == "-"+id })
		var out []string
		for _, m := range in {
			if bt, _ := m.Tag("batch"); bt != id {
				t.Errorf("message without batch tag in chathistory batch: %v", m)
			}
			out = append(out, m.Param(1))
		}
		return out
	}
	tests := []struct {
		name, q string
		want    []string
	}{
		{"latest", "CHATHISTORY LATEST #hist * 3", []string{"m8", "m9", "m10"}},
		{"latest after msgid", "CHATHISTORY LATEST #hist msgid=" + ids[7] + " 5", []string{"m8", "m9", "m10"}},
		{"before", "CHATHISTORY BEFORE #hist msgid=" + ids[5] + " 2", []string{"m3", "m4"}},
		{"after", "CHATHISTORY AFTER #hist msgid=" + ids[5] + " 2", []string{"m6", "m7"}},
		{"around", "CHATHISTORY AROUND #hist msgid=" + ids[5] + " 3", []string{"m4", "m5", "m6"}},
		{"between", "CHATHISTORY BETWEEN #hist msgid=" + ids[2] + " msgid=" + ids[6] + " 10", []string{"m3", "m4", "m5"}},
		{"after last", "CHATHISTORY AFTER #hist msgid=" + ids[8] + " 10", []string{"m9", "m10"}},
		{"unknown msgid", "CHATHISTORY AFTER #hist msgid=nope 10", nil},
	}
	// JOINs and PARTs between messages are history too, but a client
	// without event-playback must get the next message, not a short page.
	j := dial(t, n.Addr(), "j")
	j.register("hj")
	for range 3 {
		j.join("#hist")
		j.send("PART #hist")
		j.expectCmd("PART", "#hist")
	}
	a.send("PRIVMSG #hist :m10")
	a.expectCmd("PRIVMSG", "#hist", "m10")
	tests = append(tests, struct {
		name, q string
		want    []string
	}{"after skips non-messages", "CHATHISTORY AFTER #hist msgid=" + ids[9] + " 1", []string{"m10"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, texts(tt.q)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.q, diff)
			}
		})
	}
	b.send("CHATHISTORY LATEST #hist * 0")
	b.expectCmd("FAIL", "CHATHISTORY", "INVALID_PARAMS")
	b.send("CHATHISTORY LATEST #nochan * 10")
	b.expectCmd("FAIL", "CHATHISTORY", "INVALID_TARGET")
	b.send("CHATHISTORY FOO #hist * 10")
	b.expectCmd("FAIL", "CHATHISTORY", "INVALID_PARAMS")

	// TARGETS lists the channel and a DM conversation.
	a.send("PRIVMSG hb :private")
	b.expectCmd("PRIVMSG", "hb", "private")
	b.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10")
	start := b.expectCmd("BATCH")
	if start.Param(1) != "draft/chathistory-targets" {
		t.Fatalf("TARGETS batch type = %q", start.Param(1))
	}
	_, in := b.expect("BATCH end", func(m irc.Message) bool { return m.Command == "BATCH" })
	var got []string
	for _, m := range in {
		got = append(got, m.Param(1))
	}
	if diff := cmp.Diff([]string{"#hist", "ha"}, got); diff != "" {
		t.Errorf("TARGETS (-want +got):\n%s", diff)
	}
	// DM history is keyed by the pair.
	b.send("CHATHISTORY LATEST ha * 10")
	b.expectCmd("PRIVMSG", "hb", "private")
}

func TestSASLPlain(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	hash, err := store.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.st.CreateAccount(context.Background(), "SaslUser", hash); err != nil {
		t.Fatal(err)
	}
	plain := func(authz, authc, pw string) string {
		return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + authc + "\x00" + pw))
	}
	tests := []struct {
		name, payload, want string
	}{
		{"good", plain("", "sasluser", "correct horse"), rplSaslSuccess},
		{"good with authzid", plain("sasluser", "sasluser", "correct horse"), rplSaslSuccess},
		{"case-insensitive name", plain("", "SASLuser", "correct horse"), rplSaslSuccess},
		{"wrong password", plain("", "sasluser", "wrong"), errSaslFail},
		{"no account", plain("", "ghost", "x"), errSaslFail},
		{"not base64", "!!!", errSaslFail},
		{"other authzid", plain("admin", "sasluser", "correct horse"), errSaslFail},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, n.Addr(), "s")
			c.send("CAP REQ :sasl")
			c.expectCmd("CAP", "*", "ACK")
			c.send("AUTHENTICATE PLAIN")
			c.expectCmd("AUTHENTICATE", "+")
			c.send("AUTHENTICATE %s", tt.payload)
			m, before := c.expect("SASL result", func(m irc.Message) bool {
				return m.Command == rplSaslSuccess || m.Command == errSaslFail
			})
			if m.Command != tt.want {
				t.Fatalf("got %s, want %s", m.Command, tt.want)
			}
			if tt.want != rplSaslSuccess {
				return
			}
			// Whatever the client typed, it is logged in under the
			// registered spelling.
			if len(before) == 0 || before[len(before)-1].Command != rplLoggedIn || before[len(before)-1].Param(2) != "SaslUser" {
				t.Errorf("before 903: %v, want 900 with account SaslUser", before)
			}
			nick := fmt.Sprintf("sasl%d", i)
			c.send("CAP END")
			c.send("NICK %s", nick)
			c.send("USER x 0 * :x")
			c.expectCmd(rplWelcome, nick)
			c.send("WHOIS %s", nick)
			if m := c.expectCmd(rplWhoisAccount, nick, nick); m.Param(2) != "SaslUser" {
				t.Errorf("WHOIS account = %q, want SaslUser", m.Param(2))
			}
			// account-tag carries the registered spelling too.
			w := dial(t, n.Addr(), "w")
			w.register(nick+"w", "account-tag")
			w.join("#" + nick)
			c.name = nick
			c.join("#" + nick)
			c.send("PRIVMSG #%s :hi", nick)
			pm := w.expectCmd("PRIVMSG", "#"+nick, "hi")
			if got, _ := pm.Tag("account"); got != "SaslUser" {
				t.Errorf("account tag = %q, want SaslUser", got)
			}
		})
	}
	c := dial(t, n.Addr(), "s")
	c.send("AUTHENTICATE SCRAM-SHA-256")
	c.expectCmd(rplSaslMechs, "*", "PLAIN")
	c.send("AUTHENTICATE PLAIN")
	c.expectCmd("AUTHENTICATE", "+")
	c.send("AUTHENTICATE *")
	c.expectCmd(errSaslAborted)
}

func TestAccountRegistration(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "r")
	c.send("CAP REQ :draft/account-registration")
	c.expectCmd("CAP", "*", "ACK")
	c.send("NICK newacct")
	c.send("REGISTER * * :short")
	c.expectCmd("FAIL", "REGISTER", "UNACCEPTABLE_PASSWORD")
	c.send("REGISTER * * :long enough password")
	c.expectCmd("REGISTER", "SUCCESS", "newacct")
	c.expectCmd(rplLoggedIn, "newacct")
	c.send("CAP END")
	c.send("USER x 0 * :x")
	c.expectCmd(rplWelcome, "newacct")

	d := dial(t, n.Addr(), "r2")
	d.register("other")
	d.send("REGISTER NEWACCT * :another password")
	d.expectCmd("FAIL", "REGISTER", "ACCOUNT_EXISTS")
	d.send("REGISTER other * :another password")
	d.expectCmd("REGISTER", "SUCCESS", "other")
	d.expectCmd(rplLoggedIn, "other")
	// And SASL works with the new account.
	e := dial(t, n.Addr(), "r3")
	e.send("AUTHENTICATE PLAIN")
	e.expectCmd("AUTHENTICATE", "+")
	e.send("AUTHENTICATE %s", base64.StdEncoding.EncodeToString([]byte("\x00other\x00another password")))
	e.expectCmd(rplSaslSuccess)
}

package chatd

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/chatd/irc"
)

func TestCanonMask(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"troll", "troll!*@*", true},
		{"*@10.0.0.*", "*!*@10.0.0.*", true},
		{"troll!ident", "troll!ident@*", true},
		{"a!b@c", "a!b@c", true},
		{"a@b!c", "", false},
		{"", "", false},
		{":x", "", false},
		{"a b", "", false},
		{strings.Repeat("x", 300), "", false},
	}
	for _, tt := range tests {
		got, ok := canonMask(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("canonMask(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*!*@*", "a!b@c", true},
		{"nick!*@*", "nick!u@h", true},
		{"nick!*@*", "nicky!u@h", false},
		{"n?ck!*@*", "nack!u@h", true},
		{"n?ck!*@*", "nck!u@h", false},
		{"*!*@*.example", "a!b@host.example", true},
		{"*!*@*.example", "a!b@host.example.org", false},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"", "", true},
		{"*", "", true},
		{"?", "", false},
		{"a*", "a", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// globRegexp is the obvious (slow) definition globMatch must agree with.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for _, r := range []byte(pattern) {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("*!*@*.example", "a!b@host.example")
	f.Add("n?ck*", "nick!u@h")
	f.Add("*a*a*b", "aaaaaaaaa")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		// Byte-wise semantics: '?' is one byte, as CASEMAPPING=ascii folds bytes.
		pattern, s = strings.ToValidUTF8(pattern, ""), strings.ToValidUTF8(s, "")
		if strings.ContainsFunc(pattern+s, func(r rune) bool { return r >= 0x80 }) {
			return // regexp's '.' is a rune, globMatch's '?' a byte
		}
		if got, want := globMatch(pattern, s), globRegexp(pattern).MatchString(s); got != want {
			t.Errorf("globMatch(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

// TestChannelBans: +b/-b/list with RPL_BANLIST, ERR_BANNEDFROMCHAN on JOIN,
// ERR_CANNOTSENDTOCHAN for a banned member unless voiced, INVITE overriding a
// ban, ERR_BANLISTFULL at MAXLIST, and bans surviving a restart of the node.
func TestChannelBans(t *testing.T) {
	dsn := "sqlite:" + t.TempDir() + "/bans.db"
	cfg := testConfig("")
	cfg.DSN = dsn
	n := startNode(t, cfg, nil)
	op := dial(t, n.Addr(), "op")
	op.register("Op")
	bad := dial(t, n.Addr(), "bad")
	bad.register("Troll")
	op.join("#b")
	bad.join("#b")
	op.expectCmd("JOIN", "#b")

	// Non-operators can list bans but not set them.
	bad.send("MODE #b +b x")
	bad.expectCmd(errChanOpPrivsNeed, "Troll", "#b")
	bad.send("MODE #b b")
	bad.expectCmd(rplEndOfBanList, "Troll", "#b")

	// A bare nick is completed to nick!*@*; the change goes to the channel.
	op.send("MODE #b +b TROLL")
	op.expectCmd("MODE", "#b", "+b", "TROLL!*@*")
	bad.expectCmd("MODE", "#b", "+b", "TROLL!*@*")
	// Setting it again (in another case) changes nothing.
	op.send("MODE #b +b troll!*@*")
	op.send("MODE #b +b")
	m, before := op.expect("end of ban list", func(m irc.Message) bool { return m.Command == rplEndOfBanList })
	var list [][]string
	for _, x := range before {
		if x.Command == "MODE" {
			t.Errorf("duplicate ban produced %v", x)
		}
		if x.Command == rplBanList {
			list = append(list, x.Params[1:4])
		}
	}
	if d := cmp.Diff([][]string{{"#b", "TROLL!*@*", "Op!~Op@127.0.0.1"}}, list); d != "" {
		t.Errorf("ban list (-want +got):\n%s\n(end: %v)", d, m)
	}

	// A banned member cannot speak, nor change nick to escape the ban,
	// unless voiced.
	bad.send("PRIVMSG #b :spam")
	bad.expectCmd(errCannotSend, "Troll", "#b")
	bad.send("NICK Angel")
	bad.expectCmd(errBanNickChange, "Troll", "Angel", "#b")
	op.send("MODE #b +v Troll")
	bad.expectCmd("MODE", "#b", "+v", "Troll")
	bad.send("PRIVMSG #b :voiced")
	op.expectCmd("PRIVMSG", "#b", "voiced")
	bad.send("NICK Angel")
	bad.expectCmd("NICK", "Angel")
	bad.send("NICK Troll")
	bad.expectCmd("NICK", "Troll")

	// A banned user cannot rejoin, unless invited.
	bad.send("PART #b")
	bad.expectCmd("PART", "#b")
	bad.send("JOIN #b")
	bad.expectCmd(errBannedFromChan, "Troll", "#b")
	op.send("INVITE Troll #b")
	bad.expectCmd("INVITE", "Troll", "#b")
	bad.join("#b")
	bad.send("PART #b")
	bad.expectCmd("PART", "#b")

	// Invalid masks and removals.
	op.send("MODE #b +b a@b!c")
	op.expectCmd("696", "Op", "#b", "b", "a@b!c")
	op.send("MODE #b -b nobody")
	op.send("MODE #b -b troll")
	op.expectCmd("MODE", "#b", "-b", "TROLL!*@*")
	bad.join("#b")

	// The list is bounded; at the limit, +b gets ERR_BANLISTFULL.
	for i := 0; i < maxBans; i += 4 {
		op.send("MODE #b +bbbb m%d m%d m%d m%d", i, i+1, i+2, i+3)
		op.expectCmd("MODE", "#b", "+bbbb")
	}
	op.send("MODE #b +b onemore")
	op.expectCmd(errBanListFull, "Op", "#b", "b")

	// Bans are kept in the store while the channel exists: a node started
	// later on the same database knows them.
	cfg.Node = ""
	n2 := startNode(t, cfg, nil)
	c := dial(t, n2.Addr(), "c")
	c.register("m7")
	c.send("JOIN #b")
	c.expectCmd(errBannedFromChan, "m7", "#b")
	c.send("MODE #b b")
	_, before = c.expect("end of ban list", func(m irc.Message) bool { return m.Command == rplEndOfBanList })
	if got := countCmd(before, rplBanList); got != maxBans {
		t.Errorf("after restart: %d bans listed, want %d", got, maxBans)
	}
}

func countCmd(ms []irc.Message, cmd string) int {
	n := 0
	for _, m := range ms {
		if m.Command == cmd {
			n++
		}
	}
	return n
}

// TestBansAcrossNodes: a ban set on one node is enforced by the other (the
// MODE event in the shared log updates its list), a removal too, and a node
// started later loads the bans from the database.
func TestBansAcrossNodes(t *testing.T) {
	db := startMaria(t)
	name := db.NewDatabase(t)
	a := startNode(t, mariaConfig(t, db, name, "node-a"), nil)
	b := startNode(t, mariaConfig(t, db, name, "node-b"), nil)

	op := dial(t, a.Addr(), "op")
	op.register("op")
	bad := dial(t, b.Addr(), "bad")
	bad.register("badguy")
	op.join("#x")
	bad.join("#x")
	op.expectCmd("JOIN", "#x")

	op.send("MODE #x +b bad*!*@*")
	op.expectCmd("MODE", "#x", "+b", "bad*!*@*")
	bad.expectCmd("MODE", "#x", "+b", "bad*!*@*")
	// node-b applied the ban: it refuses badguy's message itself.
	bad.send("PRIVMSG #x :let me talk")
	bad.expectCmd(errCannotSend, "badguy", "#x")
	bad.send("PART #x")
	bad.expectCmd("PART", "#x")
	bad.send("JOIN #x")
	bad.expectCmd(errBannedFromChan, "badguy", "#x")

	// A list change on node-b is seen by node-a.
	bad2 := dial(t, b.Addr(), "bad2")
	bad2.register("helper")
	bad2.join("#x")
	op.expectCmd("JOIN", "#x")
	op.send("MODE #x +o helper")
	bad2.expectCmd("MODE", "#x", "+o", "helper")
	bad2.send("MODE #x +b *!*@evil.example")
	op.expectCmd("MODE", "#x", "+b", "*!*@evil.example")
	op.send("MODE #x b")
	_, before := op.expect("end of ban list", func(m irc.Message) bool { return m.Command == rplEndOfBanList })
	var masks []string
	for _, m := range before {
		if m.Command == rplBanList {
			masks = append(masks, m.Param(2))
		}
	}
	if d := cmp.Diff([]string{"bad*!*@*", "*!*@evil.example"}, masks); d != "" {
		t.Errorf("bans on node-a (-want +got):\n%s", d)
	}
	onA := banList(before)

	// A third node started now loads both bans from the database.
	c := startNode(t, mariaConfig(t, db, name, "node-c"), nil)
	cc := dial(t, c.Addr(), "cc")
	cc.register("badder")
	cc.send("JOIN #x")
	cc.expectCmd(errBannedFromChan, "badder", "#x")
	// ... with the same setters and times as the nodes that applied the events.
	cc.send("MODE #x b")
	_, before = cc.expect("end of ban list", func(m irc.Message) bool { return m.Command == rplEndOfBanList })
	if d := cmp.Diff(onA, banList(before)); d != "" {
		t.Errorf("ban list on node-c (from the store) vs node-a (from the log) (-a +c):\n%s", d)
	}

	// Removal on node-a lets badguy back in on node-b.
	op.send("MODE #x -b BAD*!*@*")
	bad2.expectCmd("MODE", "#x", "-b", "bad*!*@*")
	bad.join("#x")
}

func TestISupportAdvertisesBans(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "c")
	c.send("NICK isup")
	c.send("USER x 0 * :x")
	_, before := c.expect("end of MOTD", func(m irc.Message) bool { return m.Command == rplEndOfMotd })
	tokens := map[string]bool{}
	for _, m := range before {
		if m.Command == rplISupport {
			for _, p := range m.Params[1:] {
				tokens[p] = true
			}
		}
	}
	for _, want := range []string{"CHANMODES=beI,k,l,imnst", "MAXLIST=b:100,e:100,I:100", "EXCEPTS=e", "INVEX=I"} {
		if !tokens[want] {
			t.Errorf("ISUPPORT lacks %s; has %v", want, tokens)
		}
	}
}

// banList returns channel, mask, setter and time of each RPL_BANLIST in ms.
func banList(ms []irc.Message) [][]string {
	var out [][]string
	for _, m := range ms {
		if m.Command == rplBanList {
			out = append(out, m.Params[1:])
		}
	}
	return out
}

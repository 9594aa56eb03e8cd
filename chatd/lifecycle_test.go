package chatd

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hachat/hachat/chatd/irc"
)

// Channel lifecycle, RFC 2812 §1.3 (and modern.ircdocs.horse "Channels"): a
// channel is created implicitly when the first client joins it, and ceases
// to exist when the last client leaves it.

// lockChannel makes #name invite-only with a key and a topic, so a channel
// that did not cease to exist would refuse the next JOIN and keep its topic.
func lockChannel(c *tclient, name string) {
	c.t.Helper()
	c.join(name)
	c.send("TOPIC %s :old topic", name)
	c.expectCmd("TOPIC", name)
	c.send("MODE %s +ikb secret ban!*@*", name)
	c.expectCmd("MODE", name, "+ikb")
}

// expectFreshJoin joins name and checks it is a new channel: the joiner is
// its operator, there is no topic, and its modes are the defaults.
func expectFreshJoin(c *tclient, name string) {
	c.t.Helper()
	c.send("JOIN %s", name)
	_, before := c.expect("end of NAMES", func(m irc.Message) bool { return m.Command == rplEndOfNames })
	names := ""
	for _, m := range before {
		switch m.Command {
		case errInviteOnlyChan, errBadChannelKey:
			c.t.Fatalf("%s: JOIN %s refused by the old channel's modes: %v", c.name, name, m)
		case rplTopic:
			c.t.Errorf("%s: JOIN %s shows the old channel's topic: %v", c.name, name, m)
		case rplNamReply:
			names = m.Param(3)
		}
	}
	if names != "@"+c.name {
		c.t.Errorf("%s: NAMES of a new %s = %q, want the joiner as operator", c.name, name, names)
	}
	c.send("MODE %s", name)
	if m := c.expectCmd(rplChannelModeIs, c.name, name); m.Param(2) != "+"+defaultChannelModes {
		c.t.Errorf("%s: modes of a new %s = %q, want +%s", c.name, name, m.Param(2), defaultChannelModes)
	}
	c.send("MODE %s b", name)
	_, before = c.expect("end of ban list", func(m irc.Message) bool { return m.Command == rplEndOfBanList })
	if n := countCmd(before, rplBanList); n != 0 {
		c.t.Errorf("%s: new %s has %d bans of the old channel", c.name, name, n)
	}
}

func TestRFC2812Sec1_3ChannelCeasesWhenLastMemberParts(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("alice")
	lockChannel(a, "#gone")
	a.send("PART #gone")
	a.expectCmd("PART", "#gone")
	b := dial(t, n.Addr(), "b")
	b.register("bob")
	expectFreshJoin(b, "#gone")
}

func TestRFC2812Sec1_3ChannelCeasesWhenLastMemberQuits(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("alice")
	lockChannel(a, "#gone")
	a.send("QUIT :bye")
	a.expectClosed()
	b := dial(t, n.Addr(), "b")
	b.register("bob")
	waitFor(t, "alice's QUIT to be applied", func() bool {
		n.mu.RLock()
		defer n.mu.RUnlock()
		return n.users["alice"] == nil
	})
	expectFreshJoin(b, "#gone")
}

func TestRFC2812Sec1_3ChannelCeasesWhenLastMemberIsKicked(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("alice")
	lockChannel(a, "#gone")
	a.send("KICK #gone alice")
	a.expectCmd("KICK", "#gone", "alice")
	expectFreshJoin(a, "#gone")
}

// TestRFC2812Sec3_3_1MessageToVanishedChannel: once a channel ceased to
// exist, a message to it is to no such channel (403), not to an empty one.
func TestRFC2812Sec3_3_1MessageToVanishedChannel(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("alice")
	a.join("#gone")
	a.send("PART #gone")
	a.expectCmd("PART", "#gone")
	a.send("PRIVMSG #gone :anyone?")
	a.expectCmd(errNoSuchChannel, "alice", "#gone")
}

// TestRFC2812Sec3_2_6ListShowsExistingChannel: LIST shows every channel
// that exists (has members), +i or not, and none that ceased to exist.
func TestRFC2812Sec3_2_6ListShowsExistingChannel(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("alice")
	lockChannel(a, "#here")
	a.join("#left")
	a.send("PART #left")
	a.expectCmd("PART", "#left")
	b := dial(t, n.Addr(), "b")
	b.register("bob")
	b.send("LIST")
	_, before := b.expect("end of LIST", func(m irc.Message) bool { return m.Command == rplListEnd })
	var listed []string
	for _, m := range before {
		if m.Command == rplList {
			listed = append(listed, m.Param(1))
		}
	}
	if len(listed) != 1 || listed[0] != "#here" {
		t.Errorf("LIST = %v, want [#here]", listed)
	}
}

// TestRFC2812Sec1_3ChannelCeasesOnEveryNode: the last member leaving on one
// node makes the channel cease on every node, and on a node started later:
// a JOIN there creates it afresh.
func TestRFC2812Sec1_3ChannelCeasesOnEveryNode(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		channelCeasesOnEveryNode(t, "sqlite:"+filepath.Join(t.TempDir(), "chat.db"))
	})
	t.Run("mariadb", func(t *testing.T) {
		db := startMaria(t)
		if err := db.CreateDatabase(context.Background(), "lifecycle"); err != nil {
			t.Fatal(err)
		}
		channelCeasesOnEveryNode(t, db.DSN("lifecycle"))
	})
}

func channelCeasesOnEveryNode(t *testing.T, dsn string) {
	cfg := testConfig("")
	cfg.DSN = dsn
	cfgA, cfgB := cfg, cfg
	cfgA.Node, cfgB.Node = "life-a", "life-b"
	na := startNode(t, cfgA, nil)
	nb := startNode(t, cfgB, nil)
	a := dial(t, na.Addr(), "a")
	a.register("alice")
	lockChannel(a, "#gone")
	b := dial(t, nb.Addr(), "b")
	b.register("bob")
	waitFor(t, "node b to see #gone", func() bool {
		nb.mu.RLock()
		defer nb.mu.RUnlock()
		ch := nb.channels["#gone"]
		return ch != nil && ch.hasMode('i')
	})
	b.send("JOIN #gone")
	b.expectCmd(errBadChannelKey, "bob", "#gone")
	a.send("PART #gone")
	a.expectCmd("PART", "#gone")
	waitFor(t, "node b to forget #gone", func() bool {
		nb.mu.RLock()
		defer nb.mu.RUnlock()
		return nb.channels["#gone"] == nil
	})
	cfgC := cfg
	cfgC.Node = "life-c"
	nc := startNode(t, cfgC, nil)
	nc.mu.RLock()
	_, known := nc.channels["#gone"]
	nc.mu.RUnlock()
	if known {
		t.Error("a node started later loaded a channel that ceased to exist")
	}
	c := dial(t, nc.Addr(), "c")
	c.register("carol")
	expectFreshJoin(c, "#gone")
	b.send("JOIN #gone")
	b.expectCmd("JOIN", "#gone")
}

// TestRFC2812Sec3_3_1MessageToOneself: a PRIVMSG whose target is the sender
// is delivered to that target like any other, with or without echo-message
// (chatload storm --no-caps messages itself and waits for it).
func TestRFC2812Sec3_3_1MessageToOneself(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := dial(t, n.Addr(), "a")
	a.register("alice")
	a.send("PRIVMSG alice :hello me")
	m := a.expectCmd("PRIVMSG", "alice")
	if m.Param(1) != "hello me" {
		t.Errorf("got %v", m)
	}
}

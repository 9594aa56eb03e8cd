package chatd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatd/irc"
)

func TestRegistrationWelcome(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "alice")
	c.send("NICK alice")
	c.send("USER alice 0 * :Alice A")
	for _, code := range []string{rplWelcome, rplYourHost, rplCreated, rplMyInfo, rplISupport, rplLuserClient, rplMotdStart, rplMotd, rplEndOfMotd} {
		c.expectCmd(code, "alice")
	}
	c.send("PING :abc")
	if m := c.expectCmd("PONG"); m.Param(1) != "abc" {
		t.Errorf("PONG = %v, want token abc", m.Params)
	}
}

// TestCommands is the per-command protocol table: each case registers fresh
// clients, runs a script and checks the reply a client must see.
func TestCommands(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	type step struct {
		who  int    // which client sends / expects
		send string // line to send ("" = none)
		cmd  string // expected command
		args []string
	}
	tests := []struct {
		name  string
		nicks []string
		steps []step
	}{
		{name: "unknown command", nicks: []string{"u1"}, steps: []step{
			{send: "FROB x", cmd: errUnknownCommand, args: []string{"u1", "FROB"}}}},
		{name: "not enough params", nicks: []string{"u2"}, steps: []step{
			{send: "JOIN", cmd: errNeedMoreParams, args: []string{"u2", "JOIN"}}}},
		{name: "join creates channel with op", nicks: []string{"j1"}, steps: []step{
			{send: "JOIN #join1", cmd: "JOIN", args: []string{"#join1"}},
			{cmd: rplNamReply, args: []string{"j1", "=", "#join1", "@j1"}},
			{cmd: rplEndOfNames, args: []string{"j1", "#join1"}}}},
		{name: "privmsg to channel", nicks: []string{"p1", "p2"}, steps: []step{
			{send: "JOIN #pm", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #pm", cmd: rplEndOfNames},
			{who: 0, cmd: "JOIN", args: []string{"#pm"}},
			{who: 1, send: "PRIVMSG #pm :hello there", cmd: ""},
			{who: 0, cmd: "PRIVMSG", args: []string{"#pm", "hello there"}}}},
		{name: "privmsg to nick", nicks: []string{"d1", "d2"}, steps: []step{
			{send: "PRIVMSG d2 :psst", cmd: ""},
			{who: 1, cmd: "PRIVMSG", args: []string{"d2", "psst"}}}},
		{name: "privmsg no such nick", nicks: []string{"e1"}, steps: []step{
			{send: "PRIVMSG nobody :x", cmd: errNoSuchNick, args: []string{"e1", "nobody"}}}},
		{name: "privmsg no text", nicks: []string{"e2"}, steps: []step{
			{send: "PRIVMSG e2", cmd: errNoTextToSend}}},
		{name: "external messages blocked by +n", nicks: []string{"x1", "x2"}, steps: []step{
			{send: "JOIN #ext", cmd: rplEndOfNames},
			{who: 1, send: "PRIVMSG #ext :hi", cmd: errCannotSend, args: []string{"x2", "#ext"}}}},
		{name: "notice to channel", nicks: []string{"nn1", "nn2"}, steps: []step{
			{send: "JOIN #nt", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #nt", cmd: rplEndOfNames},
			{who: 1, send: "NOTICE #nt :note", cmd: ""},
			{who: 0, cmd: "NOTICE", args: []string{"#nt", "note"}}}},
		{name: "part", nicks: []string{"pa1", "pa2"}, steps: []step{
			{send: "JOIN #pa", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #pa", cmd: rplEndOfNames},
			{who: 1, send: "PART #pa :bye", cmd: "PART", args: []string{"#pa", "bye"}},
			{who: 0, cmd: "PART", args: []string{"#pa", "bye"}},
			{who: 1, send: "PART #pa", cmd: errNotOnChannel}}},
		{name: "topic set and query", nicks: []string{"t1", "t2"}, steps: []step{
			{send: "JOIN #top", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #top", cmd: rplEndOfNames},
			{who: 1, send: "TOPIC #top :not op", cmd: errChanOpPrivsNeed},
			{who: 0, send: "TOPIC #top :new topic", cmd: "TOPIC", args: []string{"#top", "new topic"}},
			{who: 1, cmd: "TOPIC", args: []string{"#top", "new topic"}},
			{who: 1, send: "TOPIC #top", cmd: rplTopic, args: []string{"t2", "#top", "new topic"}},
			{who: 1, cmd: rplTopicWhoTime}}},
		{name: "mode query and op", nicks: []string{"m1", "m2"}, steps: []step{
			{send: "JOIN #mo", cmd: rplEndOfNames},
			{send: "MODE #mo", cmd: rplChannelModeIs, args: []string{"m1", "#mo", "+nt"}},
			{who: 1, send: "JOIN #mo", cmd: rplEndOfNames},
			{who: 1, send: "MODE #mo +m", cmd: errChanOpPrivsNeed},
			{send: "MODE #mo +mv m2", cmd: "MODE", args: []string{"#mo", "+mv", "m2"}},
			{who: 1, cmd: "MODE", args: []string{"#mo", "+mv", "m2"}},
			{send: "MODE #mo", cmd: rplChannelModeIs, args: []string{"m1", "#mo", "+mnt"}},
			{send: "MODE #mo +k sekrit", cmd: "MODE", args: []string{"#mo", "+k", "sekrit"}},
			{send: "MODE #mo +z", cmd: errUnknownMode},
			{send: "MODE #mo b", cmd: rplEndOfBanList}}},
		{name: "key and limit", nicks: []string{"k1", "k2"}, steps: []step{
			{send: "JOIN #kk", cmd: rplEndOfNames},
			{send: "MODE #kk +k pw", cmd: "MODE"},
			{who: 1, send: "JOIN #kk", cmd: errBadChannelKey},
			{who: 1, send: "JOIN #kk pw", cmd: rplEndOfNames}}},
		{name: "moderated", nicks: []string{"md1", "md2"}, steps: []step{
			{send: "JOIN #md", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #md", cmd: rplEndOfNames},
			{send: "MODE #md +m", cmd: "MODE"},
			{who: 1, send: "PRIVMSG #md :x", cmd: errCannotSend}}},
		{name: "kick", nicks: []string{"kc1", "kc2"}, steps: []step{
			{send: "JOIN #kc", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #kc", cmd: rplEndOfNames},
			{who: 1, send: "KICK #kc kc1", cmd: errChanOpPrivsNeed},
			{send: "KICK #kc kc2 :out", cmd: "KICK", args: []string{"#kc", "kc2", "out"}},
			{who: 1, cmd: "KICK", args: []string{"#kc", "kc2", "out"}}}},
		{name: "invite only", nicks: []string{"iv1", "iv2"}, steps: []step{
			{send: "JOIN #iv", cmd: rplEndOfNames},
			{send: "MODE #iv +i", cmd: "MODE", args: []string{"#iv", "+i"}},
			{who: 1, send: "JOIN #iv", cmd: errInviteOnlyChan, args: []string{"iv2", "#iv"}},
			{who: 1, send: "INVITE iv1 #iv", cmd: errNotOnChannel},
			{send: "INVITE iv2 #iv", cmd: rplInviting, args: []string{"iv1", "iv2", "#iv"}},
			{who: 1, cmd: "INVITE", args: []string{"iv2", "#iv"}},
			{who: 1, send: "JOIN #iv", cmd: rplEndOfNames},
			{send: "INVITE iv2 #iv", cmd: errUserOnChannel}}},
		{name: "names", nicks: []string{"na1", "na2"}, steps: []step{
			{send: "JOIN #na", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #na", cmd: rplEndOfNames},
			{who: 1, send: "NAMES #na", cmd: rplNamReply, args: []string{"na2", "=", "#na", "@na1 na2"}}}},
		{name: "who", nicks: []string{"w1"}, steps: []step{
			{send: "JOIN #who", cmd: rplEndOfNames},
			{send: "WHO #who", cmd: rplWhoReply, args: []string{"w1", "#who", "~w1"}},
			{cmd: rplEndOfWho, args: []string{"w1", "#who"}}}},
		{name: "whois", nicks: []string{"wi1", "wi2"}, steps: []step{
			{who: 1, send: "JOIN #wi", cmd: rplEndOfNames},
			{send: "WHOIS wi2", cmd: rplWhoisUser, args: []string{"wi1", "wi2", "~wi2"}},
			{cmd: rplWhoisChannels, args: []string{"wi1", "wi2", "@#wi"}},
			{cmd: rplEndOfWhois},
			{send: "WHOIS ghost", cmd: errNoSuchNick}}},
		{name: "lusers", nicks: []string{"l1"}, steps: []step{
			{send: "LUSERS", cmd: rplLuserClient}, {cmd: rplLuserMe}}},
		{name: "nick change seen by channel", nicks: []string{"nc1", "nc2"}, steps: []step{
			{send: "JOIN #nc", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #nc", cmd: rplEndOfNames},
			{who: 1, send: "NICK nc3", cmd: "NICK", args: []string{"nc3"}},
			{who: 0, cmd: "NICK", args: []string{"nc3"}},
			{send: "NICK nc3", cmd: errNicknameInUse, args: []string{"nc1", "nc3"}},
			{send: "NICK 9bad", cmd: errErroneusNick}}},
		{name: "quit broadcast", nicks: []string{"q1", "q2"}, steps: []step{
			{send: "JOIN #q", cmd: rplEndOfNames},
			{who: 1, send: "JOIN #q", cmd: rplEndOfNames},
			{who: 1, send: "QUIT :gone", cmd: "ERROR"},
			{who: 0, cmd: "QUIT", args: []string{"Quit: gone"}}}},
		{name: "away", nicks: []string{"aw1", "aw2"}, steps: []step{
			{who: 1, send: "AWAY :lunch", cmd: rplNowAway},
			{send: "PRIVMSG aw2 :hi", cmd: rplAway, args: []string{"aw1", "aw2", "lunch"}}}},
		{name: "ison userhost", nicks: []string{"is1"}, steps: []step{
			{send: "ISON is1 nobody", cmd: rplIson, args: []string{"is1", "is1"}},
			{send: "USERHOST is1", cmd: rplUserhost}}},
		{name: "list", nicks: []string{"li1"}, steps: []step{
			{send: "JOIN #li", cmd: rplEndOfNames},
			{send: "LIST", cmd: rplList, args: []string{"li1", "#li", "1"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := make([]*tclient, len(tt.nicks))
			for i, nick := range tt.nicks {
				cs[i] = dial(t, n.Addr(), nick)
				cs[i].register(nick)
			}
			for i, st := range tt.steps {
				c := cs[st.who]
				if st.send != "" {
					c.send("%s", st.send)
				}
				if st.cmd == "" {
					continue
				}
				want := append([]string{}, st.args...)
				m, _ := c.expect(st.cmd, func(m irc.Message) bool { return m.Command == st.cmd })
				got := m.Params
				if len(got) > len(want) {
					got = got[:len(want)]
				}
				got = append([]string{}, got...)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("step %d (%s): %s params (-want +got):\n%s\nlast lines:\n%s", i, st.send, st.cmd, diff, c.tail())
				}
			}
		})
	}
}

func TestBeforeRegistration(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "pre")
	c.send("JOIN #x")
	c.expectCmd(errNotRegistered, "*")
	c.send("NICK taken1")
	c.send("USER a 0 * :a")
	c.expectCmd(rplWelcome, "taken1")
	d := dial(t, n.Addr(), "dup")
	d.send("NICK taken1")
	d.expectCmd(errNicknameInUse, "*", "taken1")
	d.send("NICK TAKEN1")
	d.expectCmd(errNicknameInUse, "*", "TAKEN1")
}

func TestBadInput(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "bad")
	c.register("bad")
	c.send("PRIVMSG bad :%s", strings.Repeat("x", 600))
	c.expectCmd(errInputTooLong, "bad")
	c.sendRaw([]byte("PRIVMSG bad :\xff\xfe\r\n"))
	c.expectCmd("FAIL", "PRIVMSG", "INVALID_UTF8")
	c.sendRaw([]byte(strings.Repeat("y", 20000) + "\r\n"))
	c.expectCmd(errInputTooLong, "bad")
	c.sendRaw([]byte("@bad_tag PING x\r\n"))
	c.expectCmd("FAIL", "*", "INVALID_MESSAGE")
	c.send("PING still-alive")
	c.expectCmd("PONG", n.cfg.ServerName, "still-alive")
	for _, reason := range []string{dropTooLong, dropInvalidUTF8, dropMalformed} {
		if v := counterValue(t, n.m.dropped.WithLabelValues(reason)); v < 1 {
			t.Errorf("dropped{%s} = %v, want >= 1", reason, v)
		}
	}
}

package chatd

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// TestApplyRemoteEvents steps the world through events from another node,
// as the tailer would, and checks this node's view and what its local user
// receives. Apply is the only place state changes, so this is the
// cross-node protocol in miniature.
func TestApplyRemoteEvents(t *testing.T) {
	s, err := NewWithStore(testConfig("local"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.closeAll)
	srvEnd, cliEnd := net.Pipe()
	t.Cleanup(func() { cliEnd.Close() })
	c := s.newClient(srvEnd)
	c.caps.Store(uint32(capServerTime | capMessageTags))
	me := &user{sid: "L1", node: "local", nick: "me", ident: "~me", host: "h", client: c, channels: map[string]*channel{}}
	s.users["me"], s.sessions["L1"] = me, me
	lines := make(chan irc.Message, 100)
	go func() {
		r := bufio.NewReader(cliEnd)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			m, _ := irc.Parse(l)
			lines <- m
		}
	}()
	got := func() irc.Message {
		t.Helper()
		select {
		case m := <-lines:
			return m
		case <-time.After(testTimeout):
			t.Fatal("no line delivered")
		}
		return irc.Message{}
	}
	seq := int64(0)
	ev := func(e store.Event) *store.Event {
		seq++
		e.Seq, e.Node, e.MsgID, e.Time = seq, "remote", "id"+itoa(int(seq)), time.Unix(1700000000, 0).UTC()
		return &e
	}
	// The local user's join (its node field does not matter without a
	// pending op: the user is local because it has a client).
	s.apply(ev(store.Event{Kind: store.KindJoin, Target: "#c", Sender: "me!~me@h", Params: []string{"L1", "o"}}))
	if m := got(); m.Command != "JOIN" {
		t.Fatalf("local JOIN: got %v", m)
	}
	s.apply(ev(store.Event{Kind: store.KindNick, Target: "", Sender: "bob!~b@r", Text: "bob", Params: []string{evRegister, "R1", "Bob B", "acct"}}))
	s.apply(ev(store.Event{Kind: store.KindJoin, Target: "#c", Sender: "bob!~b@r", Params: []string{"R1", ""}}))
	if m := got(); m.Command != "JOIN" || m.Source != "bob!~b@r" {
		t.Fatalf("remote JOIN: got %v", m)
	}
	s.apply(ev(store.Event{Kind: store.KindJoin, Target: "#c", Sender: "bob!~b@r", Params: []string{"R1", ""}})) // replayed: no-op
	s.apply(ev(store.Event{Kind: store.KindPrivmsg, Target: "#c", Sender: "bob!~b@r", Text: "hi", Tags: map[string]string{"+x": "y"}}))
	m := got()
	if diff := cmp.Diff([]string{"#c", "hi"}, m.Params); diff != "" || m.Command != "PRIVMSG" {
		t.Fatalf("remote PRIVMSG (replayed JOIN must not be delivered twice): %v", m)
	}
	if id, _ := m.Tag("msgid"); id != "id5" {
		t.Errorf("msgid = %q", id)
	}
	s.apply(ev(store.Event{Kind: store.KindMode, Target: "#c", Sender: "me!~me@h", Text: "+vk-t", Params: []string{"bob", "key"}}))
	got()
	s.apply(ev(store.Event{Kind: store.KindTopic, Target: "#c", Sender: "bob!~b@r", Text: "news"}))
	got()
	s.apply(ev(store.Event{Kind: store.KindNick, Sender: "bob!~b@r", Text: "robert", Params: []string{"R1"}}))
	if m := got(); m.Command != "NICK" || m.Param(0) != "robert" {
		t.Fatalf("remote NICK: got %v", m)
	}
	ch := s.channels["#c"]
	rob := s.users["robert"]
	if rob == nil || s.users["bob"] != nil {
		t.Fatalf("nick index after NICK: %v", s.users)
	}
	if ch.topic != "news" || ch.chanKey != "key" || ch.modes != "n" || ch.members[rob] != "v" || ch.members[me] != "o" {
		t.Errorf("channel state: topic %q key %q modes %q rob %q me %q", ch.topic, ch.chanKey, ch.modes, ch.members[rob], ch.members[me])
	}
	// A stale QUIT (wrong session id) must not remove the current owner.
	s.apply(ev(store.Event{Kind: store.KindQuit, Sender: "robert!~b@r", Text: "x", Params: []string{"OLD"}}))
	if s.users["robert"] == nil {
		t.Fatal("stale QUIT removed the user")
	}
	s.apply(ev(store.Event{Kind: store.KindQuit, Sender: "robert!~b@r", Text: "Server died", Params: []string{"R1"}}))
	if m := got(); m.Command != "QUIT" || m.Param(0) != "Server died" {
		t.Fatalf("remote QUIT: got %v", m)
	}
	if s.users["robert"] != nil || s.sessions["R1"] != nil || len(ch.members) != 1 {
		t.Errorf("after QUIT: users %v members %d", s.users, len(ch.members))
	}
	s.apply(ev(store.Event{Kind: store.KindKick, Target: "#c", Sender: "x!y@z", Text: "bye", Params: []string{"me"}}))
	if m := got(); m.Command != "KICK" || m.Param(1) != "me" {
		t.Fatalf("KICK of local user: got %v", m)
	}
	if len(me.channels) != 0 || ch.localCount != 0 || s.nonEmpty != 0 {
		t.Errorf("after KICK: me in %d channels, localCount %d, non-empty channels %d", len(me.channels), ch.localCount, s.nonEmpty)
	}
}

package chatd

// IRCv3 draft/multiline (https://ircv3.net/specs/extensions/multiline): one
// rule per test.

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

var multilineCaps = []string{"message-tags", "batch", "echo-message", "server-time", "labeled-response", "draft/multiline"}

// sendMultiline sends the three-line message of the spec's example (a
// blank first line when blank is set) with a label and a client-only tag.
func sendMultiline(c *tclient, target string, blank bool) {
	first := "hello"
	if blank {
		first = ""
	}
	c.send("@label=xyz;+client-only-tag BATCH +123 draft/multiline %s", target)
	c.send("@batch=123 PRIVMSG %s :%s", target, first)
	c.send("@batch=123 PRIVMSG %s :#how is ", target)
	c.send("@batch=123;draft/multiline-concat PRIVMSG %s :everyone?", target)
	c.send("BATCH -123")
}

// readBatch reads a whole batch of type typ and returns its start, the
// messages inside and its end.
func readBatch(c *tclient, typ string) (irc.Message, []irc.Message) {
	c.t.Helper()
	start, _ := c.expect("BATCH +", func(m irc.Message) bool {
		return m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "+") && m.Param(1) == typ
	})
	id := start.Param(0)[1:]
	_, in := c.expect("BATCH -", func(m irc.Message) bool { return m.Command == "BATCH" && m.Param(0) == "-"+id })
	open := map[string]bool{id: true} // and the batches nested in it
	for _, m := range in {
		if b, _ := m.Tag("batch"); !open[b] {
			c.t.Errorf("%v inside batch %s lacks its batch tag", m, id)
		}
		if m.Command == "BATCH" && strings.HasPrefix(m.Param(0), "+") {
			open[m.Param(0)[1:]] = true
		}
	}
	return start, in
}

func params(ms []irc.Message) [][]string {
	var out [][]string
	for _, m := range ms {
		out = append(out, append([]string{m.Command}, m.Params...))
	}
	return out
}

func TestMultiline_ircv3_multiline_cap_value(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	c := dial(t, n.Addr(), "c")
	c.send("CAP LS 302")
	ls := c.expectCmd("CAP", "*", "LS")
	if !strings.Contains(" "+ls.Param(2)+" ", " draft/multiline=max-bytes=4096,max-lines=32 ") {
		t.Errorf("CAP LS = %q, want draft/multiline=max-bytes=4096,max-lines=32", ls.Param(2))
	}
}

func TestMultiline_ircv3_multiline_echo_is_one_labeled_batch(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	sendMultiline(a, "#test", false)
	start, in := readBatch(a, "draft/multiline")
	if l, _ := start.Tag("label"); l != "xyz" {
		t.Errorf("batch start label = %q, want xyz", l)
	}
	for _, k := range []string{"msgid", "time", "+client-only-tag"} {
		if _, ok := start.Tag(k); !ok {
			t.Errorf("batch start lacks tag %s: %v", k, start)
		}
	}
	if start.Param(2) != "#test" {
		t.Errorf("batch target = %q", start.Param(2))
	}
	want := [][]string{{"PRIVMSG", "#test", "hello"}, {"PRIVMSG", "#test", "#how is "}, {"PRIVMSG", "#test", "everyone?"}}
	if diff := cmp.Diff(want, params(in)); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}
	for i, m := range in {
		if _, ok := m.Tag("msgid"); ok {
			t.Errorf("line %d carries a msgid", i)
		}
		if _, concat := m.Tag("draft/multiline-concat"); concat != (i == 2) {
			t.Errorf("line %d concat tag = %v", i, concat)
		}
	}
}

func TestMultiline_ircv3_multiline_relayed_as_batch_across_nodes(t *testing.T) {
	n1, n2 := twoNodes(t)
	a := client(t, n1, "alice", multilineCaps...)
	b := client(t, n2, "bob", multilineCaps...)
	a.join("#test")
	b.join("#test")
	a.expectCmd("JOIN", "#test") // bob's join: both nodes applied it
	sendMultiline(a, "#test", true)
	echo, _ := readBatch(a, "draft/multiline")
	start, in := readBatch(b, "draft/multiline")
	want := [][]string{{"PRIVMSG", "#test", ""}, {"PRIVMSG", "#test", "#how is "}, {"PRIVMSG", "#test", "everyone?"}}
	if diff := cmp.Diff(want, params(in)); diff != "" {
		t.Fatalf("relayed lines (-want +got):\n%s", diff)
	}
	id1, _ := echo.Tag("msgid")
	id2, _ := start.Tag("msgid")
	if id1 == "" || id1 != id2 {
		t.Errorf("msgid echo %q, relay %q: want one msgid", id1, id2)
	}
	if _, ok := start.Tag("+client-only-tag"); !ok {
		t.Errorf("relayed batch lacks the client-only tag: %v", start)
	}
}

func TestMultiline_ircv3_multiline_fallback_without_cap(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	c := client(t, n, "charlie", "message-tags", "batch", "server-time")
	a.join("#test")
	c.join("#test")
	sendMultiline(a, "#test", true)
	echo, _ := readBatch(a, "draft/multiline")
	msgid, _ := echo.Tag("msgid")
	first := c.expectCmd("PRIVMSG", "#test", "#how is ")
	second := c.expectCmd("PRIVMSG", "#test", "everyone?")
	if id, _ := first.Tag("msgid"); id != msgid {
		t.Errorf("first fallback line msgid = %q, want %q", id, msgid)
	}
	if _, ok := second.Tag("msgid"); ok {
		t.Errorf("second fallback line carries a msgid: %v", second)
	}
	for _, m := range []irc.Message{first, second} {
		if _, ok := m.Tag("+client-only-tag"); !ok {
			t.Errorf("fallback line lacks the client-only tag: %v", m)
		}
		if _, ok := m.Tag("draft/multiline-concat"); ok {
			t.Errorf("fallback line carries the concat tag: %v", m)
		}
	}
}

func TestMultiline_ircv3_multiline_wrong_batch_tag_MULTILINE_INVALID(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("BATCH +123 draft/multiline #test")
	a.send("@batch=231 PRIVMSG #test :hi")
	a.expectCmd("FAIL", "BATCH", "MULTILINE_INVALID")
}

func TestMultiline_ircv3_multiline_blank_concat_MULTILINE_INVALID(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("BATCH +123 draft/multiline #test")
	a.send("@batch=123 PRIVMSG #test :hi")
	a.send("@batch=123;draft/multiline-concat PRIVMSG #test :")
	a.send("BATCH -123")
	a.expectCmd("FAIL", "BATCH", "MULTILINE_INVALID")
	for _, m := range a.sync() {
		if m.Command == "PRIVMSG" || m.Command == "BATCH" {
			t.Errorf("a refused batch was delivered: %v", m)
		}
	}
}

func TestMultiline_ircv3_multiline_max_lines(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("BATCH +123 draft/multiline #test")
	for range 33 {
		a.send("@batch=123 PRIVMSG #test hi")
	}
	a.expectCmd("FAIL", "BATCH", "MULTILINE_MAX_LINES", "32")
	if v := counterValue(t, n.m.dropped.WithLabelValues(dropMultiline)); v != 1 {
		t.Errorf("dropped{%s} = %v, want 1", dropMultiline, v)
	}
}

func TestMultiline_ircv3_multiline_max_bytes(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("BATCH +234 draft/multiline #test")
	for range 11 {
		a.send("@batch=234 PRIVMSG #test %s", strings.Repeat("x", 400))
	}
	a.expectCmd("FAIL", "BATCH", "MULTILINE_MAX_BYTES", "4096")
	a.send("BATCH -234")
	for _, m := range a.sync() {
		if m.Command != "FAIL" {
			t.Errorf("after the refused batch: %v", m)
		}
	}
}

// The multiline message is one event: CHATHISTORY replays it as the same
// batch, nested in the chathistory batch.
func TestMultiline_ircv3_multiline_in_chathistory(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", append(multilineCaps, "draft/chathistory")...)
	a.join("#test")
	sendMultiline(a, "#test", false)
	readBatch(a, "draft/multiline")
	a.send("CHATHISTORY LATEST #test * 10")
	hist, in := readBatch(a, "chathistory")
	histID := hist.Param(0)[1:]
	var inner []irc.Message
	for _, m := range in {
		if m.Command == "PRIVMSG" {
			inner = append(inner, m)
		}
		if m.Command == "BATCH" {
			if b, _ := m.Tag("batch"); b != histID {
				t.Errorf("nested BATCH line not tagged with the chathistory batch: %v", m)
			}
		}
	}
	want := [][]string{{"PRIVMSG", "#test", "hello"}, {"PRIVMSG", "#test", "#how is "}, {"PRIVMSG", "#test", "everyone?"}}
	if diff := cmp.Diff(want, params(inner)); diff != "" {
		t.Errorf("history lines (-want +got):\n%s", diff)
	}
}

// The lines survive the trip through event Params, and Text is the lines
// joined.
func TestMultiline_encode_round_trip(t *testing.T) {
	b := &multilineBatch{target: "#c"}
	for _, l := range []multilineLine{{"a", false}, {"", false}, {"b ", false}, {"c", true}} {
		if e := b.add("PRIVMSG", "#c", l.text, l.concat); e != nil {
			t.Fatal(e.text)
		}
	}
	ev := &store.Event{Kind: store.KindPrivmsg, Params: b.encode(), Text: b.joined()}
	got, ok := multilineLines(ev)
	if !ok {
		t.Fatal("not decoded as multiline")
	}
	if diff := cmp.Diff(b.lines, got, cmp.AllowUnexported(multilineLine{})); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if ev.Text != "a\n\nb c" {
		t.Errorf("joined = %q", ev.Text)
	}
}

// FuzzMultilineParams: any batch the rules accept survives encode and
// decode, and decode never panics on Params it did not write.
func FuzzMultilineParams(f *testing.F) {
	f.Add([]byte("hello\x00\x01#how is \x00\x02everyone?"))
	f.Add([]byte("\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &multilineBatch{target: "#c"}
		for _, part := range strings.Split(string(data), "\x00") {
			concat := strings.HasPrefix(part, "\x01")
			if b.add("PRIVMSG", "#c", strings.TrimPrefix(part, "\x01"), concat) != nil {
				break
			}
		}
		if len(b.lines) == 0 {
			return
		}
		got, ok := multilineLines(&store.Event{Kind: store.KindPrivmsg, Params: b.encode()})
		if !ok {
			t.Fatalf("encoded batch %q not decoded", b.encode())
		}
		if diff := cmp.Diff(b.lines, got, cmp.AllowUnexported(multilineLine{})); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		multilineLines(&store.Event{Kind: store.KindNotice, Params: strings.Split(string(data), "\x00")})
	})
}

func TestMultiline_ircv3_multiline_private_message(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	b := client(t, n, "bob", multilineCaps...)
	a.send("BATCH +p1 draft/multiline bob")
	a.send("@batch=p1 NOTICE bob :one")
	a.send("@batch=p1 NOTICE bob :two")
	a.send("BATCH -p1")
	start, in := readBatch(b, "draft/multiline")
	if start.Param(2) != "bob" {
		t.Errorf("batch target = %q, want bob", start.Param(2))
	}
	want := [][]string{{"NOTICE", "bob", "one"}, {"NOTICE", "bob", "two"}}
	if diff := cmp.Diff(want, params(in)); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

func TestMultiline_ircv3_multiline_mixed_commands_MULTILINE_INVALID(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("BATCH +m draft/multiline #test")
	a.send("@batch=m PRIVMSG #test :one")
	a.send("@batch=m NOTICE #test :two")
	a.expectCmd("FAIL", "BATCH", "MULTILINE_INVALID")
	a.send("BATCH -m")
	for _, m := range a.sync() {
		t.Errorf("after the refused batch: %v", m)
	}
}

// A batch to a channel the sender may not speak in is answered as its
// PRIVMSG would be.
func TestMultiline_ircv3_multiline_target_checked_like_PRIVMSG(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	b := client(t, n, "bob")
	b.join("#closed") // +n by default: alice is outside
	a.send("BATCH +x draft/multiline #closed")
	a.send("@batch=x PRIVMSG #closed :hi")
	a.send("BATCH -x")
	a.expectCmd(errCannotSend, "alice", "#closed")
}

// FuzzMultilineSession: whatever a multiline client sends, no handler
// panics and the connection still answers PING (or was closed on purpose).
func FuzzMultilineSession(f *testing.F) {
	for _, s := range []string{
		"JOIN #a\nBATCH +1 draft/multiline #a\n@batch=1 PRIVMSG #a :x\nBATCH -1",
		"BATCH +\nBATCH -\nBATCH\nBATCH +1\nBATCH +1 other #a\n@batch= PRIVMSG #a :x",
		"BATCH +1 draft/multiline #a\nBATCH +2 draft/multiline #a\n@batch=2 TAGMSG #a\nBATCH -2\nBATCH -1",
		"BATCH +1 draft/multiline me\n@batch=1;draft/multiline-concat PRIVMSG me :\n@batch=1 NOTICE me x\nBATCH -1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) { fuzzScript(t, script, multilineCaps...) })
}

// A batch at both limits at once is accepted and delivered whole.
func TestMultiline_ircv3_multiline_at_the_limits(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	b := client(t, n, "bob", multilineCaps...)
	a.join("#test")
	b.join("#test")
	line := strings.Repeat("x", 4096/32)
	a.send("BATCH +full draft/multiline #test")
	for range 32 {
		a.send("@batch=full PRIVMSG #test :%s", line)
	}
	a.send("BATCH -full")
	_, in := readBatch(b, "draft/multiline")
	if len(in) != 32 {
		t.Fatalf("%d lines relayed, want 32", len(in))
	}
	for _, m := range in {
		if m.Param(1) != line {
			t.Fatalf("line %q, want %d x's", m.Param(1), len(line))
		}
	}
}

// RFC 2812 §2.3: no message the server relays is longer than 512 bytes. A
// text that fits the sender's line but not the relayed one (the sender's
// prefix comes in front) arrives in several lines that join into it.
func TestPRIVMSG_rfc2812_2_3_relayed_lines_within_512_bytes(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "a_rather_long_nickname", "echo-message")
	plain := client(t, n, "plain")
	multi := client(t, n, "multi", multilineCaps...)
	a.join("#c")
	plain.join("#c")
	multi.join("#c")
	text := strings.Repeat("word ", 80) + strings.Repeat("é", 40) // 480 bytes
	a.send("PRIVMSG #c :%s", text)
	var got string
	for got != text {
		m := plain.expectCmd("PRIVMSG", "#c")
		if b, _ := m.Bytes(); len(b) > 512 {
			t.Fatalf("relayed line of %d bytes", len(b))
		}
		got += m.Param(1)
		if len(got) > len(text) {
			t.Fatalf("relayed %q, want %q", got, text)
		}
	}
	_, in := readBatch(multi, "draft/multiline")
	joined := ""
	for i, m := range in {
		if _, concat := m.Tag("draft/multiline-concat"); concat != (i > 0) {
			t.Errorf("line %d: concat tag %v", i, concat)
		}
		joined += m.Param(1)
	}
	if joined != text {
		t.Errorf("multiline batch joins into %q, want %q", joined, text)
	}
}

func TestSplitLong(t *testing.T) {
	if splitLong("short", 100) != nil || splitLong("\x01ACTION "+strings.Repeat("x", 200)+"\x01", 50) != nil {
		t.Error("split a text that fits, or a CTCP")
	}
	for _, text := range []string{strings.Repeat("x", 130), strings.Repeat("ab ", 60), strings.Repeat("日本", 30)} {
		lines := splitLong(text, 40)
		joined := ""
		for i, l := range lines {
			if len(l.text) > 40 || l.text == "" || l.concat != (i > 0) || !utf8.ValidString(l.text) {
				t.Errorf("line %d %q (concat %v) of %q", i, l.text, l.concat, text)
			}
			joined += l.text
		}
		if joined != text {
			t.Errorf("lines join into %q, want %q", joined, text)
		}
	}
}

// A line of a multiline batch too long to relay is split too, with the
// concat tag, so the batch still joins into the text as sent.
func TestMultiline_ircv3_multiline_long_line_split_for_relay(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "a_rather_long_nickname", multilineCaps...)
	b := client(t, n, "bob", multilineCaps...)
	a.join("#c")
	b.join("#c")
	long := strings.Repeat("y", 480)
	a.send("BATCH +l draft/multiline #c")
	a.send("@batch=l PRIVMSG #c :first")
	a.send("@batch=l PRIVMSG #c :%s", long)
	a.send("BATCH -l")
	_, in := readBatch(b, "draft/multiline")
	if len(in) < 3 || in[0].Param(1) != "first" {
		t.Fatalf("lines %v, want first then the long line in parts", params(in))
	}
	joined := ""
	for i, m := range in[1:] {
		bare := m
		bare.Tags = nil // tags have their own 4096 bytes
		if bts, _ := bare.Bytes(); len(bts) > 512 {
			t.Errorf("line of %d bytes without its tags", len(bts))
		}
		if _, concat := m.Tag("draft/multiline-concat"); concat != (i > 0) {
			t.Errorf("part %d: concat %v", i, concat)
		}
		joined += m.Param(1)
	}
	if joined != long {
		t.Errorf("parts join into %d bytes, want %d", len(joined), len(long))
	}
}

// FuzzSplitLong: the lines join into the text, none is empty or longer
// than room, and valid UTF-8 stays valid in every line.
func FuzzSplitLong(f *testing.F) {
	f.Add("hello world, a message long enough to split", 16)
	f.Add(strings.Repeat("日本語 ", 20), 17)
	f.Add(strings.Repeat("\x80", 40), 16) // no character start at all
	f.Fuzz(func(t *testing.T, text string, room int) {
		room = 16 + (room%512+512)%512
		lines := splitLong(text, room)
		if lines == nil {
			if len(text) > room && !strings.HasPrefix(text, "\x01") {
				t.Fatalf("%d bytes not split at room %d", len(text), room)
			}
			return
		}
		joined := ""
		for _, l := range lines {
			if l.text == "" || len(l.text) > room || (utf8.ValidString(text) && !utf8.ValidString(l.text)) {
				t.Fatalf("line %q at room %d", l.text, room)
			}
			joined += l.text
		}
		if joined != text {
			t.Fatalf("joined %q, want %q", joined, text)
		}
	})
}

func TestMultiline_ircv3_multiline_other_target_MULTILINE_INVALID_TARGET(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("BATCH +t draft/multiline #test")
	a.send("@batch=t PRIVMSG #other :hi")
	a.expectCmd("FAIL", "BATCH", "MULTILINE_INVALID_TARGET", "#test", "#other")
}

// A real client without draft/multiline (WeeChat 3.8) shows a multiline
// message as its lines.
func TestRealClient_weechat_multiline_fallback(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	peer := client(t, n, "peer", multilineCaps...)
	peer.join("#real")
	_, dir := startWeechat(t, n)
	peer.expect("wee's JOIN", func(m irc.Message) bool { return m.Command == "JOIN" && strings.HasPrefix(m.Source, "wee!") })
	peer.send("BATCH +w draft/multiline #real")
	peer.send("@batch=w PRIVMSG #real :first line of two")
	peer.send("@batch=w PRIVMSG #real :second line of two")
	peer.send("BATCH -w")
	readBatch(peer, "draft/multiline")
	waitFor(t, "WeeChat logged both lines", func() bool {
		return logged(dir, "first line of two") && logged(dir, "second line of two")
	})
}

// A CHATHISTORY page holding a multiline message is still one batch: the
// label goes on the chathistory batch, the multiline batch nested in it.
func TestLabeledResponse_ircv3_history_with_nested_multiline_batch(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", append(multilineCaps, "draft/chathistory")...)
	a.join("#test")
	sendMultiline(a, "#test", false)
	readBatch(a, "draft/multiline")
	a.send("@label=H1 CHATHISTORY LATEST #test * 10")
	start := a.expectCmd("BATCH")
	if start.Param(1) != "chathistory" {
		t.Fatalf("first reply %v, want the chathistory batch", start)
	}
	if l, _ := start.Tag("label"); l != "H1" {
		t.Errorf("chathistory batch label = %q, want H1", l)
	}
}

// The label of BATCH + is answered once: by the echo, or by the FAIL that
// refuses the batch.
func TestMultiline_ircv3_labeled_response_refusal_carries_label(t *testing.T) {
	n := startNode(t, testConfig(""), nil)
	a := client(t, n, "alice", multilineCaps...)
	a.join("#test")
	a.send("@label=L2 BATCH +x draft/multiline #test")
	a.send("@batch=x PRIVMSG #other :wrong target")
	m := a.expectCmd("FAIL", "BATCH", "MULTILINE_INVALID_TARGET")
	if l, _ := m.Tag("label"); l != "L2" {
		t.Errorf("FAIL label = %q, want L2", l)
	}
}

package chatd

import (
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/caps"
	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// IRCv3 draft/multiline (https://ircv3.net/specs/extensions/multiline): a
// client sends one message of several lines as
//
//	BATCH +ref draft/multiline <target>
//	@batch=ref PRIVMSG <target> :line one
//	@batch=ref;draft/multiline-concat PRIVMSG <target> :continued
//	BATCH -ref
//
// and it becomes ONE event in the log (one msgid, one commit): Text holds
// the lines joined (for anything that reads only Text), Params the lines
// themselves, each behind a byte saying whether it continues the one
// before. Clients with draft/multiline and batch get it back as such a
// batch; others get one PRIVMSG per non-blank line, the first with the
// msgid (the spec's fallback).

const (
	capMultiline       = caps.Multiline
	multilineType      = "draft/multiline"
	multilineConcatTag = "draft/multiline-concat"
	// multilineMarker is Params[0] of a multiline event; the lines follow.
	multilineMarker = "draft/multiline"

	dropMultiline = "multiline_invalid" // a batch refused with FAIL BATCH
)

// multilineBatch is a batch being received. Pure data: add and finish check
// the spec's rules and the advertised limits.
type multilineBatch struct {
	ref, target string
	command     string            // PRIVMSG or NOTICE, from the first line
	label       string            // labeled-response: for the echo at BATCH -
	tags        map[string]string // client-only tags of BATCH +, on every line
	lines       []multilineLine
	bytes       int
	failed      bool // answered FAIL: what is left of it is dropped silently
}

type multilineLine struct {
	text   string
	concat bool
}

// multilineError is a FAIL BATCH reply: its code, its arguments (the limit
// exceeded, the targets) and its description.
type multilineError struct {
	code string
	args []string
	text string
}

func invalidBatch(text string) *multilineError {
	return &multilineError{code: "MULTILINE_INVALID", text: text}
}

// add takes one line of the batch.
func (b *multilineBatch) add(command, target, text string, concat bool) *multilineError {
	switch {
	case command != "PRIVMSG" && command != "NOTICE":
		return invalidBatch(command + " cannot be part of a multiline batch")
	case b.command != "" && command != b.command:
		return invalidBatch("All lines of a multiline batch must use one command")
	case store.Fold(target) != store.Fold(b.target):
		return &multilineError{"MULTILINE_INVALID_TARGET", []string{b.target, target}, "All lines of a multiline batch must go to its target"}
	case concat && text == "":
		return invalidBatch("A blank line cannot be concatenated")
	case len(b.lines) == caps.MultilineMaxLines:
		return &multilineError{"MULTILINE_MAX_LINES", []string{itoa(caps.MultilineMaxLines)}, "Too many lines in the multiline batch"}
	case b.bytes+len(text) > caps.MultilineMaxBytes:
		return &multilineError{"MULTILINE_MAX_BYTES", []string{itoa(caps.MultilineMaxBytes)}, "Too many bytes in the multiline batch"}
	}
	b.command = command
	b.lines = append(b.lines, multilineLine{text: text, concat: concat})
	b.bytes += len(text)
	return nil
}

// finish checks the complete batch.
func (b *multilineBatch) finish() *multilineError {
	for _, l := range b.lines {
		if l.text != "" {
			return nil
		}
	}
	return invalidBatch("The multiline batch has no text to send")
}

// joined is the message as one text: lines joined by newlines, a
// concatenated line glued to the one before.
func (b *multilineBatch) joined() string {
	var sb strings.Builder
	for i, l := range b.lines {
		if i > 0 && !l.concat {
			sb.WriteByte('\n')
		}
		sb.WriteString(l.text)
	}
	return sb.String()
}

// encode is the lines as event Params: the marker, then per line 'c'
// (concatenated) or 'n' (new line) and its text.
func (b *multilineBatch) encode() []string {
	ps := make([]string, 0, len(b.lines)+1)
	ps = append(ps, multilineMarker)
	for _, l := range b.lines {
		flag := "n"
		if l.concat {
			flag = "c"
		}
		ps = append(ps, flag+l.text)
	}
	return ps
}

// isMultiline reports whether ev is a multiline message.
func isMultiline(ev *store.Event) bool {
	return (ev.Kind == store.KindPrivmsg || ev.Kind == store.KindNotice) &&
		len(ev.Params) >= 2 && ev.Params[0] == multilineMarker
}

// multilineLines decodes the lines of a multiline event; ok is false for
// any other event.
func multilineLines(ev *store.Event) (lines []multilineLine, ok bool) {
	if !isMultiline(ev) {
		return nil, false
	}
	for _, p := range ev.Params[1:] {
		if p == "" {
			return nil, false // not written by encode
		}
		lines = append(lines, multilineLine{text: p[1:], concat: p[0] == 'c'})
	}
	return lines, true
}

// handleBatch is BATCH +ref draft/multiline <target> and BATCH -ref.
func handleBatch(c *Client, m irc.Message, r *response) {
	u := c.u.Load()
	ref := m.Params[0]
	switch {
	case !c.hasCap(capMultiline) || !c.hasCap(capBatch):
		failBatch(c, r, invalidBatch("Negotiate draft/multiline and batch to send a batch"))
	case len(ref) > 1 && ref[0] == '+':
		startMultiline(c, u, m, r)
	case len(ref) > 1 && ref[0] == '-':
		endMultiline(c, u, ref[1:], r)
	default:
		failBatch(c, r, invalidBatch("A batch reference starts with + or -"))
	}
}

func failBatch(c *Client, r *response, e *multilineError) {
	c.s.m.dropped.WithLabelValues(dropMultiline).Inc()
	r.fail("BATCH", e.code, append(e.args, e.text)...)
}

func startMultiline(c *Client, u *user, m irc.Message, r *response) {
	b := &multilineBatch{ref: m.Params[0][1:], target: m.Param(2), label: r.label}
	switch {
	case u.multiline != nil && !u.multiline.failed:
		// The open batch is dropped, and this one with it: the client
		// has lost track of its batches.
		b.failed = true
		failBatch(c, r, invalidBatch("A multiline batch is already open"))
	case m.Param(1) != multilineType || b.target == "":
		b.failed = true
		failBatch(c, r, invalidBatch("Only draft/multiline batches with a target may be sent"))
	default:
		for _, t := range m.Tags {
			if strings.HasPrefix(t.Key, "+") {
				if b.tags == nil {
					b.tags = map[string]string{}
				}
				b.tags[t.Key] = t.Value
			}
		}
		r.label = "" // the label is answered at BATCH -, by the echo
	}
	u.multiline = b
}

// handleMultilineLine takes a PRIVMSG or NOTICE tagged batch=ref.
func handleMultilineLine(c *Client, m irc.Message, ref string, r *response) {
	u := c.u.Load()
	b := u.multiline
	if b != nil && b.failed {
		return
	}
	if b == nil || b.ref != ref {
		u.multiline = &multilineBatch{ref: ref, failed: true}
		failBatch(c, r, invalidBatch("No open multiline batch "+ref))
		return
	}
	_, concat := m.Tag(multilineConcatTag)
	if e := b.add(m.Command, m.Param(0), m.Param(1), concat); e != nil {
		b.failed = true
		r.label = b.label // the refusal answers the labeled BATCH +
		failBatch(c, r, e)
	}
}

func endMultiline(c *Client, u *user, ref string, r *response) {
	b := u.multiline
	u.multiline = nil
	switch {
	case b == nil || b.ref != ref:
		failBatch(c, r, invalidBatch("No open multiline batch "+ref))
	case b.failed:
	default:
		r.label = b.label
		if e := b.finish(); e != nil {
			failBatch(c, r, e)
			return
		}
		commitMultiline(c, u, b, r)
	}
}

// commitMultiline commits the batch as one message to its target, as
// PRIVMSG or NOTICE would.
func commitMultiline(c *Client, u *user, b *multilineBatch, r *response) {
	s := c.s
	kind := store.Kind(b.command)
	s.mu.RLock()
	prefix := u.prefix()
	target, hkey, code, text := s.messageTarget(u, b.target, kind, r)
	tags := withBotTag(u, b.tags)
	s.mu.RUnlock()
	if code != "" {
		if kind != store.KindNotice {
			r.numeric(code, target, text)
		}
		return
	}
	u.lastActive.Store(time.Now().Unix())
	ev := &store.Event{Kind: kind, Target: target, HistoryKey: hkey, Sender: prefix, Account: u.acc,
		Text: b.joined(), Tags: tags}
	b.lines = splitLines(b.lines, relayRoom(ev)) // longmsg.go
	ev.Params = b.encode()
	err := s.commit(ev, u, func(ev *store.Event) {
		if c.hasCap(capEchoMessage) {
			for _, msg := range eventMessages(ev, capSet(c.caps.Load())) {
				r.add(msg)
			}
		}
	})
	if err != nil {
		r.fail(b.command, "MESSAGE_ERROR", target, "Message not delivered: storage unavailable, try again")
	}
}

// eventMessages renders an event as the messages a client with caps sees:
// one for most events, several for a multiline message.
func eventMessages(ev *store.Event, cs capSet) []irc.Message {
	lines, multi := multilineLines(ev)
	head, ok := eventMessage(ev, cs)
	switch {
	case !ok:
		return nil
	case !multi:
		return []irc.Message{head}
	case cs&capMultiline != 0 && cs&capBatch != 0:
		return multilineBatchMessages(ev, head.Tags, lines)
	}
	return multilineFallback(ev, head.Tags, lines)
}

// multilineBatchMessages is the batch form: the event's tags (msgid, time,
// account, client tags) on BATCH +, the lines bare but for batch and concat.
func multilineBatchMessages(ev *store.Event, tags []irc.Tag, lines []multilineLine) []irc.Message {
	id := ev.MsgID
	if id == "" {
		id = newBatchID()
	}
	out := make([]irc.Message, 0, len(lines)+2)
	out = append(out, irc.Message{Tags: tags, Source: ev.Sender, Command: "BATCH", Params: []string{"+" + id, multilineType, ev.Target}})
	for _, l := range lines {
		t := []irc.Tag{{Key: "batch", Value: id}}
		if l.concat {
			t = append(t, irc.Tag{Key: multilineConcatTag})
		}
		out = append(out, irc.Message{Tags: t, Source: ev.Sender, Command: string(ev.Kind), Params: []string{ev.Target, l.text}})
	}
	return append(out, irc.Message{Source: ev.Sender, Command: "BATCH", Params: []string{"-" + id}})
}

// multilineFallback is one message per non-blank line, every one with the
// event's tags but the msgid, which only the first carries.
func multilineFallback(ev *store.Event, tags []irc.Tag, lines []multilineLine) []irc.Message {
	var rest []irc.Tag
	for _, t := range tags {
		if t.Key != "msgid" {
			rest = append(rest, t)
		}
	}
	var out []irc.Message
	for _, l := range lines {
		if l.text == "" {
			continue
		}
		t := rest
		if len(out) == 0 {
			t = tags
		}
		out = append(out, irc.Message{Tags: t, Source: ev.Sender, Command: string(ev.Kind), Params: []string{ev.Target, l.text}})
	}
	return out
}

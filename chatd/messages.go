package chatd

import (
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

const maxTargets = 4

// handlePrivmsg handles PRIVMSG, NOTICE and TAGMSG. The message reaches
// anyone only after it is committed; the sender's echo (echo-message) comes
// from the same apply as everyone else's copy, so it is an acknowledgement
// that the message is in history.
func handlePrivmsg(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	kind := store.Kind(m.Command)
	notice := kind == store.KindNotice
	if ref, ok := m.Tag("batch"); ok {
		handleMultilineLine(c, m, ref, r) // IRCv3 draft/multiline
		return
	}
	if len(m.Params) == 0 || m.Params[0] == "" {
		if !notice {
			r.numeric(errNoRecipient, "No recipient given ("+m.Command+")")
		}
		return
	}
	text := m.Param(1)
	if kind != store.KindTagmsg && text == "" {
		if !notice {
			r.numeric(errNoTextToSend, "No text to send")
		}
		return
	}
	var tags map[string]string
	for _, t := range m.Tags {
		// Only client-only tags are relayed (message-tags §Client-only tags).
		if strings.HasPrefix(t.Key, "+") {
			if tags == nil {
				tags = make(map[string]string)
			}
			tags[t.Key] = t.Value
		}
	}
	if kind == store.KindTagmsg && len(tags) == 0 {
		return
	}
	if kind != store.KindTagmsg {
		u.lastActive.Store(time.Now().Unix()) // WHOIS idle time
	}
	s.mu.RLock()
	tags = withBotTag(u, tags) // IRCv3 bot-mode
	s.mu.RUnlock()
	targets := strings.Split(m.Params[0], ",")
	if len(targets) > maxTargets {
		targets = targets[:maxTargets]
	}
	for _, target := range targets {
		s.mu.RLock()
		prefix := u.prefix()
		target, hkey, code, text2 := s.messageTarget(u, target, kind, r)
		s.mu.RUnlock()
		if code != "" {
			if !notice {
				r.numeric(code, target, text2)
			}
			continue
		}
		ev := &store.Event{Kind: kind, Target: target, HistoryKey: hkey, Sender: prefix, Account: u.acc, Text: text, Tags: tags}
		splitForRelay(ev) // longmsg.go: no relayed line over 512 bytes
		err := s.commit(ev, u, func(ev *store.Event) {
			if c.hasCap(capEchoMessage) {
				for _, msg := range eventMessages(ev, capSet(c.caps.Load())) {
					r.add(msg)
				}
			}
		})
		if err != nil {
			// Not committed, so not delivered to anyone: tell the sender
			// (IRCv3 standard replies) so it can retry.
			r.fail(m.Command, "MESSAGE_ERROR", target, "Message not delivered: storage unavailable, try again")
		}
	}
}

// messageTarget resolves one target of PRIVMSG, NOTICE or TAGMSG from u: the
// name the message is stored under and its history key, or the error
// numeric (code, text) to answer. It answers RPL_AWAY itself. s.mu held.
func (s *Server) messageTarget(u *user, target string, kind store.Kind, r *response) (name, hkey, code, text string) {
	if ch, rank := s.statusTarget(target); rank != 0 {
		// STATUSMSG: to the channel's members with that prefix. It is
		// in no one's history (its key is never queried).
		switch {
		case ch == nil || len(ch.members) == 0:
			return target, "", errNoSuchChannel, "No such channel"
		case !ch.canSpeak(u):
			return target, "", errCannotSend, "Cannot send to channel"
		}
		return string(rank) + ch.name, "statusmsg:" + ch.key, "", ""
	}
	if store.IsChannel(target) {
		ch := s.channels[store.Fold(target)]
		switch {
		case ch == nil || len(ch.members) == 0:
			return target, "", errNoSuchChannel, "No such channel"
		case !ch.canSpeak(u):
			return target, "", errCannotSend, "Cannot send to channel"
		}
		return ch.name, "", "", ""
	}
	to := s.users[store.Fold(target)]
	if to == nil {
		return target, "", errNoSuchNick, "No such nick/channel"
	}
	if to.away != "" && kind == store.KindPrivmsg {
		r.numeric(rplAway, to.nick, to.away)
	}
	return to.nick, "", "", ""
}

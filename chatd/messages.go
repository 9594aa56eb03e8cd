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
		var code, text2 string
		var hkey string
		s.mu.RLock()
		prefix := u.prefix()
		if ch, rank := s.statusTarget(target); rank != 0 {
			// STATUSMSG: to the channel's members with that prefix. It is
			// in no one's history (its key is never queried).
			switch {
			case ch == nil || len(ch.members) == 0:
				code, text2 = errNoSuchChannel, "No such channel"
			case !ch.canSpeak(u):
				code, text2 = errCannotSend, "Cannot send to channel"
			default:
				target = string(rank) + ch.name
				hkey = "statusmsg:" + ch.key
			}
		} else if store.IsChannel(target) {
			ch := s.channels[store.Fold(target)]
			switch {
			case ch == nil || len(ch.members) == 0:
				code, text2 = errNoSuchChannel, "No such channel"
			case !ch.canSpeak(u):
				code, text2 = errCannotSend, "Cannot send to channel"
			default:
				target = ch.name
			}
		} else {
			to := s.users[store.Fold(target)]
			if to == nil {
				code, text2 = errNoSuchNick, "No such nick/channel"
			} else {
				target = to.nick
				if to.away != "" && kind == store.KindPrivmsg {
					r.numeric(rplAway, to.nick, to.away)
				}
			}
		}
		s.mu.RUnlock()
		if code != "" {
			if !notice {
				r.numeric(code, target, text2)
			}
			continue
		}
		ev := &store.Event{Kind: kind, Target: target, HistoryKey: hkey, Sender: prefix, Account: u.acc, Text: text, Tags: tags}
		err := s.commit(ev, u, func(ev *store.Event) {
			if c.hasCap(capEchoMessage) {
				if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
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

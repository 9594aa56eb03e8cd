package chatd

import (
	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// awayLen bounds an away message (ISUPPORT AWAYLEN).
const awayLen = 200

// realnameLen bounds a realname set by SETNAME.
const realnameLen = 200

// handleAway implements AWAY (RFC 2812 §4.1). Away is cluster presence: an
// event in the log, applied on every node, so WHOIS 301, WHO H/G and
// away-notify agree everywhere.
func handleAway(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	msg := m.Param(0)
	if len(msg) > awayLen {
		msg = truncateUTF8(msg, awayLen)
	}
	s.mu.RLock()
	prefix, cur := u.prefix(), u.away
	s.mu.RUnlock()
	reply := func() {
		if msg == "" {
			r.numeric(rplUnaway, "You are no longer marked as being away")
		} else {
			r.numeric(rplNowAway, "You have been marked as being away")
		}
	}
	if cur == msg {
		reply() // nothing changes: no event
		return
	}
	ev := &store.Event{Kind: store.KindAway, Sender: prefix, Account: u.acc, Text: msg, Params: []string{u.sid}}
	// Kept with the session too, so a node that starts later knows it.
	if err := s.commitChange(ev, u, func(*store.Event) { reply() }, func(tx store.Tx) error {
		return tx.UpdateSession(u.sid, func(ss *store.Session) { ss.Away = msg })
	}); err != nil {
		r.fail("AWAY", "TEMPORARILY_UNAVAILABLE", "Could not set away, try again")
	}
}

// handleSetname implements IRCv3 setname (https://ircv3.net/specs/extensions/setname).
func handleSetname(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	name := m.Params[0]
	if name == "" || len(name) > realnameLen {
		r.fail("SETNAME", "INVALID_REALNAME", "Realname is not valid")
		return
	}
	prefix := s.prefixOf(u)
	ev := &store.Event{Kind: store.KindSetname, Sender: prefix, Account: u.acc, Text: name, Params: []string{u.sid}}
	if err := s.commitChange(ev, u, func(ev *store.Event) {
		if c.hasCap(capSetname) {
			if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
				r.add(msg)
			}
		}
	}, func(tx store.Tx) error {
		return tx.UpdateSession(u.sid, func(ss *store.Session) { ss.Realname = name })
	}); err != nil {
		r.fail("SETNAME", "CANNOT_CHANGE_REALNAME", "Could not change realname, try again")
	}
}

// inviteNotify shows an INVITE to the channel's operators who negotiated
// invite-notify (IRCv3 invite-notify). s.mu held.
func (s *Server) inviteNotify(ev *store.Event, to *user, f *fanout) {
	ch := s.channels[store.Fold(param(ev.Params, 0))]
	if ch == nil || ch.localCount == 0 {
		return
	}
	for m, modes := range ch.members {
		if m == to || m == f.except || m.client == nil || memberPrefix(modes) != "@" || !m.client.hasCap(capInviteNotify) {
			continue
		}
		f.to(m)
	}
}

// statusTarget parses a STATUSMSG target ("@#chan", "+#chan"): the channel
// and the lowest member prefix that receives it. s.mu held.
func (s *Server) statusTarget(target string) (*channel, byte) {
	if len(target) < 2 || (target[0] != '@' && target[0] != '+') || (target[1] != '#' && target[1] != '&') {
		return nil, 0
	}
	return s.channels[store.Fold(target[1:])], target[0]
}

// toStatus delivers to the members whose prefix is rank or higher.
func (f *fanout) toStatus(ch *channel, rank byte) {
	if ch.localCount == 0 {
		return
	}
	for u, modes := range ch.members {
		if hasRank(modes, rank) {
			f.to(u)
		}
	}
}

func hasRank(modes string, rank byte) bool {
	switch rank {
	case '@':
		return memberPrefix(modes) == "@"
	case '+':
		return modes != ""
	}
	return false
}

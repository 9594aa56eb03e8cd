package chatd

import (
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// KNOCK <channel> [<message>] (ISUPPORT KNOCK; numerics 710-714 as
// Solanum/Hybrid): a user outside a channel it cannot join (+i, +k or a
// full +l) asks its operators for an invitation. The knock travels through
// the log, so operators on every node see it; the message text is not
// relayed (it would be an unmoderated way into the channel).

const (
	rplKnock        = "710" // "<client> <channel> <nick>!<user>@<host> :has asked for an invite"
	rplKnockDlvr    = "711" // "<client> <channel> :Your KNOCK has been delivered"
	errTooManyKnock = "712" // "<client> <channel> :Too many KNOCKs (channel)"
	errChanOpen     = "713" // "<client> <channel> :Channel is open"
	errKnockOnChan  = "714" // "<client> <channel> :You are already on that channel"

	// kindKnock is a chatd event kind, like kindInvite. Its history key
	// is one no query asks for.
	kindKnock store.Kind = "KNOCK"

	// knockInterval is how often one user may knock on one channel, and
	// maxKnocks how many channels it may have knocked on within it.
	knockInterval = time.Minute
	maxKnocks     = 8

	dropKnockThrottled = "knock_throttled"
)

// knockLimiter remembers a local user's recent knocks. Only the user's
// reader goroutine (which runs its commands) uses it.
type knockLimiter map[string]time.Time // folded channel -> last knock

// allow records a knock on channel at now, or reports that it comes too
// soon (or on too many channels at once).
func (k *knockLimiter) allow(channel string, now time.Time) bool {
	if *k == nil {
		*k = make(knockLimiter)
	}
	for ch, at := range *k {
		if now.Sub(at) >= knockInterval {
			delete(*k, ch)
		}
	}
	if _, recent := (*k)[channel]; recent || len(*k) >= maxKnocks {
		return false
	}
	(*k)[channel] = now
	return true
}

func handleKnock(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	name := m.Params[0]
	s.mu.RLock()
	ch := s.channels[store.Fold(name)]
	var code, text string
	switch {
	case ch == nil || len(ch.members) == 0:
		code, text = errNoSuchChannel, "No such channel"
	case isMember(ch, u):
		code, text = errKnockOnChan, "You are already on that channel"
	case !ch.hasMode('i') && ch.chanKey == "" && (ch.limit == 0 || len(ch.members) < ch.limit):
		code, text = errChanOpen, "Channel is open"
	case ch.banned(u):
		code, text = errBannedFromChan, "Cannot knock on channel (+b)"
	default:
		name = ch.name
	}
	prefix := u.prefix()
	s.mu.RUnlock()
	if code != "" {
		r.numeric(code, name, text)
		return
	}
	if !u.knocks.allow(store.Fold(name), time.Now()) {
		s.m.dropped.WithLabelValues(dropKnockThrottled).Inc()
		r.numeric(errTooManyKnock, name, "Too many KNOCKs (channel)")
		return
	}
	ev := &store.Event{Kind: kindKnock, Target: name, HistoryKey: "knock:" + store.Fold(name), Sender: prefix, Account: u.acc}
	if err := s.commit(ev, u, func(*store.Event) { r.numeric(rplKnockDlvr, name, "Your KNOCK has been delivered") }); err != nil {
		r.fail("KNOCK", "TEMPORARILY_UNAVAILABLE", name, "Could not knock, try again")
	}
}

func isMember(ch *channel, u *user) bool {
	_, ok := ch.members[u]
	return ok
}

// applyKnock tells the channel's operators on this node. s.mu held.
func (s *Server) applyKnock(ev *store.Event) {
	ch := s.channels[store.Fold(ev.Target)]
	if ch == nil {
		return
	}
	for u := range ch.members {
		if u.client == nil || !ch.isOp(u) {
			continue
		}
		m := irc.Message{Source: s.cfg.ServerName, Command: rplKnock, Params: []string{u.nick, ch.name, ev.Sender, "has asked for an invite"}}
		if b, err := m.Bytes(); err == nil {
			u.client.send(b)
		}
	}
}

package chatd

import (
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/store"
)

// maxBans bounds a channel's ban list (ISUPPORT MAXLIST=b:100): every ban is
// matched against every message of every member who is not voiced.
const maxBans = 100

// maxMaskLen bounds one ban mask; longer masks are refused, not cut, so the
// mask an operator removes is the one they set.
const maxMaskLen = 255

// ban is one entry of a channel's ban list (MODE +b,
// https://modern.ircdocs.horse/#ban-channel-mode).
type ban struct {
	mask   string // as set, canonical nick!user@host form
	folded string // store.Fold(mask), what matching uses
	setBy  string
	setAt  time.Time
}

// canonMask completes a ban mask to nick!user@host form the way common
// servers do: "nick" bans nick!*@*, "user@host" bans *!user@host and
// "nick!user" bans nick!user@*. ok is false for a mask that cannot be one
// (empty, spaces, a leading ':', too long).
func canonMask(m string) (string, bool) {
	if m == "" || m[0] == ':' || strings.ContainsAny(m, " ,\x00\r\n") {
		return "", false
	}
	if ext, isExt, ok := canonExtban(m); isExt {
		return ext, ok // $a:account (extban.go)
	}
	bang := strings.IndexByte(m, '!')
	at := strings.IndexByte(m, '@')
	switch {
	case bang < 0 && at < 0:
		m += "!*@*"
	case bang < 0:
		m = "*!" + m
	case at < 0:
		m += "@*"
	case at < bang:
		return "", false
	}
	if len(m) > maxMaskLen {
		return "", false
	}
	return m, true
}

// globMatch reports whether s matches pattern, where '*' matches any run of
// bytes and '?' exactly one byte. Iterative with one backtrack point, so it
// is linear-ish and cannot be made exponential by a hostile mask.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// banned reports whether u's prefix matches one of the channel's bans and
// none of its ban exceptions (+e; CASEMAPPING=ascii). s.mu held.
func (ch *channel) banned(u *user) bool {
	if len(ch.bans) == 0 {
		return false
	}
	p, acc := store.Fold(u.prefix()), store.Fold(u.acc)
	return matchAny(ch.bans, p, acc) && !matchAny(ch.excepts, p, acc)
}

// invexed reports whether u matches an invite exception (+I): it may join
// the +i channel uninvited. s.mu held.
func (ch *channel) invexed(u *user) bool {
	return len(ch.invex) > 0 && matchAny(ch.invex, store.Fold(u.prefix()), store.Fold(u.acc))
}

// matchAny reports whether a user with the folded prefix and account ("" if
// not logged in) matches an entry of list.
func matchAny(list []ban, folded, account string) bool {
	for _, b := range list {
		if strings.HasPrefix(b.folded, "$") {
			if matchesExtban(b.folded, account) {
				return true
			}
			continue
		}
		if globMatch(b.folded, folded) {
			return true
		}
	}
	return false
}

// maskList returns the channel's list for a mask mode letter (b, e, I).
func (ch *channel) maskList(mode byte) *[]ban {
	switch mode {
	case 'e':
		return &ch.excepts
	case 'I':
		return &ch.invex
	}
	return &ch.bans
}

// maskIndex returns the position of the entry whose mask folds like mask, or -1.
func maskIndex(list []ban, mask string) int {
	f := store.Fold(mask)
	for i, b := range list {
		if b.folded == f {
			return i
		}
	}
	return -1
}

// addMask and delMask change the node's view; both are idempotent because
// an event may be applied twice after a bootstrap (events.go).
func (ch *channel) addMask(mode byte, mask, setBy string, at time.Time) {
	l := ch.maskList(mode)
	if maskIndex(*l, mask) >= 0 {
		return
	}
	*l = append(*l, ban{mask: mask, folded: store.Fold(mask), setBy: setBy, setAt: at})
}

func (ch *channel) delMask(mode byte, mask string) {
	l := ch.maskList(mode)
	if i := maskIndex(*l, mask); i >= 0 {
		*l = append((*l)[:i], (*l)[i+1:]...)
	}
}

func (ch *channel) addBan(mask, setBy string, at time.Time) { ch.addMask('b', mask, setBy, at) }

// maskListReply lists one mask list: 367/368 for bans, 348/349 for
// exceptions, 346/347 for invite exceptions. s.mu held.
func maskListReply(r *response, ch *channel, mode byte) {
	item, end, text := rplBanList, rplEndOfBanList, "End of channel ban list"
	switch mode {
	case 'e':
		item, end, text = rplExceptList, rplEndOfExceptList, "End of channel exception list"
	case 'I':
		item, end, text = rplInviteList, rplEndOfInviteList, "End of channel invite list"
	}
	for _, b := range *ch.maskList(mode) {
		r.numeric(item, ch.name, b.mask, b.setBy, itoa(int(b.setAt.Unix())))
	}
	r.numeric(end, ch.name, text)
}

// applyMasks adds a snapshot's +e and +I entries to the channels. s.mu held.
func (s *Server) applyMasks(snap store.Snapshot) {
	for mode, list := range map[byte][]store.Ban{'e': snap.Excepts, 'I': snap.Invex} {
		for _, b := range list {
			if ch := s.channels[store.Fold(b.Channel)]; ch != nil {
				ch.addMask(mode, b.Mask, b.SetBy, b.SetAt)
			}
		}
	}
}

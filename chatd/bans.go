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

// banned reports whether u's prefix matches one of the channel's bans
// (CASEMAPPING=ascii). s.mu held.
func (ch *channel) banned(u *user) bool {
	if len(ch.bans) == 0 {
		return false
	}
	p := store.Fold(u.prefix())
	for _, b := range ch.bans {
		if globMatch(b.folded, p) {
			return true
		}
	}
	return false
}

// banIndex returns the position of the ban whose mask folds like mask, or -1.
func (ch *channel) banIndex(mask string) int {
	f := store.Fold(mask)
	for i, b := range ch.bans {
		if b.folded == f {
			return i
		}
	}
	return -1
}

// addBan and delBan change the node's view; both are idempotent because an
// event may be applied twice after a bootstrap (events.go).
func (ch *channel) addBan(mask, setBy string, at time.Time) {
	if ch.banIndex(mask) >= 0 {
		return
	}
	ch.bans = append(ch.bans, ban{mask: mask, folded: store.Fold(mask), setBy: setBy, setAt: at})
}

func (ch *channel) delBan(mask string) {
	if i := ch.banIndex(mask); i >= 0 {
		ch.bans = append(ch.bans[:i], ch.bans[i+1:]...)
	}
}

// banListReply sends RPL_BANLIST for every ban and RPL_ENDOFBANLIST. s.mu held.
func banListReply(r *response, ch *channel) {
	for _, b := range ch.bans {
		r.numeric(rplBanList, ch.name, b.mask, b.setBy, itoa(int(b.setAt.Unix())))
	}
	r.numeric(rplEndOfBanList, ch.name, "End of channel ban list")
}

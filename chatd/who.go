package chatd

import (
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// whoxFields is the order of WHOX fields in RPL_WHOSPCRPL
// (https://ircv3.net/specs/extensions/whox).
const whoxFields = "tcuihsnfdlaor"

// whoQuery is a parsed WHO: the mask and, for WHOX, the fields and token.
type whoQuery struct {
	mask      string
	whox      bool
	fields    string // the requested letters of whoxFields, in that order
	token     string
	opersOnly bool
}

func parseWho(m irc.Message) whoQuery {
	q := whoQuery{mask: m.Param(0)}
	opt := m.Param(1)
	spec, token, hasToken := strings.Cut(opt, ",")
	if i := strings.IndexByte(spec, '%'); i >= 0 {
		q.whox = true
		want := spec[i+1:]
		for j := 0; j < len(whoxFields); j++ {
			if strings.IndexByte(want, whoxFields[j]) >= 0 {
				q.fields += whoxFields[j : j+1]
			}
		}
		if hasToken {
			q.token = token
		}
		spec = spec[:i]
	}
	q.opersOnly = strings.IndexByte(spec, 'o') >= 0
	return q
}

// handleWho implements WHO <mask> [o] and WHOX <mask> %fields[,token]
// (modern.ircdocs.horse §WHO; IRCv3 WHOX). A channel lists its members; an
// exact nick lists that user; any other mask is a glob over nick, user,
// host, server and realname, and hides +i users who share no channel with
// the asker.
func handleWho(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	q := parseWho(m)
	multi := c.hasCap(capMultiPrefix)
	now := time.Now()
	s.mu.RLock()
	switch {
	case store.IsChannel(q.mask):
		if ch := s.channels[store.Fold(q.mask)]; ch != nil {
			_, member := ch.members[u]
			if member || !ch.hasMode('s') {
				for _, o := range ch.sortedMembers() {
					if !q.opersOnly || o.hasMode('o') {
						s.whoReply(r, q, ch.name, o, prefixes(ch.members[o], multi), now)
					}
				}
			}
		}
	case s.users[store.Fold(q.mask)] != nil:
		o := s.users[store.Fold(q.mask)]
		if !q.opersOnly || o.hasMode('o') {
			s.whoReply(r, q, "*", o, "", now)
		}
	default:
		s.whoMask(r, u, q, now)
	}
	s.mu.RUnlock()
	mask := q.mask
	if mask == "" {
		mask = "*"
	}
	r.numeric(rplEndOfWho, mask, "End of WHO list")
}

// maxWhoReplies bounds a mask WHO's answer.
const maxWhoReplies = 500

// whoMask answers a mask WHO. s.mu held.
func (s *Server) whoMask(r *response, asker *user, q whoQuery, now time.Time) {
	pat := store.Fold(q.mask)
	if pat == "" || pat == "0" {
		pat = "*"
	}
	n := 0
	for _, o := range s.sessions {
		if n == maxWhoReplies {
			return
		}
		if q.opersOnly && !o.hasMode('o') {
			continue
		}
		if o != asker && o.hasMode('i') && !shareChannel(o, asker) {
			continue
		}
		if !globMatch(pat, store.Fold(o.nick)) && !globMatch(pat, store.Fold(o.ident)) &&
			!globMatch(pat, store.Fold(o.host)) && !globMatch(pat, store.Fold(s.cfg.ServerName)) &&
			!globMatch(pat, store.Fold(o.realname)) {
			continue
		}
		s.whoReply(r, q, "*", o, "", now)
		n++
	}
}

func shareChannel(a, b *user) bool {
	for k := range a.channels {
		if _, ok := b.channels[k]; ok {
			return true
		}
	}
	return false
}

// prefixes is the member prefix for NAMES and WHO: the highest one, or all
// of them with multi-prefix (IRCv3 multi-prefix).
func prefixes(modes string, multi bool) string {
	if !multi {
		return memberPrefix(modes)
	}
	p := ""
	if strings.IndexByte(modes, 'o') >= 0 {
		p += "@"
	}
	if strings.IndexByte(modes, 'v') >= 0 {
		p += "+"
	}
	return p
}

// whoFlags is H (here) or G (gone), '*' for an operator, then the member
// prefix, then B for a bot.
func whoFlags(o *user, prefix string) string {
	flags := "H"
	if o.away != "" {
		flags = "G"
	}
	if o.hasMode('o') {
		flags += "*"
	}
	flags += prefix
	if o.hasMode(botMode) {
		flags += string(botMode) // IRCv3 bot-mode
	}
	return flags
}

// whoReply is RPL_WHOREPLY (channel user host server nick flags :hops
// realname) or, for WHOX, RPL_WHOSPCRPL with the requested fields. s.mu held.
func (s *Server) whoReply(r *response, q whoQuery, chName string, o *user, prefix string, now time.Time) {
	if !q.whox {
		r.numeric(rplWhoReply, chName, o.ident, o.host, s.cfg.ServerName, o.nick, whoFlags(o, prefix), "0 "+o.realname)
		return
	}
	var ps []string
	for i := 0; i < len(q.fields); i++ {
		switch q.fields[i] {
		case 't':
			ps = append(ps, q.token)
		case 'c':
			ps = append(ps, chName)
		case 'u':
			ps = append(ps, o.ident)
		case 'i':
			ps = append(ps, "255.255.255.255") // not disclosed
		case 'h':
			ps = append(ps, o.host)
		case 's':
			ps = append(ps, s.cfg.ServerName)
		case 'n':
			ps = append(ps, o.nick)
		case 'f':
			ps = append(ps, whoFlags(o, prefix))
		case 'd':
			ps = append(ps, "0")
		case 'l':
			ps = append(ps, itoa(o.idleSeconds(now))) // any node's user (whoisidle.go)
		case 'a':
			acc := o.acc
			if acc == "" {
				acc = "0"
			}
			ps = append(ps, acc)
		case 'o':
			ps = append(ps, "n/a")
		case 'r':
			ps = append(ps, o.realname)
		}
	}
	r.numeric(rplWhoSpcRpl, ps...)
}

package chatd

import (
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

func handleWhois(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	nick := m.Params[len(m.Params)-1]
	multi := c.hasCap(capMultiPrefix)
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.users[store.Fold(nick)]
	if o == nil {
		r.numeric(errNoSuchNick, nick, "No such nick/channel")
		r.numeric(rplEndOfWhois, nick, "End of /WHOIS list")
		return
	}
	r.numeric(rplWhoisUser, o.nick, o.ident, o.host, "*", o.realname)
	var chans []string
	for _, ch := range o.channels {
		// A +s channel, or any channel of a +i user, shows only to
		// someone sharing it.
		if _, shared := ch.members[u]; (ch.hasMode('s') || (o.hasMode('i') && o != u)) && !shared {
			continue
		}
		chans = append(chans, prefixes(ch.members[o], multi)+ch.name)
	}
	if len(chans) > 0 {
		// 50 channels of 64 bytes would make one 3 KB line: several,
		// each within the 512 bytes (RFC 2812 §2.3).
		for _, line := range packWords(chans, whoisChannelsRoom) {
			r.numeric(rplWhoisChannels, o.nick, strings.Join(line, " "))
		}
	}
	r.numeric(rplWhoisServer, o.nick, s.cfg.ServerName, s.cfg.Network+" IRC server")
	if o.hasMode('o') {
		r.numeric(rplWhoisOperator, o.nick, "is an IRC operator")
	}
	if o.hasMode(botMode) {
		r.numeric(rplWhoisBot, o.nick, "is a bot on "+s.cfg.Network)
	}
	if o.acc != "" {
		r.numeric(rplWhoisAccount, o.nick, o.acc, "is logged in as")
	}
	if o.away != "" {
		r.numeric(rplAway, o.nick, o.away)
	}
	r.numeric(rplWhoisIdle, o.nick, itoa(o.idleSeconds(time.Now())), itoa(int(o.since.Unix())), "seconds idle, signon time")
	r.numeric(rplEndOfWhois, o.nick, "End of /WHOIS list")
}

func handleLusers(c *Client, m irc.Message, r *response) {
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	c.s.lusers(r)
}

// lusers sends the LUSERS numerics. s.mu held.
func (s *Server) lusers(r *response) {
	total := len(s.sessions)
	nodes := len(s.nodeUsers)
	if s.nodeUsers[s.cfg.Node] == 0 {
		nodes++ // this node, even with no users yet
	}
	// 251 counts visible and invisible (+i) users apart; 265/266 give the
	// peak seen since this node started.
	inv := s.feat.invisible
	r.numeric(rplLuserClient, "There are "+itoa(total-inv)+" users and "+itoa(inv)+" invisible on "+itoa(nodes)+" servers")
	r.numeric(rplLuserOp, itoa(s.feat.opers), "operator(s) online")
	s.cmu.Lock()
	unknown := len(s.clients) - s.nlocal // this node's connections not registered yet
	s.cmu.Unlock()
	if unknown > 0 {
		r.numeric(rplLuserUnknown, itoa(unknown), "unknown connection(s)")
	}
	r.numeric(rplLuserChannels, itoa(s.nonEmpty), "channels formed")
	r.numeric(rplLuserMe, "I have "+itoa(s.nlocal)+" clients and "+itoa(nodes-1)+" servers")
	maxLocal, maxGlobal := max(s.nlocal, s.feat.peakLocal), max(total, s.feat.peakGlobal)
	r.numeric(rplLocalUsers, itoa(s.nlocal), itoa(maxLocal), "Current local users "+itoa(s.nlocal)+", max "+itoa(maxLocal))
	r.numeric(rplGlobalUsers, itoa(total), itoa(maxGlobal), "Current global users "+itoa(total)+", max "+itoa(maxGlobal))
}

func handleMotd(c *Client, m irc.Message, r *response) { c.s.motd(r) }

func handleUserhost(c *Client, m irc.Message, r *response) {
	s := c.s
	var out []string
	s.mu.RLock()
	for i, n := range m.Params {
		if i == 5 {
			break
		}
		if o := s.users[store.Fold(n)]; o != nil {
			away := "+"
			if o.away != "" {
				away = "-"
			}
			out = append(out, o.nick+"="+away+o.ident+"@"+o.host)
		}
	}
	s.mu.RUnlock()
	r.numeric(rplUserhost, strings.Join(out, " "))
}

func handleIson(c *Client, m irc.Message, r *response) {
	s := c.s
	var out []string
	s.mu.RLock()
	for _, p := range m.Params {
		for _, n := range strings.Fields(p) {
			if o := s.users[store.Fold(n)]; o != nil {
				out = append(out, o.nick)
			}
		}
	}
	s.mu.RUnlock()
	r.numeric(rplIson, strings.Join(out, " "))
}

func handleVersion(c *Client, m irc.Message, r *response) {
	r.numeric(rplVersion, Version, c.s.cfg.ServerName, "IRCv3 chat server on a shared SQL log")
	for _, tokens := range c.s.isupport() {
		r.numeric(rplISupport, append(tokens, "are supported by this server")...)
	}
}

func handleTime(c *Client, m irc.Message, r *response) {
	r.numeric(rplTime, c.s.cfg.ServerName, time.Now().UTC().Format(time.RFC1123))
}

package chatd

import (
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

func handleWho(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	mask := m.Param(0)
	s.mu.RLock()
	if store.IsChannel(mask) {
		if ch := s.channels[store.Fold(mask)]; ch != nil {
			_, member := ch.members[u]
			if member || !ch.hasMode('s') {
				for _, o := range ch.sortedMembers() {
					s.whoReply(r, ch.name, o, ch.members[o])
				}
			}
		}
	} else if o := s.users[store.Fold(mask)]; o != nil {
		s.whoReply(r, "*", o, "")
	}
	s.mu.RUnlock()
	if mask == "" {
		mask = "*"
	}
	r.numeric(rplEndOfWho, mask, "End of WHO list")
}

// whoReply is RPL_WHOREPLY: channel user host server nick flags :hops realname.
func (s *Server) whoReply(r *response, chName string, o *user, memberModes string) {
	flags := "H"
	if o.away != "" {
		flags = "G"
	}
	if o.acc != "" {
		flags += "r"
	}
	flags += memberPrefix(memberModes)
	r.numeric(rplWhoReply, chName, o.ident, o.host, o.node, o.nick, flags, "0 "+o.realname)
}

func handleWhois(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	nick := m.Params[len(m.Params)-1]
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
		if _, shared := ch.members[u]; ch.hasMode('s') && !shared {
			continue
		}
		chans = append(chans, memberPrefix(ch.members[o])+ch.name)
	}
	if len(chans) > 0 {
		r.numeric(rplWhoisChannels, o.nick, strings.Join(chans, " "))
	}
	r.numeric(rplWhoisServer, o.nick, o.node, "chatd node "+o.node)
	if o.acc != "" {
		r.numeric(rplWhoisAccount, o.nick, o.acc, "is logged in as")
	}
	if o.away != "" {
		r.numeric(rplAway, o.nick, o.away)
	}
	if o.client != nil {
		r.numeric(rplWhoisIdle, o.nick, "0", itoa(int(o.since.Unix())), "seconds idle, signon time")
	}
	r.numeric(rplEndOfWhois, o.nick, "End of /WHOIS list")
}

func handleWhowas(c *Client, m irc.Message, r *response) {
	r.numeric(errWasNoSuchNick, m.Params[0], "There was no such nickname")
	r.numeric("369", m.Params[0], "End of WHOWAS")
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
	r.numeric(rplLuserClient, "There are "+itoa(total)+" users and 0 invisible on "+itoa(nodes)+" servers")
	r.numeric(rplLuserOp, "0", "operator(s) online")
	r.numeric(rplLuserChannels, itoa(s.nonEmpty), "channels formed")
	r.numeric(rplLuserMe, "I have "+itoa(s.nlocal)+" clients and "+itoa(nodes-1)+" servers")
	r.numeric(rplLocalUsers, itoa(s.nlocal), itoa(max(s.nlocal, s.cfg.Limits.MaxClients)), "Current local users "+itoa(s.nlocal))
	r.numeric(rplGlobalUsers, itoa(total), itoa(total), "Current global users "+itoa(total))
}

func handleMotd(c *Client, m irc.Message, r *response) { c.s.motd(r) }

func handleAway(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	msg := m.Param(0)
	if len(msg) > 200 {
		msg = truncateUTF8(msg, 200)
	}
	// Away is node-local presence: it is not worth a log event per toggle.
	s.mu.Lock()
	u.away = msg
	s.mu.Unlock()
	if msg == "" {
		r.numeric(rplUnaway, "You are no longer marked as being away")
	} else {
		r.numeric(rplNowAway, "You have been marked as being away")
	}
}

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

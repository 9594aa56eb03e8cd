package chatd

import (
	"fmt"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// The server queries of https://modern.ircdocs.horse (ADMIN, LINKS, STATS)
// and the <target> argument they share with VERSION, TIME and INFO. A
// cluster of nodes is one IRC server to its clients (one server name), so
// there is exactly one server to ask about.

// Numerics of this file.
const (
	rplEndOfStats   = "219" // "<client> <stats letter> :End of /STATS report"
	rplStatsUptime  = "242" // "<client> :Server Up <days> days <hh:mm:ss>"
	rplAdminMe      = "256" // "<client> <server> :Administrative info"
	rplAdminLoc1    = "257"
	rplAdminLoc2    = "258"
	rplAdminEmail   = "259"
	rplLinks        = "364" // "<client> <mask> <server> :<hopcount> <server info>"
	rplEndOfLinks   = "365" // "<client> * :End of /LINKS list"
	errNoSuchServer = "402" // "<client> <server name> :No such server"
)

// maxKeyLen bounds a channel key (ISUPPORT KEYLEN; RFC 2812 allowed 23,
// InspIRCd 32): a longer one is refused with 696, not cut, so the key an
// operator set is the one members type.
const maxKeyLen = 32

// serverTarget wraps a server query whose first parameter, if any, names
// the server to ask (VERSION [<target>], TIME, ADMIN, INFO): a name or mask
// that does not match this server gets 402 instead.
func serverTarget(h handlerFunc) handlerFunc {
	return func(c *Client, m irc.Message, r *response) {
		if len(m.Params) > 0 && !c.s.isThisServer(m.Params[0]) {
			r.numeric(errNoSuchServer, m.Params[0], "No such server")
			return
		}
		h(c, m, r)
	}
}

// isThisServer reports whether target (a server name or mask, or the nick
// of a user, who is on this server too) names this server.
func (s *Server) isThisServer(target string) bool {
	if target == "" || globMatch(store.Fold(target), store.Fold(s.cfg.ServerName)) {
		return true
	}
	s.mu.RLock()
	_, isUser := s.users[store.Fold(target)]
	s.mu.RUnlock()
	return isUser
}

// handleAdmin is ADMIN [<target>] (modern: ADMIN message).
func handleAdmin(c *Client, m irc.Message, r *response) {
	s := c.s
	email := s.cfg.AdminEmail
	if email == "" {
		email = "no contact configured (admin_email)"
	}
	r.numeric(rplAdminMe, s.cfg.ServerName, "Administrative info")
	r.numeric(rplAdminLoc1, s.cfg.Network+" IRC network")
	r.numeric(rplAdminLoc2, "chatd "+Version+", node "+s.cfg.Node)
	r.numeric(rplAdminEmail, email)
}

// handleLinks is LINKS [[<remote server>] <server mask>] (RFC 2812 §3.4.5):
// this server, when it matches the mask, at hop count 0.
func handleLinks(c *Client, m irc.Message, r *response) {
	s := c.s
	mask := "*"
	if len(m.Params) > 0 {
		mask = m.Params[len(m.Params)-1]
	}
	if len(m.Params) > 1 && !s.isThisServer(m.Params[0]) {
		r.numeric(errNoSuchServer, m.Params[0], "No such server")
		return
	}
	if globMatch(store.Fold(mask), store.Fold(s.cfg.ServerName)) {
		r.numeric(rplLinks, s.cfg.ServerName, s.cfg.ServerName, "0 "+s.cfg.Network+" IRC server")
	}
	r.numeric(rplEndOfLinks, mask, "End of /LINKS list")
}

// handleStats is STATS <query> [<server>] (RFC 2812 §3.4.4). Only "u"
// (uptime) is answered; other letters end the report empty, as the spec
// allows a server to withhold what it does not keep.
func handleStats(c *Client, m irc.Message, r *response) {
	s := c.s
	if len(m.Params) > 1 && !s.isThisServer(m.Params[1]) {
		r.numeric(errNoSuchServer, m.Params[1], "No such server")
		return
	}
	query := m.Params[0]
	if query == "u" {
		r.numeric(rplStatsUptime, uptimeText(time.Since(s.created)))
	}
	r.numeric(rplEndOfStats, query, "End of /STATS report")
}

// uptimeText is STATS u's text, "Server Up 2 days 03:04:05".
func uptimeText(d time.Duration) string {
	sec := int64(d / time.Second)
	days, sec := sec/86400, sec%86400
	return fmt.Sprintf("Server Up %d days %d:%02d:%02d", days, sec/3600, sec%3600/60, sec%60)
}

// whoisServer wraps WHOIS [<target>] <nick>: a target that names neither
// this server nor a user (irssi sends WHOIS nick nick to ask the user's
// own server) gets 402.
func whoisServer(h handlerFunc) handlerFunc {
	return func(c *Client, m irc.Message, r *response) {
		if len(m.Params) > 1 && store.Fold(m.Params[0]) != store.Fold(m.Params[1]) && !c.s.isThisServer(m.Params[0]) {
			r.numeric(errNoSuchServer, m.Params[0], "No such server")
			return
		}
		h(c, m, r)
	}
}

package chatd

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/modes"
	"github.com/hachat/hachat/chatd/store"
)

// Operator is an IRC operator account (OPER name password).
type Operator struct {
	Name string `yaml:"name"`
	// Password is an argon2id PHC hash, as printed by `chatd -hash-password`.
	Password string `yaml:"password"`
}

// handleOper implements OPER <name> <password> (RFC 2812 §3.1.4). Success
// sets user mode +o through the log, so every node shows the user as an
// operator (WHO '*', LUSERS 252).
func handleOper(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	switch s.checkOper(c, m.Params[0], m.Params[1]) {
	case loginOK:
	case loginBusy:
		r.fail("OPER", "TEMPORARILY_UNAVAILABLE", "Password checks are busy, try again")
		return
	default:
		r.numeric(errPasswdMismatch, "Password incorrect")
		return
	}
	s.mu.RLock()
	already := u.hasMode('o')
	s.mu.RUnlock()
	if already {
		r.numeric(rplYoureOper, "You are now an IRC operator")
		return
	}
	s.changeUserModes(c, u, "+o", r, func() { r.numeric(rplYoureOper, "You are now an IRC operator") })
}

// checkOper verifies an OPER under the same guard as SASL logins
// (login.go): a bounded, per-network fair password check slot, failure
// limits per network and per operator name, and a dummy hash for a name
// that is not configured, so OPER is no oracle for operator names. It
// returns a chatd_logins_total outcome.
func (s *Server) checkOper(c *Client, name, pw string) string {
	g := s.logins
	net, key := s.netKey(c.ip), "oper:"+name // ':' is in no account name
	if g.throttled(time.Now(), net, key) {
		return loginThrottled
	}
	hash, known := g.dummy, false
	for _, o := range s.liveConfig().operators {
		if subtle.ConstantTimeCompare([]byte(o.Name), []byte(name)) == 1 {
			hash, known = o.Password, true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Limits.LoginWait)
	err := g.acquire(ctx, net)
	cancel()
	if err != nil {
		return loginBusy
	}
	ok, err := store.CheckPassword(hash, pw)
	g.release()
	s.m.argon2Runs.Inc()
	if err != nil || !ok || !known {
		g.failed(time.Now(), net, key)
		return loginBad
	}
	return loginOK
}

// changeUserModes commits a user MODE change of u and answers with the MODE
// (and extra, if set) once applied.
func (s *Server) changeUserModes(c *Client, u *user, change string, r *response, extra func()) {
	s.mu.RLock()
	prefix, nick := u.prefix(), u.nick
	s.mu.RUnlock()
	ev := &store.Event{Kind: store.KindMode, Target: nick, Sender: prefix, Account: u.acc, Text: change}
	if err := s.commitChange(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
		if extra != nil {
			extra()
		}
	}, func(tx store.Tx) error {
		// Kept with the session too, so a node that starts later knows it.
		return tx.UpdateSession(u.sid, func(ss *store.Session) { ss.Modes = userModesAfter(ss.Modes, change) })
	}); err != nil {
		r.fail("MODE", "TEMPORARILY_UNAVAILABLE", nick, "Could not change modes, try again")
	}
}

// handleUserMode is MODE <nick> [changes] (RFC 2812 §3.1.5): +i invisible,
// +w wallops; +o only through OPER, -o drops it.
func handleUserMode(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	target := m.Params[0]
	s.mu.RLock()
	self := store.Fold(target) == store.Fold(u.nick)
	_, exists := s.users[store.Fold(target)]
	cur := u.modes
	s.mu.RUnlock()
	switch {
	case !exists:
		r.numeric(errNoSuchNick, target, "No such nick/channel")
		return
	case !self:
		r.numeric(errUsersDontMatch, "Can't change mode for other users")
		return
	case len(m.Params) == 1:
		r.numeric(rplUmodeIs, "+"+cur)
		return
	}
	var plus, minus []byte
	unknown := false
	for _, c := range modes.User.Parse(m.Params[1], nil) {
		if modes.User.Type(c.Mode) == modes.Unknown {
			unknown = true
			continue
		}
		has := strings.IndexByte(cur, c.Mode) >= 0
		switch {
		case c.Add && c.Mode == 'o': // only OPER grants it
		case c.Add && !has && !containsByte(plus, c.Mode):
			plus = append(plus, c.Mode)
		case !c.Add && has && !containsByte(minus, c.Mode):
			minus = append(minus, c.Mode)
		}
	}
	if unknown {
		r.numeric(errUmodeUnknownFlag, "Unknown MODE flag")
	}
	var change string
	if len(plus) > 0 {
		change += "+" + string(plus)
	}
	if len(minus) > 0 {
		change += "-" + string(minus)
	}
	if change == "" {
		return // nothing changes: no event, no MODE
	}
	s.changeUserModes(c, u, change, r, nil)
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// isOper reports whether u has user mode +o.
func (s *Server) isOper(u *user) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return u.hasMode('o')
}

// handleKill implements KILL <nick> <reason> (RFC 2812 §3.7.1). It works
// on any node's user: the victim's session is released and its QUIT goes
// through the log; the node serving the victim disconnects it on applying
// that QUIT.
func handleKill(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	if !s.isOper(u) {
		r.numeric(errNoPrivileges, "Permission Denied- You're not an IRC operator")
		return
	}
	nick, reason := m.Params[0], m.Param(1)
	s.mu.RLock()
	victim := s.users[store.Fold(nick)]
	var vprefix, vsid, vacc, vreal string
	if victim != nil {
		vprefix, vsid, vacc, vreal = victim.prefix(), victim.sid, victim.acc, victim.realname
	}
	killer := u.nick
	s.mu.RUnlock()
	if victim == nil {
		r.numeric(errNoSuchNick, nick, "No such nick/channel")
		return
	}
	text := "Killed (" + killer + ")" // KILL <nick> alone is accepted, as Ergo does
	if reason != "" {
		text = "Killed (" + killer + " (" + reason + "))"
	}
	// The victim's QUIT and the release of its session are one change.
	ev := &store.Event{Kind: store.KindQuit, Sender: vprefix, Account: vacc, Text: text, Params: []string{vsid, vreal}}
	err := s.commitChange(ev, nil, nil, func(tx store.Tx) error { return tx.ReleaseSession(vsid) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		r.numeric(errNoSuchNick, nick, "No such nick/channel") // quit meanwhile
	case err != nil:
		r.fail("KILL", "TEMPORARILY_UNAVAILABLE", nick, "Could not kill, try again")
	}
}

// handleWallops implements WALLOPS <text> (RFC 2812 §4.7): operators only,
// delivered on every node to users with user mode +w.
func handleWallops(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	if !s.isOper(u) {
		r.numeric(errNoPrivileges, "Permission Denied- You're not an IRC operator")
		return
	}
	ev := &store.Event{Kind: store.KindWallops, Sender: s.prefixOf(u), Account: u.acc, Text: m.Params[0]}
	if err := s.commit(ev, nil, nil); err != nil {
		r.fail("WALLOPS", "TEMPORARILY_UNAVAILABLE", "Could not send, try again")
	}
}

// handleRehash implements REHASH (RFC 2812 §4.2): operators only; reloads
// the operator list and the MOTD.
func handleRehash(c *Client, m irc.Message, r *response) {
	s := c.s
	if !s.isOper(c.u.Load()) {
		r.numeric(errNoPrivileges, "Permission Denied- You're not an IRC operator")
		return
	}
	if err := s.Rehash(); err != nil {
		r.fail("REHASH", "CANNOT_REHASH", err.Error())
		return
	}
	r.numeric(rplRehashing, "chatd.yaml", "Rehashing")
}

// handleInfo implements INFO (RFC 2812 §3.4.10).
func handleInfo(c *Client, m irc.Message, r *response) {
	for _, l := range []string{
		Version + ": an IRC server whose nodes share one SQL log",
		"Every node applies every event in log order; any node serves any client.",
		"Server started " + c.s.created.UTC().Format("2006-01-02 15:04:05 MST"),
	} {
		r.numeric(rplInfo, l)
	}
	r.numeric(rplEndOfInfo, "End of /INFO list")
}

// validateOperators checks the operator list: names unique and usable,
// passwords argon2id hashes (not plain text).
func validateOperators(ops []Operator) []error {
	var errs []error
	seen := map[string]bool{}
	for i, o := range ops {
		field := "operators[" + itoa(i) + "]"
		switch {
		case o.Name == "" || strings.ContainsAny(o.Name, " \t\r\n"):
			errs = append(errs, errors.New(field+".name: must be one word"))
		case seen[o.Name]:
			errs = append(errs, errors.New(field+".name: "+o.Name+" is listed twice"))
		}
		seen[o.Name] = true
		if !strings.HasPrefix(o.Password, "$argon2id$") || strings.Count(o.Password, "$") != 5 {
			errs = append(errs, errors.New(field+".password: not an argon2id hash; make one with `chatd -hash-password`"))
		}
	}
	return errs
}

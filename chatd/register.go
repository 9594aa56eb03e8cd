package chatd

import (
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hachat/hachat/chatd/caps"
	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/modes"
	"github.com/hachat/hachat/chatd/store"
)

// Version is reported by 002, 004 and VERSION; the binary sets it from its
// build version.
var Version = "chatd-dev"

func handleCap(c *Client, m irc.Message, r *response) {
	registered := c.u.Load() != nil
	switch strings.ToUpper(m.Params[0]) {
	case "LS":
		if v := atoi(m.Param(1)); v >= 302 {
			c.capVersion = v
		}
		if !registered {
			c.capBlocking = true
		}
		var names []string
		for _, ci := range caps.Supported {
			n := ci.Name
			if c.capVersion >= 302 && ci.Value != "" {
				n += "=" + ci.Value
			}
			names = append(names, n)
		}
		r.capReply("LS", names) // several lines for CAP 302 if need be
	case "LIST":
		var names []string
		for _, ci := range caps.Supported {
			if c.hasCap(ci.Bit) {
				names = append(names, ci.Name)
			}
		}
		r.capReply("LIST", names)
	case "REQ":
		if !registered {
			c.capBlocking = true
		}
		req := m.Param(1)
		set := capSet(c.caps.Load())
		// All or nothing (IRCv3 Capability Negotiation, CAP REQ).
		for _, name := range strings.Fields(req) {
			remove := strings.HasPrefix(name, "-")
			ci, ok := caps.Lookup(strings.TrimPrefix(name, "-"))
			if !ok {
				r.add(c.s.serverMsg("CAP", c.nickOrStar(), "NAK", req))
				return
			}
			if remove {
				set &^= ci.Bit
			} else {
				set |= ci.Bit
			}
		}
		c.caps.Store(uint32(set))
		r.add(c.s.serverMsg("CAP", c.nickOrStar(), "ACK", req))
	case "END":
		if !registered {
			c.capBlocking = false
			c.tryRegister(r)
		}
	default:
		r.numeric("410", m.Params[0], "Invalid CAP command")
	}
}

// validNick follows RFC 2812 §2.3.1 loosened as modern servers do: no
// leading digit, '-', '#', ':' or '$'; no space, comma, '*', '?', '!', '@' or '.'.
func validNick(n string, max int) bool {
	if n == "" || len(n) > max {
		return false
	}
	if strings.IndexByte("0123456789-#&:$+~%", n[0]) >= 0 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(",*?!@.:", c) >= 0 {
			return false
		}
	}
	return true
}

func handleNick(c *Client, m irc.Message, r *response) {
	s := c.s
	if len(m.Params) == 0 || m.Params[0] == "" {
		r.numeric(errNoNicknameGiven, "No nickname given")
		return
	}
	nick := m.Params[0]
	if !validNick(nick, s.cfg.Limits.NickLen) {
		r.numeric(errErroneusNick, nick, "Erroneous nickname")
		return
	}
	u := c.u.Load()
	if u == nil {
		s.mu.RLock()
		_, taken := s.users[store.Fold(nick)]
		s.mu.RUnlock()
		if taken {
			r.numeric(errNicknameInUse, nick, "Nickname is already in use")
			return
		}
		c.nick.Store(&nick)
		c.tryRegister(r)
		return
	}
	s.mu.RLock()
	old := u.nick
	prefix := u.prefix()
	bannedIn := ""
	for _, ch := range u.channels {
		if ch.members[u] == "" && ch.banned(u) { // voice and op are exempt, as for speaking
			bannedIn = ch.name
			break
		}
	}
	s.mu.RUnlock()
	if old == nick {
		return
	}
	if bannedIn != "" {
		// Otherwise a ban on a nick is undone by changing it (ERR_BANNICKCHANGE,
		// as on charybdis-family servers).
		r.numeric(errBanNickChange, nick, bannedIn, "Cannot change nickname while banned on channel")
		return
	}
	s.mu.RLock()
	realname := u.realname
	s.mu.RUnlock()
	// The realname rides along so WHOWAS can be rebuilt from the log.
	ev := &store.Event{Kind: store.KindNick, Sender: prefix, Account: u.acc, Text: nick, Params: []string{u.sid, realname}}
	err := s.commitChange(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
		r.flush()
	}, func(tx store.Tx) error { return tx.RenameNick(u.sid, nick) })
	switch {
	case errors.Is(err, store.ErrNickInUse):
		r.numeric(errNicknameInUse, nick, "Nickname is already in use")
	case err != nil:
		r.fail("NICK", "TEMPORARILY_UNAVAILABLE", nick, "Could not change nick, try again")
	}
}

func handleUser(c *Client, m irc.Message, r *response) {
	if c.u.Load() != nil {
		r.numeric(errAlreadyRegist, "You may not reregister")
		return
	}
	if m.Params[3] == "" {
		// An empty realname is a missing parameter (modern.ircdocs §USER).
		r.numeric(errNeedMoreParams, "USER", "Not enough parameters")
		return
	}
	ident := m.Params[0]
	if len(ident) > 16 {
		ident = ident[:16]
	}
	if ident == "" || strings.ContainsAny(ident, "@!") {
		ident = "user"
	}
	c.user = "~" + ident
	c.realname = m.Params[3]
	c.tryRegister(r)
}

func handlePass(c *Client, m irc.Message, r *response) {
	if c.u.Load() != nil {
		r.numeric(errAlreadyRegist, "You may not reregister")
		return
	}
	pw := c.s.cfg.Password
	c.passOK = pw == "" || subtle.ConstantTimeCompare([]byte(pw), []byte(m.Params[0])) == 1
}

func hostOf(ip string) string {
	// A host starting with ':' (IPv6 "::1") would break a middle parameter.
	if strings.HasPrefix(ip, ":") {
		return "0" + ip
	}
	return ip
}

// tryRegister completes registration once NICK and USER arrived and CAP
// negotiation ended (modern.ircdocs §Connection Registration).
func (c *Client) tryRegister(r *response) {
	s := c.s
	nick := c.nickOrStar()
	if nick == "*" || c.user == "" || c.capBlocking || c.u.Load() != nil {
		return
	}
	if s.cfg.Password != "" && !c.passOK {
		r.numeric(errPasswdMismatch, "Password incorrect")
		r.flush()
		c.close("Bad password", discBadPassword)
		return
	}
	u := &user{sid: newSessionID(), node: s.cfg.Node, nick: nick, ident: c.user, host: hostOf(c.ip),
		realname: c.realname, acc: c.account, since: time.Now(), client: c, channels: make(map[string]*channel)}
	ss := store.Session{ID: u.sid, Node: u.node, Nick: u.nick, User: u.ident, Host: u.host,
		Account: u.acc, Realname: u.realname, Since: u.since}
	ev := &store.Event{Kind: store.KindNick, Sender: u.prefix(), Account: u.acc, Text: u.nick,
		Params: []string{evRegister, u.sid, u.realname, u.acc}}
	// The nick claim and the event that tells every node commit together,
	// group-committed with other registrations and messages.
	err := s.commitChange(ev, u, func(*store.Event) {
		// In the tailer, with the world locked: nothing reaches the client
		// before its 001.
		c.u.Store(u)
		s.welcome(c, u, r)
		r.flush()
	}, func(tx store.Tx) error { return tx.ClaimNick(ss) })
	switch {
	case errors.Is(err, store.ErrNickInUse):
		r.numeric(errNicknameInUse, nick, "Nickname is already in use")
		star := "*"
		c.nick.Store(&star)
	case err != nil:
		s.warnLimited("register failed", "err", err)
		r.fail("NICK", "TEMPORARILY_UNAVAILABLE", nick, "Server cannot register you right now, try again")
	}
}

// newSessionID is time-ordered (UUIDv7), like msgids: consecutive sessions
// share the index pages of sessions.id, so a batch of registrations writes
// fewer pages than with random ids.
func newSessionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// greeting is the part of the welcome burst that is the same for every
// client for the server's lifetime, rendered once: the parameters of 002,
// 003 and 004 and the ISUPPORT tokens of each 005.
type greeting struct {
	yourHost, created string
	myInfo            []string
	isupport          [][]string
}

func (s *Server) newGreeting() greeting {
	return greeting{
		yourHost: "Your host is " + s.cfg.ServerName + ", running version " + Version,
		created:  "This server was created " + s.created.UTC().Format(time.RFC1123),
		myInfo:   []string{s.cfg.ServerName, Version, modes.User.Flags, "beIklmnostv", "beIklov"},
		isupport: s.renderISupport(),
	}
}

// welcome sends 001-005, LUSERS and MOTD. Called with s.mu held.
func (s *Server) welcome(c *Client, u *user, r *response) {
	g := s.greeting()
	r.numeric(rplWelcome, "Welcome to the "+s.cfg.Network+" IRC Network "+u.prefix())
	r.numeric(rplYourHost, g.yourHost)
	r.numeric(rplCreated, g.created)
	r.numeric(rplMyInfo, g.myInfo...)
	for _, tokens := range g.isupport {
		r.numeric(rplISupport, append(tokens, "are supported by this server")...)
	}
	s.lusers(r)
	s.motd(r)
}

// isupport returns the ISUPPORT tokens, at most 12 per 005 line. The
// lines are shared: append to one copies it.
func (s *Server) isupport() [][]string { return s.greeting().isupport }

func (s *Server) renderISupport() [][]string {
	l := s.cfg.Limits
	all := []string{
		"CASEMAPPING=ascii", "CHANLIMIT=#&:" + itoa(l.MaxChannels), "CHANMODES=" + modes.Channel.Chanmodes(), "CHANNELLEN=64",
		"CHANTYPES=#&", "CHATHISTORY=" + itoa(l.HistoryMax), "MSGREFTYPES=msgid,timestamp",
		"NETWORK=" + s.cfg.Network, "NICKLEN=" + itoa(l.NickLen), "PREFIX=(ov)@+", "TOPICLEN=" + itoa(l.TopicLen),
		"MAXTARGETS=4", "MODES=" + itoa(maxModes), "MAXLIST=b:" + itoa(maxBans) + ",e:" + itoa(maxBans) + ",I:" + itoa(maxBans), "EXCEPTS=e", "INVEX=I", "UTF8ONLY", "AWAYLEN=" + itoa(awayLen), "KICKLEN=390",
		"WHOX", "MONITOR=" + itoa(maxMonitor), "STATUSMSG=@+", "ELIST=CMNTU", "TARGMAX=KICK:4,MONITOR:,NAMES:,PRIVMSG:4,NOTICE:4,TAGMSG:4,WHOIS:1",
		"BOT=" + string(botMode), isupportExtban, isupportAccountExtban, "KNOCK", "KEYLEN=" + itoa(maxKeyLen),
	}
	var out [][]string
	for len(all) > 0 {
		n := min(len(all), 12)
		// Capped, so the caller's append of the trailing text cannot
		// overwrite the first token of the next line.
		out = append(out, all[:n:n])
		all = all[n:]
	}
	return out
}

func (s *Server) motd(r *response) {
	motd := s.liveConfig().motd
	if motd == "" {
		r.numeric(errNoMotd, "MOTD File is missing")
		return
	}
	r.numeric(rplMotdStart, "- "+s.cfg.ServerName+" Message of the day - ")
	for _, l := range strings.Split(strings.TrimRight(motd, "\n"), "\n") {
		r.numeric(rplMotd, "- "+l)
	}
	r.numeric(rplEndOfMotd, "End of /MOTD command.")
}

func handlePing(c *Client, m irc.Message, r *response) {
	r.add(c.s.serverMsg("PONG", c.s.cfg.ServerName, m.Params[0]))
}

func handleQuit(c *Client, m irc.Message, r *response) {
	reason := "Client quit"
	if q := m.Param(0); q != "" {
		reason = "Quit: " + q
	}
	r.flush()
	c.close(reason, discQuit)
}

// quitUser releases a local user's session and commits its QUIT in one
// transaction. A client that sees the QUIT can claim the nick at once.
//
// If the store is unavailable the QUIT is retried in the background until it
// commits: meanwhile the user stays in this node's world (clientless), just
// as its session stays in the store, so the world never disagrees with the
// tables. If this node stops first, its next start or a peer's reaper
// releases the session.
func (s *Server) quitUser(u *user, reason string) {
	s.mu.RLock()
	gone := s.sessions[u.sid] != u
	s.mu.RUnlock()
	if gone {
		return // KILLed: the killer released the session and committed the QUIT
	}
	s.mu.RLock()
	prefix, realname := u.prefix(), u.realname
	s.mu.RUnlock()
	if s.tryQuit(u, prefix, realname, reason) {
		return
	}
	go func() { // not goLoop: it may start while Run waits for its loops
		backoff := 100 * time.Millisecond
		for {
			select {
			case <-s.runCtx.Done():
				s.dropLocal(u)
				return
			case <-time.After(backoff):
			}
			if s.tryQuit(u, prefix, realname, reason) {
				return
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

// tryQuit commits u's QUIT with the release of its session; false if the
// store could not be reached.
func (s *Server) tryQuit(u *user, prefix, realname, reason string) bool {
	// The realname rides along so WHOWAS can be rebuilt from the log.
	ev := &store.Event{Kind: store.KindQuit, Sender: prefix, Account: u.acc, Text: reason, Params: []string{u.sid, realname}}
	err := s.commitChange(ev, u, nil, func(tx store.Tx) error { return tx.ReleaseSession(u.sid) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Reaped: a peer committed our QUIT with the release already.
		s.dropLocal(u)
	case err != nil:
		s.warnLimited("could not commit QUIT, will retry", "nick", u.nick, "err", err)
		return false
	}
	return true
}

// dropLocal removes a local user from this node's world without an event.
func (s *Server) dropLocal(u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[u.sid] == u {
		s.forgetUser(u)
		s.removeUser(u)
	}
}

package chatd

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

func validChannel(name string) bool {
	if len(name) < 2 || len(name) > 64 || (name[0] != '#' && name[0] != '&') {
		return false
	}
	return !strings.ContainsAny(name, " ,\x07:")
}

func handleJoin(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	if m.Params[0] == "0" {
		s.mu.RLock()
		var names []string
		for _, ch := range u.channels {
			names = append(names, ch.name)
		}
		s.mu.RUnlock()
		for _, n := range names {
			s.part(c, u, n, "Left all channels", r)
		}
		return
	}
	keys := strings.Split(m.Param(1), ",")
	for i, name := range strings.Split(m.Params[0], ",") {
		key := ""
		if i < len(keys) {
			key = keys[i]
		}
		s.join(c, u, name, key, r)
	}
}

func (s *Server) join(c *Client, u *user, name, key string, r *response) {
	if !validChannel(name) {
		r.numeric(errNoSuchChannel, name, "No such channel")
		return
	}
	fold := store.Fold(name)
	s.mu.RLock()
	ch := s.channels[fold]
	_, already := u.channels[fold]
	nchans := len(u.channels)
	var errCode, errText string
	if ch != nil && !already {
		switch {
		case ch.chanKey != "" && key != ch.chanKey:
			errCode, errText = errBadChannelKey, "Cannot join channel (+k)"
		case ch.limit > 0 && len(ch.members) >= ch.limit:
			errCode, errText = errChannelIsFull, "Cannot join channel (+l)"
		case ch.hasMode('i') && !u.invited[fold] && !ch.invexed(u):
			errCode, errText = errInviteOnlyChan, "Cannot join channel (+i)"
		case !u.invited[fold] && ch.banned(u):
			// An operator's INVITE lets a banned user in, as on most servers.
			errCode, errText = errBannedFromChan, "Cannot join channel (+b)"
		}
		name = ch.name
	}
	s.mu.RUnlock()
	switch {
	case already:
		return
	case errCode != "":
		r.numeric(errCode, name, errText)
		return
	case nchans >= s.cfg.Limits.MaxChannels:
		r.numeric(errTooManyChannels, name, "You have joined too many channels")
		return
	}
	// Whether the channel is new, so the joiner becomes its operator, is
	// decided by the store in the transaction that commits the JOIN: this
	// node's view may lag the log. The realname rides along for
	// extended-join.
	s.mu.RLock()
	prefix, realname := u.prefix(), u.realname
	s.mu.RUnlock()
	ev := &store.Event{Kind: store.KindJoin, Target: name, Sender: prefix, Account: u.acc,
		Params: []string{u.sid, "", realname}}
	ev.Time = time.Now().UTC().Truncate(time.Millisecond)
	fresh := store.Channel{Name: name, Modes: defaultChannelModes, Created: ev.Time}
	err := s.commitChange(ev, u, func(ev *store.Event) {
		ch := s.channels[fold]
		if ch == nil {
			return
		}
		if _, ok := ch.members[u]; !ok {
			return
		}
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
		s.topicReply(r, ch, false)
		s.namesReply(r, ch)
	}, func(tx store.Tx) error {
		modes, err := tx.Join(store.Member{Channel: name, SessionID: u.sid}, fresh)
		ev.Params[1] = modes
		if errors.Is(err, store.ErrExists) {
			return errNoChange
		}
		return err
	})
	switch {
	case errors.Is(err, errNoChange):
		// Already in, by a JOIN this node has not applied yet.
	case err != nil:
		r.fail("JOIN", "TEMPORARILY_UNAVAILABLE", name, "Could not join, try again")
	}
}

func (s *Server) prefixOf(u *user) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return u.prefix()
}

// topicReply sends 332/333, or 331 when asked explicitly. s.mu held.
func (s *Server) topicReply(r *response, ch *channel, explicit bool) {
	if ch.topic == "" {
		if explicit {
			r.numeric(rplNoTopic, ch.name, "No topic is set")
		}
		return
	}
	r.numeric(rplTopic, ch.name, ch.topic)
	r.numeric(rplTopicWhoTime, ch.name, ch.topicBy, itoa(int(ch.topicAt.Unix())))
}

// namesReply sends 353s and 366, splitting lines below 512 bytes. s.mu held.
func (s *Server) namesReply(r *response, ch *channel) {
	s.namesLines(r, ch)
	r.numeric(rplEndOfNames, ch.name, "End of /NAMES list.")
}

// namesLines is the RPL_NAMREPLY lines of a channel. s.mu held.
func (s *Server) namesLines(r *response, ch *channel) {
	multi, uhnames := r.c.hasCap(capMultiPrefix), r.c.hasCap(capUserhostInNames)
	symbol := "="
	if ch.hasMode('s') {
		symbol = "@"
	}
	var line []string
	n := 0
	flush := func() {
		if len(line) > 0 {
			r.numeric(rplNamReply, symbol, ch.name, strings.Join(line, " "))
			line, n = line[:0], 0
		}
	}
	for _, m := range ch.sortedMembers() {
		name := prefixes(ch.members[m], multi) + m.nick
		if uhnames {
			name += "!" + m.ident + "@" + m.host
		}
		if n+len(name)+1 > 400 {
			flush()
		}
		line = append(line, name)
		n += len(name) + 1
	}
	flush()
}

func handlePart(c *Client, m irc.Message, r *response) {
	u := c.u.Load()
	for _, name := range strings.Split(m.Params[0], ",") {
		c.s.part(c, u, name, m.Param(1), r)
	}
}

func (s *Server) part(c *Client, u *user, name, reason string, r *response) {
	fold := store.Fold(name)
	s.mu.RLock()
	ch := s.channels[fold]
	_, member := u.channels[fold]
	s.mu.RUnlock()
	if ch == nil {
		r.numeric(errNoSuchChannel, name, "No such channel")
		return
	}
	if !member {
		r.numeric(errNotOnChannel, name, "You're not on that channel")
		return
	}
	ev := &store.Event{Kind: store.KindPart, Target: ch.name, Sender: s.prefixOf(u), Account: u.acc, Text: reason, Params: []string{u.sid}}
	err := s.commitChange(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
	}, func(tx store.Tx) error { return tx.Part(ch.name, u.sid) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Already out, by a PART or KICK this node has not applied yet.
	case err != nil:
		r.fail("PART", "TEMPORARILY_UNAVAILABLE", name, "Could not part, try again")
	}
}

func handleTopic(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	name := m.Params[0]
	s.mu.RLock()
	ch := s.channels[store.Fold(name)]
	var member, op bool
	if ch != nil {
		_, member = ch.members[u]
		op = ch.isOp(u)
	}
	if ch == nil || (len(m.Params) == 1 && !member && ch.hasMode('s')) {
		s.mu.RUnlock()
		r.numeric(errNoSuchChannel, name, "No such channel")
		return
	}
	if len(m.Params) == 1 {
		s.topicReply(r, ch, true)
		s.mu.RUnlock()
		return
	}
	s.mu.RUnlock()
	switch {
	case !member:
		r.numeric(errNotOnChannel, ch.name, "You're not on that channel")
		return
	case ch.hasMode('t') && !op:
		r.numeric(errChanOpPrivsNeed, ch.name, "You're not channel operator")
		return
	}
	topic := m.Params[1]
	if len(topic) > s.cfg.Limits.TopicLen {
		topic = truncateUTF8(topic, s.cfg.Limits.TopicLen)
	}
	by, at := s.prefixOf(u), time.Now().UTC().Truncate(time.Millisecond)
	ev := &store.Event{Kind: store.KindTopic, Time: at, Target: ch.name, Sender: by, Account: u.acc, Text: topic}
	err := s.commitChange(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
	}, func(tx store.Tx) error {
		return tx.UpdateChannel(ch.name, func(c *store.Channel) { c.Topic, c.TopicBy, c.TopicAt = topic, by, at })
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		r.numeric(errNoSuchChannel, name, "No such channel")
	case err != nil:
		r.fail("TOPIC", "TEMPORARILY_UNAVAILABLE", ch.name, "Could not set the topic, try again")
	}
}

func truncateUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

func handleNames(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	if len(m.Params) == 0 {
		r.numeric(rplEndOfNames, "*", "End of /NAMES list.")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Several channels: their 353s, then ONE 366 naming the list as given
	// (RFC 2812 §3.2.5, as irctest checks it); one channel: its own.
	names, end := strings.Split(m.Params[0], ","), m.Params[0]
	for _, name := range names {
		ch := s.channels[store.Fold(name)]
		if ch == nil || len(ch.members) == 0 {
			continue
		}
		if _, member := ch.members[u]; !member && ch.hasMode('s') {
			continue
		}
		s.namesLines(r, ch)
		if len(names) == 1 {
			end = ch.name
		}
	}
	r.numeric(rplEndOfNames, end, "End of /NAMES list.")
}

// maxKickTargets bounds the nicks of one KICK (ISUPPORT TARGMAX KICK:4).
const maxKickTargets = 4

// handleKick implements KICK <channel> <nick>[,<nick>] [<comment>] (RFC 2812
// §3.2.8; modern.ircdocs: the default comment is the kicker's nick). Several
// channels pair with as many nicks; one channel takes several nicks.
func handleKick(c *Client, m irc.Message, r *response) {
	chans := strings.Split(m.Params[0], ",")
	nicks := strings.Split(m.Params[1], ",")
	if len(nicks) > maxKickTargets {
		nicks = nicks[:maxKickTargets]
	}
	for i, nick := range nicks {
		name := chans[0]
		if len(chans) > 1 {
			if i >= len(chans) {
				break
			}
			name = chans[i]
		}
		c.s.kickOne(c, name, nick, m.Param(2), r)
	}
}

func (s *Server) kickOne(c *Client, name, nick, reason string, r *response) {
	u := c.u.Load()
	s.mu.RLock()
	if reason == "" {
		reason = u.nick
	}
	ch := s.channels[store.Fold(name)]
	var victim *user
	var member, op, victimIn bool
	if ch != nil {
		_, member = ch.members[u]
		op = ch.isOp(u)
		victim = s.users[store.Fold(nick)]
		if victim != nil {
			_, victimIn = ch.members[victim]
		}
	}
	s.mu.RUnlock()
	switch {
	case ch == nil:
		r.numeric(errNoSuchChannel, name, "No such channel")
		return
	case !member:
		r.numeric(errNotOnChannel, name, "You're not on that channel")
		return
	case !op:
		r.numeric(errChanOpPrivsNeed, ch.name, "You're not channel operator")
		return
	case victim == nil:
		r.numeric(errNoSuchNick, nick, "No such nick/channel")
		return
	case !victimIn:
		r.numeric(errUserNotInChan, nick, ch.name, "They aren't on that channel")
		return
	}
	if len(reason) > kickLen {
		reason = truncateUTF8(reason, kickLen)
	}
	// The victim's session id rides along (not shown to clients): every
	// node removes the member the store removed, even if it was renamed
	// meanwhile.
	ev := &store.Event{Kind: store.KindKick, Target: ch.name, Sender: s.prefixOf(u), Account: u.acc, Text: reason, Params: []string{s.nickOf(victim), victim.sid}}
	err := s.commitChange(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
	}, func(tx store.Tx) error { return tx.Part(ch.name, victim.sid) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		r.numeric(errUserNotInChan, nick, ch.name, "They aren't on that channel")
	case err != nil:
		r.fail("KICK", "TEMPORARILY_UNAVAILABLE", ch.name, "Could not kick, try again")
	}
}

// kickLen is ISUPPORT KICKLEN.
const kickLen = 390

func (s *Server) nickOf(u *user) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return u.nick
}

// handleList implements LIST [<elist>[,...]] (RFC 2812 §3.2.6 with ELIST
// M, N, U, C and T: masks, "!mask" negations, ">n" and "<n" user counts,
// "C<m"/"C>m" created less/more than m minutes ago, "T<m"/"T>m" the same
// for the topic).
func handleList(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	f := parseElist(m.Param(0))
	now := time.Now()
	r.numeric(rplListStart, "Channel", "Users  Name")
	s.mu.RLock()
	for _, ch := range s.sortedChannels() {
		if len(ch.members) == 0 {
			continue
		}
		if _, member := ch.members[u]; !member && ch.hasMode('s') {
			continue
		}
		if !f.match(ch, now) {
			continue
		}
		topic := ch.topic
		r.numeric(rplList, ch.name, itoa(len(ch.members)), topic)
	}
	s.mu.RUnlock()
	r.numeric(rplListEnd, "End of /LIST")
}

// elist is a parsed LIST filter.
type elist struct {
	masks, nots []string // folded globs
	min, max    int      // user count strictly above min / below max; -1 = none
	// Ages in minutes: created (C) or topic set (T) less than ...Lt or
	// more than ...Gt minutes ago; -1 = none.
	cLt, cGt, tLt, tGt int
}

func parseElist(p string) elist {
	f := elist{min: -1, max: -1, cLt: -1, cGt: -1, tLt: -1, tGt: -1}
	if p == "" {
		return f
	}
	for _, t := range strings.Split(p, ",") {
		switch {
		case t == "":
		case len(t) > 2 && (t[0] == 'C' || t[0] == 'T') && (t[1] == '<' || t[1] == '>'):
			v := atoi(t[2:])
			switch t[:2] {
			case "C<":
				f.cLt = v
			case "C>":
				f.cGt = v
			case "T<":
				f.tLt = v
			case "T>":
				f.tGt = v
			}
		case t[0] == '>':
			f.min = atoi(t[1:])
		case t[0] == '<':
			f.max = atoi(t[1:])
		case t[0] == '!':
			f.nots = append(f.nots, store.Fold(t[1:]))
		default:
			f.masks = append(f.masks, store.Fold(t))
		}
	}
	return f
}

func (f elist) match(ch *channel, now time.Time) bool {
	n := len(ch.members)
	if (f.min >= 0 && n <= f.min) || (f.max >= 0 && n >= f.max) {
		return false
	}
	if !ageOK(now.Sub(ch.created), f.cLt, f.cGt) || !ageOK(now.Sub(ch.topicAt), f.tLt, f.tGt) {
		return false
	}
	for _, p := range f.nots {
		if globMatch(p, ch.key) {
			return false
		}
	}
	if len(f.masks) == 0 {
		return true
	}
	for _, p := range f.masks {
		if globMatch(p, ch.key) {
			return true
		}
	}
	return false
}

// kindInvite is a chatd event kind beside the store's: an INVITE travels
// through the log to the invitee's node like any delivery. It has no history
// key (its target is a nick, its kind not a message).
const kindInvite store.Kind = "INVITE"

// handleInvite implements INVITE <nick> <channel> (RFC 2812 §3.2.7): members
// may invite to a channel, operators only to a +i one.
func handleInvite(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	switch len(m.Params) {
	case 0:
		inviteList(c, u, r)
		return
	case 1:
		r.numeric(errNeedMoreParams, "INVITE", "Not enough parameters")
		return
	}
	nick, name := m.Params[0], m.Params[1]
	s.mu.RLock()
	ch := s.channels[store.Fold(name)]
	to := s.users[store.Fold(nick)]
	var code string
	var args []string
	switch {
	case to == nil:
		code, args = errNoSuchNick, []string{nick, "No such nick/channel"}
	case ch == nil || len(ch.members) == 0:
		code, args = errNoSuchChannel, []string{name, "No such channel"}
	default:
		_, member := ch.members[u]
		_, there := ch.members[to]
		switch {
		case !member:
			code, args = errNotOnChannel, []string{ch.name, "You're not on that channel"}
		case ch.hasMode('i') && !ch.isOp(u):
			code, args = errChanOpPrivsNeed, []string{ch.name, "You're not channel operator"}
		case there:
			code, args = errUserOnChannel, []string{to.nick, ch.name, "is already on channel"}
		default:
			nick, name = to.nick, ch.name
		}
	}
	prefix := u.prefix()
	s.mu.RUnlock()
	if code != "" {
		r.numeric(code, args...)
		return
	}
	ev := &store.Event{Kind: kindInvite, Target: nick, Sender: prefix, Account: u.acc, Params: []string{name}}
	if err := s.commit(ev, u, func(*store.Event) { r.numeric(rplInviting, nick, name) }); err != nil {
		r.fail("INVITE", "TEMPORARILY_UNAVAILABLE", nick, "Could not invite, try again")
	}
}

// inviteList answers INVITE without parameters: the channels the user is
// invited to (RPL_INVITELIST 336, RPL_ENDOFINVITELIST 337, as Ergo and
// other modern servers do).
func inviteList(c *Client, u *user, r *response) {
	s := c.s
	s.mu.RLock()
	var names []string
	for f := range u.invited {
		name := f
		if ch := s.channels[f]; ch != nil {
			name = ch.name
		}
		names = append(names, name)
	}
	s.mu.RUnlock()
	sort.Strings(names)
	for _, n := range names {
		r.numeric(rplInviteListUser, n)
	}
	r.numeric(rplEndOfInviteListUser, "End of /INVITE list")
}

// ageOK applies an ELIST C or T bound: age below lt minutes, above gt
// minutes (-1: no bound).
func ageOK(age time.Duration, lt, gt int) bool {
	if lt >= 0 && age >= time.Duration(lt)*time.Minute {
		return false
	}
	return gt < 0 || age > time.Duration(gt)*time.Minute
}

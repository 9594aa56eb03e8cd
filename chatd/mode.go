package chatd

import (
	"sort"
	"strings"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

func (s *Server) sortedChannels() []*channel {
	cs := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		cs = append(cs, ch)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
	return cs
}

func handleMode(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	target := m.Params[0]
	if !store.IsChannel(target) {
		s.mu.RLock()
		self := store.Fold(target) == store.Fold(u.nick)
		_, exists := s.users[store.Fold(target)]
		s.mu.RUnlock()
		switch {
		case !exists:
			r.numeric(errNoSuchNick, target, "No such nick/channel")
		case !self:
			r.numeric(errUsersDontMatch, "Can't change mode for other users")
		default:
			// User modes are not kept; +i is what clients ask for and
			// everyone is effectively invisible to WHO without a channel.
			r.numeric(rplUmodeIs, "+i")
		}
		return
	}
	s.mu.RLock()
	ch := s.channels[store.Fold(target)]
	if ch == nil {
		s.mu.RUnlock()
		r.numeric(errNoSuchChannel, target, "No such channel")
		return
	}
	_, member := ch.members[u]
	op := ch.isOp(u)
	if len(m.Params) == 1 {
		r.numeric(rplChannelModeIs, append([]string{ch.name}, ch.modeString(member)...)...)
		r.numeric(rplCreationTime, ch.name, itoa(int(ch.created.Unix())))
		s.mu.RUnlock()
		return
	}
	mc := s.parseModeChange(ch, m.Params[1], m.Params[2:])
	s.mu.RUnlock()
	for _, e := range mc.errs {
		r.numeric(e[0], e[1:]...)
	}
	if mc.listBans {
		r.numeric(rplEndOfBanList, ch.name, "End of channel ban list")
	}
	if mc.change == "" {
		return
	}
	if !op {
		r.numeric(errChanOpPrivsNeed, ch.name, "You're not channel operator")
		return
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	err := s.st.SaveChannel(ctx, mc.saved)
	for i := 0; err == nil && i < len(mc.members); i++ {
		err = s.st.SetMemberModes(ctx, ch.name, mc.members[i].SessionID, mc.members[i].Modes)
	}
	if err != nil {
		r.fail("MODE", "TEMPORARILY_UNAVAILABLE", ch.name, "Could not change modes, try again")
		return
	}
	ev := &store.Event{Kind: store.KindMode, Target: ch.name, Sender: s.prefixOf(u), Account: u.acc, Text: mc.change, Params: mc.args}
	if err := s.commit(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
	}); err != nil {
		r.fail("MODE", "TEMPORARILY_UNAVAILABLE", ch.name, "Could not change modes, try again")
	}
}

// modeChange is a validated MODE request in canonical form.
type modeChange struct {
	change   string   // e.g. "+o-k"
	args     []string // arguments the change consumes, in order
	saved    store.Channel
	members  []store.Member // new member modes to persist
	errs     [][]string     // numerics to send
	listBans bool
}

// parseModeChange validates a channel MODE against the current state (s.mu
// held) and returns it canonical: unknown letters and missing arguments are
// reported and dropped, so every node applies the same change.
func (s *Server) parseModeChange(ch *channel, modes string, args []string) modeChange {
	mc := modeChange{saved: ch.toStore()}
	add := true
	sign := byte(0)
	memberModes := map[*user]string{}
	emit := func(m byte) {
		want := byte('-')
		if add {
			want = '+'
		}
		if sign != want {
			mc.change += string(want)
			sign = want
		}
		mc.change += string(m)
	}
	next := func() (string, bool) {
		if len(args) == 0 {
			return "", false
		}
		a := args[0]
		args = args[1:]
		return a, true
	}
	nchanges := 0
	for i := 0; i < len(modes) && nchanges < 4; i++ {
		switch m := modes[i]; m {
		case '+':
			add = true
		case '-':
			add = false
		case 'b':
			if _, ok := next(); ok {
				mc.errs = append(mc.errs, []string{errUnknownMode, "b", "Bans are not supported"})
			} else {
				mc.listBans = true
			}
		case 'o', 'v':
			nick, ok := next()
			if !ok {
				mc.errs = append(mc.errs, []string{errNeedMoreParams, "MODE", "Not enough parameters"})
				continue
			}
			u := s.users[store.Fold(nick)]
			cur, member := ch.members[u]
			if u == nil || !member {
				mc.errs = append(mc.errs, []string{errUserNotInChan, nick, ch.name, "They aren't on that channel"})
				continue
			}
			if mm, seen := memberModes[u]; seen {
				cur = mm
			}
			if add {
				memberModes[u] = addModes(cur, string(m))
			} else {
				memberModes[u] = delModes(cur, string(m))
			}
			emit(m)
			mc.args = append(mc.args, u.nick)
			nchanges++
		case 'k':
			if add {
				key, ok := next()
				if !ok || key == "" || strings.ContainsAny(key, " ,:") {
					mc.errs = append(mc.errs, []string{"696", ch.name, "k", "*", "Invalid key"})
					continue
				}
				mc.saved.Key = key
				emit(m)
				mc.args = append(mc.args, key)
			} else {
				next() // RFC 2812 takes the key as argument; any value clears it
				mc.saved.Key = ""
				emit(m)
			}
			nchanges++
		case 'l':
			if add {
				v, _ := next()
				n := atoi(v)
				if n <= 0 {
					mc.errs = append(mc.errs, []string{"696", ch.name, "l", v, "Invalid limit"})
					continue
				}
				mc.saved.Limit = n
				emit(m)
				mc.args = append(mc.args, itoa(n))
			} else {
				mc.saved.Limit = 0
				emit(m)
			}
			nchanges++
		case 'i', 'm', 'n', 's', 't':
			if add {
				mc.saved.Modes = addModes(mc.saved.Modes, string(m))
			} else {
				mc.saved.Modes = delModes(mc.saved.Modes, string(m))
			}
			emit(m)
			nchanges++
		default:
			mc.errs = append(mc.errs, []string{errUnknownMode, string(m), "is an unknown mode char to me"})
		}
	}
	for u, mm := range memberModes {
		mc.members = append(mc.members, store.Member{Channel: ch.name, SessionID: u.sid, Modes: mm})
	}
	sort.Slice(mc.members, func(i, j int) bool { return mc.members[i].SessionID < mc.members[j].SessionID })
	return mc
}

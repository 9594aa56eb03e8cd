package chatd

import (
	"errors"
	"sort"
	"strings"
	"time"

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
	for _, e := range mc.errs {
		r.numeric(e[0], e[1:]...)
	}
	if mc.listBans {
		banListReply(r, ch)
	}
	s.mu.RUnlock()
	if len(mc.items) == 0 {
		return
	}
	if !op {
		r.numeric(errChanOpPrivsNeed, ch.name, "You're not channel operator")
		return
	}
	// One time for the stored bans and the event, so every node (from the
	// event) and every restarted node (from the store) lists the same one.
	now := time.Now().UTC().Truncate(time.Millisecond)
	by := s.prefixOf(u)
	ev := &store.Event{Kind: store.KindMode, Time: now, Target: ch.name, Sender: by, Account: u.acc}
	var full bool
	err := s.commitChange(ev, u, func(ev *store.Event) {
		if msg, ok := eventMessage(ev, capSet(c.caps.Load())); ok {
			r.add(msg)
		}
	}, func(tx store.Tx) error {
		var err error
		full, err = mc.store(tx, ch.name, by, now)
		if err != nil {
			return err
		}
		ev.Text, ev.Params = mc.render()
		if ev.Text == "" {
			return errNoChange // only ban changes, all of them lost a race with another node
		}
		return nil
	})
	if full {
		r.numeric(errBanListFull, ch.name, "b", "Channel ban list is full")
	}
	switch {
	case errors.Is(err, errNoChange):
	case errors.Is(err, store.ErrNotFound):
		r.numeric(errNoSuchChannel, ch.name, "No such channel")
	case err != nil:
		r.fail("MODE", "TEMPORARILY_UNAVAILABLE", ch.name, "Could not change modes, try again")
	}
}

// modeChange is a validated MODE request in canonical form.
type modeChange struct {
	items    []modeItem // rendered as e.g. "+o-k" and the arguments in order
	saved    store.Channel
	members  []store.Member // the members whose modes change (store uses Nick and SessionID)
	errs     [][]string     // numerics to send
	listBans bool
}

// parseModeChange validates a channel MODE against the current state (s.mu
// held) and returns it canonical: unknown letters and missing arguments are
// reported and dropped, so every node applies the same change.
func (s *Server) parseModeChange(ch *channel, modes string, args []string) modeChange {
	mc := modeChange{saved: ch.toStore()}
	add := true
	memberModes := map[*user]string{}
	emit := func(m byte, arg ...string) {
		it := modeItem{add: add, mode: m}
		if len(arg) > 0 {
			it.arg, it.hasArg = arg[0], true
		}
		mc.items = append(mc.items, it)
	}
	nbans := len(ch.bans)
	banChanged := map[string]bool{} // folded masks this request already changes
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
			arg, ok := next()
			if !ok {
				mc.listBans = true
				continue
			}
			mask, ok := canonMask(arg)
			if !ok {
				mc.errs = append(mc.errs, []string{"696", ch.name, "b", arg, "Invalid ban mask"})
				continue
			}
			f := store.Fold(mask)
			exists := ch.banIndex(mask) >= 0
			if banChanged[f] || exists == add {
				continue // already (un)banned: nothing to change, as on other servers
			}
			if add && nbans >= maxBans {
				mc.errs = append(mc.errs, []string{errBanListFull, ch.name, "b", "Channel ban list is full"})
				continue
			}
			if add {
				nbans++
			} else {
				nbans--
				mask = ch.bans[ch.banIndex(mask)].mask // as set, so every node finds it
			}
			banChanged[f] = true
			emit(m, mask)
			nchanges++
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
			emit(m, u.nick)
			nchanges++
		case 'k':
			if add {
				key, ok := next()
				if !ok || key == "" || strings.ContainsAny(key, " ,:") {
					mc.errs = append(mc.errs, []string{"696", ch.name, "k", "*", "Invalid key"})
					continue
				}
				mc.saved.Key = key
				emit(m, key)
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
				emit(m, itoa(n))
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
		mc.members = append(mc.members, store.Member{Channel: ch.name, SessionID: u.sid, Nick: u.nick, Modes: mm})
	}
	sort.Slice(mc.members, func(i, j int) bool { return mc.members[i].SessionID < mc.members[j].SessionID })
	return mc
}

// modeItem is one letter of a mode change with its argument, if any.
type modeItem struct {
	add    bool
	mode   byte
	arg    string
	hasArg bool
	skip   bool // dropped after validation (a ban that lost a race, see saveBans)
}

// render returns the change string ("+o-k") and its arguments in order.
func (mc *modeChange) render() (string, []string) {
	var b []byte
	var args []string
	sign := byte(0)
	for _, it := range mc.items {
		if it.skip {
			continue
		}
		want := byte('-')
		if it.add {
			want = '+'
		}
		if sign != want {
			b = append(b, want)
			sign = want
		}
		b = append(b, it.mode)
		if it.hasArg {
			args = append(args, it.arg)
		}
	}
	return string(b), args
}

// store applies mc to the stored channel inside the MODE's transaction, as a
// change against the stored state rather than this node's possibly lagging
// view: flags, key and limit are set on the stored row, member modes added
// to or removed from the stored ones. A ban another node added (or removed)
// meanwhile is dropped from the change rather than failing it, and a list
// another node filled meanwhile drops the ban and reports full: the store
// has the last word. It may run more than once (a retried transaction).
func (mc *modeChange) store(tx store.Tx, channel, by string, at time.Time) (full bool, err error) {
	member := map[string]string{} // nick -> session id, from the view (parseModeChange)
	for _, m := range mc.members {
		member[store.Fold(m.Nick)] = m.SessionID
	}
	flags := false
	for i := range mc.items {
		it := &mc.items[i]
		it.skip = false
		switch it.mode {
		case 'b':
			if it.add {
				err = tx.AddBan(store.Ban{Channel: channel, Mask: it.arg, SetBy: by, SetAt: at}, maxBans)
			} else {
				err = tx.RemoveBan(channel, it.arg)
			}
			switch {
			case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound) && !it.add:
				it.skip, err = true, nil
			case errors.Is(err, store.ErrFull):
				it.skip, full, err = true, true, nil
			}
		case 'o', 'v':
			add, m := it.add, string(it.mode)
			err = tx.SetMemberModes(channel, member[store.Fold(it.arg)], func(cur string) string {
				if add {
					return addModes(cur, m)
				}
				return delModes(cur, m)
			})
			if errors.Is(err, store.ErrNotFound) {
				it.skip, err = true, nil // left or kicked meanwhile
			}
		default:
			flags = true
		}
		if err != nil {
			return full, err
		}
	}
	if !flags {
		return full, nil
	}
	return full, tx.UpdateChannel(channel, func(c *store.Channel) {
		for _, it := range mc.items {
			switch it.mode {
			case 'k':
				c.Key = ""
				if it.add {
					c.Key = it.arg
				}
			case 'l':
				c.Limit = 0
				if it.add {
					c.Limit = atoi(it.arg)
				}
			case 'b', 'o', 'v':
			default:
				if it.add {
					c.Modes = addModes(c.Modes, string(it.mode))
				} else {
					c.Modes = delModes(c.Modes, string(it.mode))
				}
			}
		}
	})
}

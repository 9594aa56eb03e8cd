package chatd

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/modes"
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
		handleUserMode(c, m, r)
		return
	}
	s.mu.RLock()
	ch := s.channels[store.Fold(target)]
	var member bool
	if ch != nil {
		_, member = ch.members[u]
	}
	if ch == nil || (!member && ch.hasMode('s')) {
		// A secret channel's modes are not shown to outsiders, as its
		// topic and names are not (RFC 2812 §4.2.6).
		s.mu.RUnlock()
		r.numeric(errNoSuchChannel, target, "No such channel")
		return
	}
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
	for _, l := range mc.lists {
		maskListReply(r, ch, l)
	}
	s.mu.RUnlock()
	if len(mc.items) == 0 {
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
	// One time for the stored bans and the event, so every node (from the
	// event) and every restarted node (from the store) lists the same one.
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err == nil {
		err = s.saveBans(ctx, ch.name, u, now, &mc, r)
	}
	if err != nil {
		r.fail("MODE", "TEMPORARILY_UNAVAILABLE", ch.name, "Could not change modes, try again")
		return
	}
	change, args := mc.render()
	if change == "" {
		return // only ban changes, all of them lost a race with another node
	}
	ev := &store.Event{Kind: store.KindMode, Time: now, Target: ch.name, Sender: s.prefixOf(u), Account: u.acc, Text: change, Params: args}
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
	items   []modeItem // rendered as e.g. "+o-k" and the arguments in order
	saved   store.Channel
	members []store.Member // new member modes to persist
	errs    [][]string     // numerics to send
	lists   []byte         // mask lists asked for (MODE #c b, e, I)
}

// parseModeChange validates a channel MODE against the current state (s.mu
// held) and returns it canonical: unknown letters and missing arguments are
// reported and dropped, so every node applies the same change.
func (s *Server) parseModeChange(ch *channel, change string, args []string) modeChange {
	mc := modeChange{saved: ch.toStore()}
	seenErr := map[string]bool{}
	report := func(e ...string) {
		// One reply per distinct error: a 430-byte line of bad letters or
		// nicks gets a handful of numerics, not hundreds.
		k := strings.Join(e, " ")
		if !seenErr[k] {
			seenErr[k] = true
			mc.errs = append(mc.errs, e)
		}
	}
	add := true
	memberModes := map[*user]string{}
	emit := func(m byte, arg ...string) {
		it := modeItem{add: add, mode: m}
		if len(arg) > 0 {
			it.arg, it.hasArg = arg[0], true
		}
		mc.items = append(mc.items, it)
	}
	nmasks := map[byte]int{}        // entries per mask list after this change
	banChanged := map[string]bool{} // list letter + folded masks this request already changes
	// ISUPPORT MODES bounds the changes that take a parameter; the rest of
	// the line is ignored, as on Ergo. Flags cost nothing and are kept.
	nchanges := 0
	for _, c := range modes.Channel.Parse(change, args) {
		add = c.Add
		if nchanges == maxModes && modes.Channel.TakesArg(c.Mode, add) {
			continue
		}
		next := func() (string, bool) { return c.Arg, c.HasArg }
		switch m := c.Mode; m {
		case 'b', 'e', 'I':
			arg, ok := next()
			if !ok {
				if !containsByte(mc.lists, m) {
					mc.lists = append(mc.lists, m)
				}
				continue
			}
			mask, ok := canonMask(arg)
			if !ok {
				report("696", ch.name, string(m), arg, "Invalid mask")
				continue
			}
			list := *ch.maskList(m)
			if _, counted := nmasks[m]; !counted {
				nmasks[m] = len(list)
			}
			f := string(m) + store.Fold(mask)
			idx := maskIndex(list, mask)
			if banChanged[f] || (idx >= 0) == add {
				continue // already so: nothing to change, as on other servers
			}
			if add && nmasks[m] >= maxBans {
				report(errBanListFull, ch.name, string(m), "Channel list is full")
				continue
			}
			if add {
				nmasks[m]++
			} else {
				nmasks[m]--
				mask = list[idx].mask // as set, so every node finds it
			}
			banChanged[f] = true
			emit(m, mask)
			nchanges++
		case 'o', 'v':
			nick, ok := next()
			if !ok {
				report(errNeedMoreParams, "MODE", "Not enough parameters")
				continue
			}
			u := s.users[store.Fold(nick)]
			cur, member := ch.members[u]
			switch {
			case u == nil:
				report(errNoSuchNick, nick, "No such nick/channel")
				continue
			case !member:
				report(errUserNotInChan, nick, ch.name, "They aren't on that channel")
				continue
			}
			if mm, seen := memberModes[u]; seen {
				cur = mm
			}
			if has := strings.IndexByte(cur, m) >= 0; has == add {
				continue // no change: not broadcast, not logged
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
					report("696", ch.name, "k", "*", "Invalid key")
					continue
				}
				if key == mc.saved.Key {
					continue
				}
				mc.saved.Key = key
				emit(m, key)
			} else {
				// RFC 2812 takes the key as argument; any value clears
				// it. The event carries "*" so the letter keeps its
				// argument slot (modes.Always) wherever it is parsed.
				if mc.saved.Key == "" {
					continue
				}
				mc.saved.Key = ""
				emit(m, "*")
			}
			nchanges++
		case 'l':
			if add {
				v, _ := next()
				n := atoi(v)
				if n <= 0 {
					report("696", ch.name, "l", v, "Invalid limit")
					continue
				}
				if n == mc.saved.Limit {
					continue
				}
				mc.saved.Limit = n
				emit(m, itoa(n))
			} else {
				if mc.saved.Limit == 0 {
					continue
				}
				mc.saved.Limit = 0
				emit(m)
			}
			nchanges++
		case 'i', 'm', 'n', 's', 't':
			if has := strings.IndexByte(mc.saved.Modes, m) >= 0; has == add {
				continue // already so: not broadcast, not logged
			}
			if add {
				mc.saved.Modes = addModes(mc.saved.Modes, string(m))
			} else {
				mc.saved.Modes = delModes(mc.saved.Modes, string(m))
			}
			emit(m)
		default:
			report(errUnknownMode, string(m), "is an unknown mode char to me")
		}
	}
	for u, mm := range memberModes {
		mc.members = append(mc.members, store.Member{Channel: ch.name, SessionID: u.sid, Modes: mm})
	}
	sort.Slice(mc.members, func(i, j int) bool { return mc.members[i].SessionID < mc.members[j].SessionID })
	return mc
}

// maxModes is ISUPPORT MODES: the mode changes with a parameter one MODE
// command may make.
const maxModes = 4

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
	cs := make([]modes.Change, 0, len(mc.items))
	for _, it := range mc.items {
		if !it.skip {
			cs = append(cs, modes.Change{Add: it.add, Mode: it.mode, Arg: it.arg, HasArg: it.hasArg})
		}
	}
	return modes.Render(cs)
}

// saveBans persists the ban changes of mc. A ban another node added (or
// removed) meanwhile is dropped from the change rather than failing it, and
// a list another node filled meanwhile gets ERR_BANLISTFULL: the store, not
// this node's possibly lagging view, has the last word.
func (s *Server) saveBans(ctx context.Context, channel string, u *user, at time.Time, mc *modeChange, r *response) error {
	by := s.prefixOf(u)
	for i := range mc.items {
		it := &mc.items[i]
		var err error
		b := store.Ban{Channel: channel, Mask: it.arg, SetBy: by, SetAt: at}
		switch {
		case it.mode == 'b' && it.add:
			err = s.st.AddBan(ctx, b, maxBans)
		case it.mode == 'b':
			err = s.st.RemoveBan(ctx, channel, it.arg)
		case it.mode != 'e' && it.mode != 'I':
			continue
		case it.add:
			err = s.st.AddMask(ctx, string(it.mode), b, maxBans)
		default:
			err = s.st.RemoveMask(ctx, string(it.mode), channel, it.arg)
		}
		switch {
		case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound):
			it.skip = true
		case errors.Is(err, store.ErrFull):
			it.skip = true
			r.numeric(errBanListFull, channel, string(it.mode), "Channel list is full")
		case err != nil:
			return err
		}
	}
	return nil
}

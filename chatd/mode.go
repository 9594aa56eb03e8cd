package chatd

import (
	"bytes"
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
	// One time for the stored bans and the event, so every node (from the
	// event) and every restarted node (from the store) lists the same one.
	now := time.Now().UTC().Truncate(time.Millisecond)
	by := s.prefixOf(u)
	ev := &store.Event{Kind: store.KindMode, Time: now, Target: ch.name, Sender: by, Account: u.acc}
	var full []byte // mask lists found full
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
	for _, l := range full {
		r.numeric(errBanListFull, ch.name, string(l), "Channel list is full")
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
	items   []modeItem // rendered as e.g. "+o-k" and the arguments in order
	saved   store.Channel
	members []store.Member // the members whose modes change (store uses Nick and SessionID)
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
		mc.members = append(mc.members, store.Member{Channel: ch.name, SessionID: u.sid, Nick: u.nick, Modes: mm})
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

// store applies mc to the stored channel inside the MODE's transaction, as a
// change against the stored state rather than this node's possibly lagging
// view: flags, key and limit are set on the stored row, member modes added
// to or removed from the stored ones. A ban another node added (or removed)
// meanwhile is dropped from the change rather than failing it, and a list
// another node filled meanwhile drops the ban and reports full: the store
// has the last word. It may run more than once (a retried transaction).
func (mc *modeChange) store(tx store.Tx, channel, by string, at time.Time) (full []byte, err error) {
	member := map[string]string{} // nick -> session id, from the view (parseModeChange)
	for _, m := range mc.members {
		member[store.Fold(m.Nick)] = m.SessionID
	}
	flags := false
	for i := range mc.items {
		it := &mc.items[i]
		it.skip = false
		switch it.mode {
		case 'b', 'e', 'I':
			b := store.Ban{Channel: channel, Mask: it.arg, SetBy: by, SetAt: at}
			switch {
			case it.mode == 'b' && it.add:
				err = tx.AddBan(b, maxBans)
			case it.mode == 'b':
				err = tx.RemoveBan(channel, it.arg)
			case it.add:
				err = tx.AddMask(string(it.mode), b, maxBans)
			default:
				err = tx.RemoveMask(string(it.mode), channel, it.arg)
			}
			switch {
			case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound) && !it.add:
				it.skip, err = true, nil
			case errors.Is(err, store.ErrFull):
				it.skip, err = true, nil
				if !bytes.ContainsRune(full, rune(it.mode)) {
					full = append(full, it.mode)
				}
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
			case 'b', 'e', 'I', 'o', 'v':
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

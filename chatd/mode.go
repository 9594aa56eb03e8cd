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
	p := modeParser{s: s, ch: ch, mc: modeChange{saved: ch.toStore()}, seenErr: map[string]bool{},
		memberModes: map[*user]string{}, nmasks: map[byte]int{}, changed: map[string]bool{}}
	// ISUPPORT MODES bounds the changes that take a parameter; the rest of
	// the line is ignored, as on Ergo. Flags cost nothing and are kept.
	for _, c := range modes.Channel.Parse(change, args) {
		if p.nchanges == maxModes && modes.Channel.TakesArg(c.Mode, c.Add) {
			continue
		}
		switch modes.Channel.Type(c.Mode) {
		case modes.List:
			p.mask(c)
		case modes.Member:
			p.member(c)
		case modes.Always, modes.SetOnly:
			p.param(c)
		case modes.Flag:
			p.flag(c)
		default:
			p.report(errUnknownMode, string(c.Mode), "is an unknown mode char to me")
		}
	}
	mc := p.mc
	for u, mm := range p.memberModes {
		mc.members = append(mc.members, store.Member{Channel: ch.name, SessionID: u.sid, Nick: u.nick, Modes: mm})
	}
	sort.Slice(mc.members, func(i, j int) bool { return mc.members[i].SessionID < mc.members[j].SessionID })
	return mc
}

// modeParser is the state of one parseModeChange.
type modeParser struct {
	s           *Server
	ch          *channel
	mc          modeChange
	seenErr     map[string]bool
	memberModes map[*user]string // member modes after this change
	nmasks      map[byte]int     // entries per mask list after this change
	changed     map[string]bool  // list letter + folded masks this change already touches
	nchanges    int              // changes with a parameter so far
}

// report queues an error numeric once: a 430-byte line of bad letters or
// nicks gets a handful of numerics, not hundreds.
func (p *modeParser) report(e ...string) {
	k := strings.Join(e, " ")
	if !p.seenErr[k] {
		p.seenErr[k] = true
		p.mc.errs = append(p.mc.errs, e)
	}
}

func (p *modeParser) emit(c modes.Change, arg ...string) {
	it := modeItem{add: c.Add, mode: c.Mode}
	if len(arg) > 0 {
		it.arg, it.hasArg = arg[0], true
	}
	p.mc.items = append(p.mc.items, it)
}

// mask handles b, e and I: a list query, or a mask to add or remove.
func (p *modeParser) mask(c modes.Change) {
	ch, m := p.ch, c.Mode
	if !c.HasArg {
		if !containsByte(p.mc.lists, m) {
			p.mc.lists = append(p.mc.lists, m)
		}
		return
	}
	mask, ok := canonMask(c.Arg)
	if !ok {
		p.report("696", ch.name, string(m), c.Arg, "Invalid mask")
		return
	}
	list := *ch.maskList(m)
	if _, counted := p.nmasks[m]; !counted {
		p.nmasks[m] = len(list)
	}
	f := string(m) + store.Fold(mask)
	idx := maskIndex(list, mask)
	if p.changed[f] || (idx >= 0) == c.Add {
		return // already so: nothing to change, as on other servers
	}
	if c.Add && p.nmasks[m] >= maxBans {
		p.report(errBanListFull, ch.name, string(m), "Channel list is full")
		return
	}
	if c.Add {
		p.nmasks[m]++
	} else {
		p.nmasks[m]--
		mask = list[idx].mask // as set, so every node finds it
	}
	p.changed[f] = true
	p.emit(c, mask)
	p.nchanges++
}

// member handles o and v.
func (p *modeParser) member(c modes.Change) {
	ch, m := p.ch, c.Mode
	if !c.HasArg {
		p.report(errNeedMoreParams, "MODE", "Not enough parameters")
		return
	}
	u := p.s.users[store.Fold(c.Arg)]
	cur, member := ch.members[u]
	switch {
	case u == nil:
		p.report(errNoSuchNick, c.Arg, "No such nick/channel")
		return
	case !member:
		p.report(errUserNotInChan, c.Arg, ch.name, "They aren't on that channel")
		return
	}
	if mm, seen := p.memberModes[u]; seen {
		cur = mm
	}
	if has := strings.IndexByte(cur, m) >= 0; has == c.Add {
		return // no change: not broadcast, not logged
	}
	if c.Add {
		p.memberModes[u] = addModes(cur, string(m))
	} else {
		p.memberModes[u] = delModes(cur, string(m))
	}
	p.emit(c, u.nick)
	p.nchanges++
}

// param handles k and l.
func (p *modeParser) param(c modes.Change) {
	saved := &p.mc.saved
	switch {
	case c.Mode == 'k' && c.Add:
		if !c.HasArg || c.Arg == "" || len(c.Arg) > maxKeyLen || strings.ContainsAny(c.Arg, " ,:") {
			p.report("696", p.ch.name, "k", "*", "Invalid key")
			return
		}
		if c.Arg == saved.Key {
			return
		}
		saved.Key = c.Arg
		p.emit(c, c.Arg)
	case c.Mode == 'k':
		// RFC 2812 takes the key as argument; any value clears it. The
		// event carries "*" so the letter keeps its argument slot
		// (modes.Always) wherever it is parsed.
		if saved.Key == "" {
			return
		}
		saved.Key = ""
		p.emit(c, "*")
	case c.Add: // l
		n := atoi(c.Arg)
		if n <= 0 {
			p.report("696", p.ch.name, "l", c.Arg, "Invalid limit")
			return
		}
		if n == saved.Limit {
			return
		}
		saved.Limit = n
		p.emit(c, itoa(n))
	default:
		if saved.Limit == 0 {
			return
		}
		saved.Limit = 0
		p.emit(c)
	}
	p.nchanges++
}

// flag handles imnst.
func (p *modeParser) flag(c modes.Change) {
	saved := &p.mc.saved
	if has := strings.IndexByte(saved.Modes, c.Mode) >= 0; has == c.Add {
		return // already so: not broadcast, not logged
	}
	if c.Add {
		saved.Modes = addModes(saved.Modes, string(c.Mode))
	} else {
		saved.Modes = delModes(saved.Modes, string(c.Mode))
	}
	p.emit(c)
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
			err = tx.SetMemberModes(channel, member[store.Fold(it.arg)], it.arg, func(cur string) string {
				if add {
					return addModes(cur, m)
				}
				return delModes(cur, m)
			})
			if errors.Is(err, store.ErrNotFound) {
				it.skip, err = true, nil // left, kicked or renamed meanwhile
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

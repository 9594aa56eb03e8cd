package chatd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// whowasMax bounds the WHOWAS history every node keeps.
const whowasMax = 1024

// whowasEntry is a nick as it was when its user quit or changed nick.
type whowasEntry struct {
	folded, nick, ident, host, realname, server string
	at                                          time.Time
}

// whowasRing keeps the newest whowasMax entries. Every node fills it from
// the NICK and QUIT events its tailer applies, so WHOWAS answers the same
// on every node for whatever happened since the node started.
type whowasRing struct {
	entries []whowasEntry
	next    int
}

func (w *whowasRing) add(u *user, server string, at time.Time) {
	w.put(whowasEntry{folded: store.Fold(u.nick), nick: u.nick, ident: u.ident, host: u.host,
		realname: u.realname, server: server, at: at})
}

func (w *whowasRing) put(e whowasEntry) {
	if len(w.entries) < whowasMax {
		w.entries = append(w.entries, e)
		return
	}
	w.entries[w.next] = e
	w.next = (w.next + 1) % whowasMax
}

// lookup returns up to limit entries for nick, newest first (limit <= 0:
// all of them).
func (w *whowasRing) lookup(nick string, limit int) []whowasEntry {
	f := store.Fold(nick)
	var out []whowasEntry
	n := len(w.entries)
	for i := 0; i < n; i++ {
		// Newest first: the slot before next, backwards.
		e := w.entries[((w.next-1-i)%n+n)%n]
		if e.folded == f {
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}

// handleWhowas implements WHOWAS <nick>[,<nick>...] [<count>] (RFC 2812
// §3.6.3): newest first, at most count entries per nick (all if 0).
func handleWhowas(c *Client, m irc.Message, r *response) {
	s := c.s
	limit := atoi(m.Param(1))
	if m.Params[0] == "" {
		r.numeric(errNoNicknameGiven, "No nickname given")
		return
	}
	nicks := strings.Split(m.Params[0], ",")
	if len(nicks) > maxTargets {
		nicks = nicks[:maxTargets]
	}
	for _, nick := range nicks {
		s.mu.RLock()
		es := s.feat.whowas.lookup(nick, limit)
		s.mu.RUnlock()
		if len(es) == 0 {
			r.numeric(errWasNoSuchNick, nick, "There was no such nickname")
		}
		for _, e := range es {
			r.numeric(rplWhowasUser, e.nick, e.ident, e.host, "*", e.realname)
			r.numeric(rplWhoisServer, e.nick, e.server, e.at.UTC().Format(time.RFC1123))
		}
	}
	r.numeric(rplEndOfWhowas, m.Params[0], "End of WHOWAS")
}

// whowasSeed is how many of the newest log events a starting node reads to
// fill its WHOWAS ring, so WHOWAS answers the same right after a restart.
const whowasSeed = 4 * whowasMax

// seedWhowas fills the ring from the NICK and QUIT events among the last
// whowasSeed events before head. Their realname is in Params[1] (chatd
// puts it there; events without it show "*"), or in the registration
// event of the same session if that is in the window.
func (s *Server) seedWhowas(ctx context.Context, head store.Cursor) error {
	cur := max(0, head-whowasSeed)
	realnames := map[string]string{} // session id -> realname, from registrations
	for cur < head {
		evs, next, err := s.st.Tail(ctx, cur, tailBatch)
		if err != nil {
			return fmt.Errorf("chatd: seed WHOWAS: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		s.mu.Lock()
		for i := range evs {
			if evs[i].Seq > int64(head) {
				break
			}
			s.seedWhowasEvent(&evs[i], realnames)
		}
		s.mu.Unlock()
		cur = next
	}
	return nil
}

func (s *Server) seedWhowasEvent(ev *store.Event, realnames map[string]string) {
	switch {
	case ev.Kind == store.KindNick && param(ev.Params, 0) == evRegister:
		realnames[param(ev.Params, 1)] = param(ev.Params, 2)
		return
	case ev.Kind == store.KindNick && isInternalNick(ev):
		return
	case ev.Kind != store.KindNick && ev.Kind != store.KindQuit:
		return
	}
	sid := param(ev.Params, 0)
	real := param(ev.Params, 1)
	if real == "" {
		real = realnames[sid]
	}
	if real == "" {
		real = "*"
	}
	if ev.Kind == store.KindNick {
		realnames[sid] = real
	}
	nick, rest, _ := strings.Cut(ev.Sender, "!")
	ident, host, _ := strings.Cut(rest, "@")
	s.feat.whowas.put(whowasEntry{folded: store.Fold(nick), nick: nick, ident: ident, host: host,
		realname: real, server: s.cfg.ServerName, at: ev.Time})
}

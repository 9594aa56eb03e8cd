package chatd

import (
	"errors"
	"runtime"
	"strings"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// handleChathistory implements IRCv3 draft/chathistory: LATEST, BEFORE,
// AFTER, AROUND, BETWEEN and TARGETS, answered in a chathistory BATCH.
func handleChathistory(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	sub := strings.ToUpper(m.Params[0])
	bad := func(msg string) {
		r.fail("CHATHISTORY", "INVALID_PARAMS", sub, msg)
	}
	if sub == "TARGETS" {
		if len(m.Params) < 4 {
			bad("TARGETS needs two timestamps and a limit")
			return
		}
		from, ok1 := parseRef(m.Params[1])
		to, ok2 := parseRef(m.Params[2])
		limit := atoi(m.Params[3])
		if !ok1 || !ok2 || from.Time.IsZero() || to.Time.IsZero() || limit <= 0 {
			bad("TARGETS takes timestamp= references and a positive limit")
			return
		}
		release, ok := s.historyTurn(c)
		if !ok {
			r.fail("CHATHISTORY", "TEMPORARILY_UNAVAILABLE", sub, "*", "Too many history requests, try again")
			return
		}
		defer release()
		s.historyTargets(c, u, from.Time, to.Time, min(limit, s.cfg.Limits.HistoryMax), r)
		r.pace = s.paceHistory
		r.flush()
		return
	}
	need := 4
	if sub == "BETWEEN" {
		need = 5
	}
	if len(m.Params) < need {
		bad("Not enough parameters")
		return
	}
	q := store.HistoryQuery{Mode: sub, Limit: atoi(m.Params[need-1])}
	switch sub {
	case store.ModeLatest, store.ModeBefore, store.ModeAfter, store.ModeAround, store.ModeBetween:
	default:
		bad("Unknown subcommand")
		return
	}
	if q.Limit <= 0 {
		bad("The limit must be a positive number")
		return
	}
	q.Limit = min(q.Limit, s.cfg.Limits.HistoryMax)
	var ok bool
	if q.Ref, ok = parseRef(m.Params[2]); !ok || (q.Ref.IsZero() && sub != store.ModeLatest) {
		bad("Invalid message reference " + m.Params[2])
		return
	}
	if sub == store.ModeBetween {
		if q.Ref2, ok = parseRef(m.Params[3]); !ok || q.Ref2.IsZero() {
			bad("Invalid message reference " + m.Params[3])
			return
		}
	}
	target := m.Params[1]
	key, name, allowed := s.historyKey(u, target)
	if !allowed {
		r.fail("CHATHISTORY", "INVALID_TARGET", sub, target, "No such conversation or no access")
		return
	}
	q.Target = key
	release, ok := s.historyTurn(c)
	if !ok {
		r.fail("CHATHISTORY", "TEMPORARILY_UNAVAILABLE", sub, target, "Too many history requests, try again")
		return
	}
	defer release()
	evs, err := s.history(q, capSet(c.caps.Load()))
	if err != nil {
		r.fail("CHATHISTORY", "MESSAGE_ERROR", sub, target, "History is unavailable right now")
		return
	}
	s.historyBatch(c, r, "chathistory", []string{name}, evs)
	// Rendering and queueing the reply is most of the work: it counts
	// against history_concurrency too, and is metered by
	// history_bytes_rate (historypace.go).
	r.pace = s.paceHistory
	r.flush()
}

// historyTurn bounds history work. Per client: a client's commands run one
// at a time, and its next query waits until the previous reply has drained
// to sendq_bytes, so one client has one reply in memory, not one per
// request. Per node: history_concurrency queries at once, so a storm
// cannot take every store connection or core. Both waits together last at
// most history_wait; then the client is told to try again (and the reason
// counted).
func (s *Server) historyTurn(c *Client) (release func(), ok bool) {
	start := time.Now()
	deadline := start.Add(s.cfg.Limits.HistoryWait)
	if !c.waitDrained(s.cfg.Limits.SendQBytes, deadline) {
		s.m.historyRejected.WithLabelValues("client_backlog").Inc()
		return nil, false
	}
	select {
	case s.histSem <- struct{}{}:
	default:
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case s.histSem <- struct{}{}:
		case <-t.C:
			s.m.historyRejected.WithLabelValues("server_busy").Inc()
			return nil, false
		}
	}
	s.m.historyWait.Observe(time.Since(start).Seconds())
	return func() { <-s.histSem }, true
}

// history runs q for a client without draft/event-playback: only messages
// (PRIVMSG, NOTICE, and TAGMSG if it has message-tags) are selected and
// counted by the limit, so a page of JOINs never looks like the end of
// history to a resuming client.
func (s *Server) history(q store.HistoryQuery, caps capSet) ([]store.Event, error) {
	q.Kinds = []store.Kind{store.KindPrivmsg, store.KindNotice}
	if caps&capMessageTags != 0 {
		q.Kinds = append(q.Kinds, store.KindTagmsg)
	}
	ctx, cancel := s.storeCtx()
	defer cancel()
	evs, err := s.st.History(ctx, q)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // unknown msgid: an empty batch
	}
	return evs, err
}

// parseRef parses "*", "msgid=..." or "timestamp=..." (chathistory §Message references).
func parseRef(s string) (store.Ref, bool) {
	switch {
	case s == "*":
		return store.Ref{}, true
	case strings.HasPrefix(s, "msgid="):
		id := strings.TrimPrefix(s, "msgid=")
		return store.Ref{MsgID: id}, id != ""
	case strings.HasPrefix(s, "timestamp="):
		t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(s, "timestamp="))
		if err != nil {
			return store.Ref{}, false
		}
		return store.Ref{Time: t.UTC()}, true
	}
	return store.Ref{}, false
}

// historyKey maps a CHATHISTORY target to a store history key and the name
// to show, and says whether u may read it: a channel it is in or that is
// public, or its own private conversation with a nick.
func (s *Server) historyKey(u *user, target string) (key, name string, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if store.IsChannel(target) {
		ch := s.channels[store.Fold(target)]
		if ch == nil {
			return "", "", false
		}
		_, member := ch.members[u]
		// A non-member reads only what it could see by joining: not a
		// secret, invite-only or keyed channel, nor one it is banned from.
		if !member && (ch.hasMode('s') || ch.hasMode('i') || ch.chanKey != "" || ch.banned(u)) {
			return "", "", false
		}
		return ch.key, ch.name, true
	}
	if !validNick(target, 64) {
		return "", "", false
	}
	return store.DMKey(u.nick, target), target, true
}

// historyBatch sends events in a BATCH of the given type, rendered for c.
func (s *Server) historyBatch(c *Client, r *response, typ string, params []string, evs []store.Event) {
	caps := capSet(c.caps.Load())
	useBatch := caps&capBatch != 0
	id := newBatchID()
	if useBatch {
		r.add(s.serverMsg("BATCH", append([]string{"+" + id, typ}, params...)...))
	}
	for i := range evs {
		for _, msg := range eventMessages(&evs[i], caps) { // several for a multiline message
			if _, inner := msg.Tag("batch"); useBatch && !inner {
				msg.Tags = append([]irc.Tag{{Key: "batch", Value: id}}, msg.Tags...)
			}
			r.add(msg)
		}
		if (i+1)%yieldLines == 0 {
			runtime.Gosched() // see yieldLines: building the page is CPU work too
		}
	}
	if useBatch {
		end := s.serverMsg("BATCH", "-"+id)
		r.add(end)
	}
}

func (s *Server) historyTargets(c *Client, u *user, from, to time.Time, limit int, r *response) {
	s.mu.RLock()
	nick := u.nick
	names := map[string]string{}
	var keys []string
	for k, ch := range u.channels {
		keys = append(keys, k)
		names[k] = ch.name
	}
	s.mu.RUnlock()
	ctx, cancel := s.storeCtx()
	defer cancel()
	dms, err := s.st.Conversations(ctx, store.Fold(nick))
	if err == nil {
		keys = append(keys, dms...)
		var infos []store.TargetInfo
		infos, err = s.st.Targets(ctx, keys, from, to, limit)
		if err == nil {
			id := newBatchID()
			useBatch := c.hasCap(capBatch)
			if useBatch {
				r.add(s.serverMsg("BATCH", "+"+id, "draft/chathistory-targets"))
			}
			for _, ti := range infos {
				name, ok := names[ti.Target]
				if !ok {
					if name, ok = store.DMPeer(ti.Target, nick); !ok {
						continue
					}
				}
				msg := s.serverMsg("CHATHISTORY", "TARGETS", name, serverTime(ti.Latest))
				if useBatch {
					msg.Tags = []irc.Tag{{Key: "batch", Value: id}}
				}
				r.add(msg)
			}
			if useBatch {
				r.add(s.serverMsg("BATCH", "-"+id))
			}
			return
		}
	}
	r.fail("CHATHISTORY", "MESSAGE_ERROR", "TARGETS", "*", "History is unavailable right now")
}

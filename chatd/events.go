package chatd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hachat/hachat/chatd/store"
)

// Internal NICK events carry cluster presence that IRC has no command for.
// They are never shown to clients and have no history key.
const (
	evRegister = "+register" // Params: evRegister, sid, realname, account; Text: nick
	evAccount  = "+account"  // Params: evAccount, sid, account
)

func isInternalNick(ev *store.Event) bool {
	return ev.Kind == store.KindNick && len(ev.Params) > 0 && strings.HasPrefix(ev.Params[0], "+")
}

// pendingOp is an own event waiting for the tailer. The tailer calls hook
// with the world lock held, right where the event takes effect, so replies
// to the originating client are ordered with every other delivery.
type pendingOp struct {
	origin *user // not sent the broadcast copy; hook answers it instead
	hook   func(ev *store.Event)
	done   chan struct{}
}

// newMsgID returns a UUIDv7 (RFC 9562): unique across nodes without
// coordination, so clients deduplicate replays by msgid.
func newMsgID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// commit appends ev to the shared log and waits until this node's tailer has
// applied it (and run hook). Delivery only ever happens in the tailer: a
// client never sees an event that is not committed. ev.Time is now unless
// the caller set it.
func (s *Server) commit(ev *store.Event, origin *user, hook func(*store.Event)) error {
	return s.commitChange(ev, origin, hook, nil)
}

// commitChange is commit with the command's table changes: change runs in
// the transaction that appends ev (store.Commit), so the presence tables and
// the log never disagree, whatever fails. An error of change (a nick in use,
// a vanished channel) is returned as is, to test with errors.Is; nothing of
// it was committed. change may run more than once and must not block.
func (s *Server) commitChange(ev *store.Event, origin *user, hook func(*store.Event), change func(store.Tx) error) error {
	ev.MsgID = newMsgID()
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC().Truncate(time.Millisecond)
	}
	ev.Node = s.cfg.Node
	s.liveInFlight.Add(1) // history yields meanwhile (historypace.go)
	defer s.liveInFlight.Add(-1)
	op := &pendingOp{origin: origin, hook: hook, done: make(chan struct{})}
	s.addPending(ev.MsgID, op)
	ctx, cancel := s.storeCtx()
	start := time.Now()
	err := s.st.Commit(ctx, ev, change)
	cancel()
	s.m.appendSecs.Observe(time.Since(start).Seconds())
	if err != nil {
		s.takePending(ev.MsgID)
		if !isRefusal(err) {
			s.m.appendErr.Inc()
		}
		return fmt.Errorf("commit %s: %w", ev.Kind, err)
	}
	s.m.appended.WithLabelValues(string(ev.Kind)).Inc()
	if !s.storeWakes {
		s.wake()
	}
	s.nudgePeers()
	// The hook writes into the handler's reply, so the handler waits for it
	// however long the tailer takes (a slow read is warned about): the
	// client's reply is late, not lost, and never written after the flush.
	t := time.NewTimer(s.cfg.Timers.StoreTimeout)
	defer t.Stop()
	for {
		select {
		case <-op.done:
			return nil
		case <-t.C:
			s.warnLimited("event committed but not applied in time", "msgid", ev.MsgID, "kind", ev.Kind)
		case <-s.runCtx.Done():
			s.withdraw(ev.MsgID, op)
			return nil
		}
	}
}

// withdraw stops waiting for op at shutdown without racing its hook: an op
// the tailer has not taken yet is removed (its event, if the tailer still
// gets to it, applies like a remote one); one it has taken is being applied
// under the world lock right now, so wait for that to finish.
func (s *Server) withdraw(msgID string, op *pendingOp) {
	if s.takePending(msgID) == nil {
		<-op.done
	}
}

// isRefusal reports whether a commit failed because the store refused the
// change (the command's answer is a numeric), not because it is unavailable.
func isRefusal(err error) bool {
	return errors.Is(err, store.ErrNickInUse) || errors.Is(err, store.ErrNotFound) ||
		errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrFull) || errors.Is(err, errNoChange)
}

// errNoChange is returned by a change that found nothing to do; it commits
// nothing, like any failed change.
var errNoChange = errors.New("nothing to change")

// bootstrap registers the node and loads the cluster's users and channels
// from one consistent snapshot of the store; the tailer starts at the
// snapshot's head, so every later event is applied once, to exactly the
// state it was committed against.
func (s *Server) bootstrap(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, 4*s.cfg.Timers.StoreTimeout)
	defer cancel()
	if err := s.st.Heartbeat(sctx, s.cfg.Node); err != nil && !isReaped(err) {
		return fmt.Errorf("chatd: register node: %w", err)
	}
	s.hbOKSince.Store(time.Now().UnixNano())
	snap, err := s.st.Snapshot(sctx)
	if err != nil {
		return fmt.Errorf("chatd: load cluster state: %w", err)
	}
	s.cursor = snap.Head
	if err := s.seedWhowas(sctx, snap.Head); err != nil {
		s.log.Warn("WHOWAS starts empty", "err", err)
	}
	var stale []store.Session
	s.mu.Lock()
	for _, c := range snap.Channels {
		ch := channelFromStore(c)
		s.channels[ch.key] = ch
	}
	for _, b := range snap.Bans {
		if ch := s.channels[store.Fold(b.Channel)]; ch != nil {
			ch.addBan(b.Mask, b.SetBy, b.SetAt)
		}
	}
	s.applyMasks(snap)
	for _, ss := range snap.Sessions {
		if ss.Node == s.cfg.Node {
			// Our previous incarnation's: nobody serves them. They stay in the
			// world (clientless) until their QUITs, which commitQuits commits
			// at start, are applied like anyone's.
			stale = append(stale, ss)
		}
		u := &user{sid: ss.ID, node: ss.Node, nick: ss.Nick, ident: ss.User, host: ss.Host,
			realname: ss.Realname, acc: ss.Account, since: ss.Since, channels: make(map[string]*channel),
			away: ss.Away}
		s.addSession(u)
		s.setUserModes(u, ss.Modes) // and the LUSERS counters (feat.go)
	}
	for _, m := range snap.Members {
		ch := s.channels[store.Fold(m.Channel)]
		u := s.sessions[m.SessionID]
		if ch == nil || u == nil {
			continue
		}
		ch.members[u] = m.Modes
		u.channels[ch.key] = ch
	}
	for _, ch := range s.channels {
		if len(ch.members) > 0 {
			s.nonEmpty++
		}
	}
	s.mu.Unlock()
	s.m.users.Set(float64(len(s.sessions)))
	if len(stale) > 0 {
		s.staleAtStart = stale
	}
	return nil
}

func isReaped(err error) bool { return errors.Is(err, store.ErrReaped) }

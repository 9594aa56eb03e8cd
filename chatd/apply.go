package chatd

import (
	"strings"

	"github.com/hachat/hachat/chatd/modes"
	"github.com/hachat/hachat/chatd/store"
)

// apply makes one committed event take effect on this node: it updates the
// world and delivers the event to local clients. It runs only in the tailer,
// in log order, for own and remote events alike.
func (s *Server) apply(ev *store.Event) {
	var op *pendingOp
	if ev.Node == s.cfg.Node {
		op = s.takePending(ev.MsgID)
		s.m.applied.WithLabelValues("local").Inc()
	} else {
		s.m.applied.WithLabelValues("remote").Inc()
	}
	var origin *user
	if op != nil {
		origin = op.origin
	}
	s.mu.Lock()
	f := fanout{s: s, mc: messageCache{ev: ev}, except: origin}
	s.applyLocked(ev, op, &f)
	if op != nil && op.hook != nil {
		op.hook(ev)
	}
	s.m.users.Set(float64(len(s.sessions)))
	s.mu.Unlock()
	if f.n > 0 {
		s.m.deliveries.Add(float64(f.n))
	}
	if op != nil {
		close(op.done)
	}
}

// fanout delivers one event to local users, each at most once.
type fanout struct {
	s      *Server
	mc     messageCache
	except *user
	seen   map[*user]struct{}
	n      int
}

func (f *fanout) to(u *user) {
	if u == nil || u.client == nil || u == f.except {
		return
	}
	if f.seen != nil {
		if _, dup := f.seen[u]; dup {
			return
		}
		f.seen[u] = struct{}{}
	}
	if b := f.mc.bytes(capSet(u.client.caps.Load())); b != nil {
		u.client.send(b)
		f.n++
	}
}

func (f *fanout) toChannel(ch *channel) {
	if ch.localCount == 0 {
		return
	}
	for u := range ch.members {
		f.to(u)
	}
}

// toPeers delivers to everyone sharing a channel with u.
func (f *fanout) toPeers(u *user) {
	f.seen = make(map[*user]struct{})
	for _, ch := range u.channels {
		f.toChannel(ch)
	}
}

func (s *Server) applyLocked(ev *store.Event, op *pendingOp, f *fanout) {
	switch ev.Kind {
	case store.KindPrivmsg, store.KindNotice, store.KindTagmsg:
		s.applyMessage(ev, f)
	case store.KindNick:
		s.applyNick(ev, op, f)
	case store.KindQuit:
		u := s.sessions[param(ev.Params, 0)]
		if u == nil {
			return
		}
		f.toPeers(u)
		s.beforeRemove(u, ev, op)
		s.removeUser(u)
	case store.KindJoin:
		u := s.sessions[param(ev.Params, 0)]
		if u == nil {
			return
		}
		ch := s.channelFor(ev)
		if _, already := ch.members[u]; already {
			return
		}
		ch.members[u] = param(ev.Params, 1)
		if len(ch.members) == 1 {
			s.nonEmpty++
		}
		delete(u.invited, ch.key)
		if u.client != nil {
			ch.localCount++
		}
		u.channels[ch.key] = ch
		f.toChannel(ch)
		s.afterJoin(ch, u, f)
	case store.KindPart:
		u := s.sessions[param(ev.Params, 0)]
		ch := s.channels[store.Fold(ev.Target)]
		if u == nil || ch == nil {
			return
		}
		if _, member := ch.members[u]; !member {
			return
		}
		f.toChannel(ch)
		s.leave(u, ch)
	case store.KindKick:
		ch := s.channels[store.Fold(ev.Target)]
		victim := s.sessions[param(ev.Params, 1)] // Params: nick, session id
		if victim == nil && param(ev.Params, 1) == "" {
			victim = s.users[store.Fold(param(ev.Params, 0))] // logged before the id rode along
		}
		if ch == nil || victim == nil {
			return
		}
		if _, member := ch.members[victim]; !member {
			return
		}
		f.toChannel(ch)
		s.leave(victim, ch)
	case store.KindTopic:
		ch := s.channels[store.Fold(ev.Target)]
		if ch == nil {
			return
		}
		ch.topic = ev.Text
		ch.topicBy = ev.Sender
		ch.topicAt = ev.Time
		f.toChannel(ch)
	case kindKnock:
		s.applyKnock(ev)
	case kindInvite:
		to := s.users[store.Fold(ev.Target)]
		if to == nil {
			return
		}
		if to.invited == nil {
			to.invited = make(map[string]bool)
		}
		to.invited[store.Fold(param(ev.Params, 0))] = true
		f.to(to)
		s.inviteNotify(ev, to, f)
	case store.KindMode:
		if !store.IsChannel(ev.Target) {
			s.applyUserMode(ev, f)
			return
		}
		ch := s.channels[store.Fold(ev.Target)]
		if ch == nil {
			return
		}
		s.applyChannelModes(ch, ev)
		f.toChannel(ch)
	default:
		s.applyFeature(ev, op, f)
	}
}

// applyMessage delivers a PRIVMSG, NOTICE or TAGMSG: to a channel's
// members, to those with a prefix (STATUSMSG "@#chan"), or to one user.
func (s *Server) applyMessage(ev *store.Event, f *fanout) {
	s.noteActive(ev) // WHOIS idle time, the same on every node
	if ch, rank := s.statusTarget(ev.Target); ch != nil {
		f.toStatus(ch, rank)
		return
	}
	if store.IsChannel(ev.Target) {
		if ch := s.channels[store.Fold(ev.Target)]; ch != nil {
			f.toChannel(ch)
		}
		return
	}
	to := s.users[store.Fold(ev.Target)]
	if to != nil && to == f.except {
		// A message to oneself is delivered to its target like any
		// other; the origin's echo-message copy (the hook) is separate.
		f.except = nil
	}
	f.to(to)
}

// channelFor returns the channel an event names, creating it with the
// defaults a new channel gets (the creating node saved the same ones).
func (s *Server) channelFor(ev *store.Event) *channel {
	key := store.Fold(ev.Target)
	if ch := s.channels[key]; ch != nil {
		return ch
	}
	ch := &channel{name: ev.Target, key: key, modes: defaultChannelModes, created: ev.Time, members: make(map[*user]string)}
	s.channels[key] = ch
	return ch
}

const defaultChannelModes = "nt"

func (s *Server) applyNick(ev *store.Event, op *pendingOp, f *fanout) {
	switch param(ev.Params, 0) {
	case evRegister:
		sid := param(ev.Params, 1)
		if s.sessions[sid] != nil {
			return
		}
		var u *user
		if op != nil && op.origin != nil {
			u = op.origin // a local client registering
			s.nlocal++
		} else {
			nick, rest, _ := strings.Cut(ev.Sender, "!")
			ident, host, _ := strings.Cut(rest, "@")
			u = &user{sid: sid, node: ev.Node, nick: nick, ident: ident, host: host,
				realname: param(ev.Params, 2), acc: param(ev.Params, 3), since: ev.Time,
				channels: make(map[string]*channel)}
		}
		s.addSession(u)
		s.afterRegister(u)
	case evAccount:
		if u := s.sessions[param(ev.Params, 1)]; u != nil {
			u.acc = param(ev.Params, 2)
			s.afterAccount(u)
		}
	default:
		u := s.sessions[param(ev.Params, 0)]
		if u == nil {
			return
		}
		f.toPeers(u)
		s.beforeNickChange(u, ev)
		old := u.nick
		if cur := s.users[store.Fold(u.nick)]; cur == u {
			delete(s.users, store.Fold(u.nick))
		}
		u.nick = ev.Text
		s.users[store.Fold(u.nick)] = u
		if u.client != nil {
			nick := u.nick
			u.client.nick.Store(&nick)
		}
		s.afterNickChange(u, old)
	}
}

// leave removes u from ch. A channel whose last member leaves ceases to
// exist (RFC 2812 §1.3), as its row did in the transaction of this event:
// the next JOIN creates it afresh.
func (s *Server) leave(u *user, ch *channel) {
	delete(ch.members, u)
	if len(ch.members) == 0 {
		s.nonEmpty--
		if s.channels[ch.key] == ch {
			delete(s.channels, ch.key)
		}
	}
	delete(u.channels, ch.key)
	if u.client != nil {
		ch.localCount--
	}
}

func (s *Server) removeUser(u *user) {
	for _, ch := range u.channels {
		s.leave(u, ch)
	}
	if s.users[store.Fold(u.nick)] == u {
		delete(s.users, store.Fold(u.nick))
	}
	delete(s.sessions, u.sid)
	if s.nodeUsers[u.node]--; s.nodeUsers[u.node] <= 0 {
		delete(s.nodeUsers, u.node)
	}
	if u.client != nil {
		s.nlocal--
	}
}

// addSession indexes a user by nick and session. s.mu held.
func (s *Server) addSession(u *user) {
	s.users[store.Fold(u.nick)] = u
	s.sessions[u.sid] = u
	s.nodeUsers[u.node]++
}

// applyChannelModes applies a MODE change string (RFC 2812 §3.2.3) whose
// arguments were validated by the node that committed it.
func (s *Server) applyChannelModes(ch *channel, ev *store.Event) {
	for _, c := range modes.Channel.Parse(ev.Text, ev.Params) {
		add, m := c.Add, c.Mode
		switch m {
		case 'o', 'v':
			u := s.users[store.Fold(c.Arg)]
			if u == nil {
				continue
			}
			if cur, ok := ch.members[u]; ok {
				if add {
					ch.members[u] = modes.Add(cur, string(m))
				} else {
					ch.members[u] = modes.Remove(cur, string(m))
				}
			}
		case 'b', 'e', 'I':
			if add {
				ch.addMask(m, c.Arg, ev.Sender, ev.Time)
			} else {
				ch.delMask(m, c.Arg)
			}
		case 'k':
			if add {
				ch.chanKey = c.Arg
			} else {
				ch.chanKey = ""
			}
		case 'l':
			if add {
				ch.limit = atoi(c.Arg)
			} else {
				ch.limit = 0
			}
		default:
			if add {
				ch.modes = modes.Add(ch.modes, string(m))
			} else {
				ch.modes = modes.Remove(ch.modes, string(m))
			}
		}
	}
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || n > 1<<30 {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

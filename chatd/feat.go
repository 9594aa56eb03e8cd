package chatd

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/modes"
	"github.com/hachat/hachat/chatd/store"
)

// features is the node state behind the commands of this file's siblings
// (oper.go, monitor.go, whowas.go, presence.go). The fields marked "s.mu"
// are part of the world, guarded by it: the counters and WHOWAS are written
// only by the tailer, applying events, so every node derives the same
// values from the log; MONITOR's watch lists also by the MONITOR command.
type features struct {
	peakLocal, peakGlobal int                           // s.mu: the most users seen (LUSERS 265/266)
	invisible, opers      int                           // s.mu: users with user mode +i, +o
	monitors              map[string]map[*user]struct{} // s.mu: folded nick -> local watchers
	whowas                whowasRing                    // s.mu

	live     atomic.Pointer[liveConfig] // what REHASH replaces; nil = from cfg
	reloadMu sync.Mutex
	reload   func() (Config, error)
}

// liveConfig is the part of the configuration REHASH (or SIGHUP) reloads.
type liveConfig struct {
	motd      string
	operators []Operator
}

func (s *Server) liveConfig() *liveConfig {
	if lc := s.feat.live.Load(); lc != nil {
		return lc
	}
	lc := &liveConfig{motd: s.cfg.MOTD, operators: s.cfg.Operators}
	s.feat.live.CompareAndSwap(nil, lc)
	return s.feat.live.Load()
}

// SetReloader installs the function REHASH and Rehash use to read the
// configuration again (normally: parse the file chatd was started with).
func (s *Server) SetReloader(f func() (Config, error)) {
	s.feat.reloadMu.Lock()
	s.feat.reload = f
	s.feat.reloadMu.Unlock()
}

// Rehash reloads the operator list and the MOTD (SIGHUP, REHASH). Other
// settings need a restart.
func (s *Server) Rehash() error {
	s.feat.reloadMu.Lock()
	f := s.feat.reload
	s.feat.reloadMu.Unlock()
	if f == nil {
		return errNoReloader
	}
	cfg, err := f()
	if err != nil {
		return err
	}
	s.feat.live.Store(&liveConfig{motd: cfg.MOTD, operators: cfg.Operators})
	s.log.Info("rehashed", "operators", len(cfg.Operators))
	return nil
}

type rehashError string

func (e rehashError) Error() string { return string(e) }

const errNoReloader = rehashError("chatd: no configuration file to reload (started without -config)")

// --- hooks called by apply (s.mu held, tailer only) ---

// afterRegister runs once a user joined the world.
func (s *Server) afterRegister(u *user) {
	s.feat.peakGlobal = max(s.feat.peakGlobal, len(s.sessions))
	s.feat.peakLocal = max(s.feat.peakLocal, s.nlocal)
	s.monitorNotify(u, true)
}

// beforeRemove runs before a QUIT removes u: it records WHOWAS, tells
// MONITOR watchers, and disconnects a local client whose QUIT came from
// someone else (KILL, a reaper).
func (s *Server) beforeRemove(u *user, ev *store.Event, op *pendingOp) {
	s.feat.whowas.add(u, s.cfg.ServerName, ev.Time)
	s.forgetUser(u)
	if u.client != nil && (op == nil || op.origin != u) {
		u.client.close(ev.Text, discKilled)
	}
}

// forgetUser drops what this file keeps about a user leaving the world:
// its watchers hear it went offline, its own watches and modes go.
func (s *Server) forgetUser(u *user) {
	s.monitorNotify(u, false)
	s.setUserModes(u, "")
	for f := range u.monitoring {
		s.unmonitor(u, f)
	}
}

// beforeNickChange and afterNickChange bracket a nick change. A change
// of case only is the same nick to MONITOR: no 731/730.
func (s *Server) beforeNickChange(u *user, ev *store.Event) {
	s.feat.whowas.add(u, s.cfg.ServerName, ev.Time)
	if store.Fold(u.nick) != store.Fold(ev.Text) {
		s.monitorNotify(u, false)
	}
}

func (s *Server) afterNickChange(u *user, old string) {
	if store.Fold(old) != store.Fold(u.nick) {
		s.monitorNotify(u, true)
	}
}

// afterJoin tells away-notify members that the joining user is away
// (IRCv3 away-notify).
func (s *Server) afterJoin(ch *channel, u *user, f *fanout) {
	if u.away == "" || ch.localCount == 0 {
		return
	}
	var b []byte
	for m := range ch.members {
		if m == u || m.client == nil || !m.client.hasCap(capAwayNotify) {
			continue
		}
		if b == nil {
			b = mustBytes(irc.Message{Source: u.prefix(), Command: "AWAY", Params: []string{u.away}})
		}
		m.client.send(b)
	}
}

// afterAccount sends ACCOUNT to the peers with account-notify (and to
// extended-monitor watchers) when a user logs in or out.
func (s *Server) afterAccount(u *user) {
	acc := u.acc
	if acc == "" {
		acc = "*"
	}
	b := mustBytes(irc.Message{Source: u.prefix(), Command: "ACCOUNT", Params: []string{acc}})
	s.toPeersWithCap(u, capAccountNotify, func(capSet) []byte { return b }, nil)
}

// toPeersWithCap sends msg to every local user sharing a channel with u, or
// monitoring u with extended-monitor, who negotiated cp; except is skipped.
func (s *Server) toPeersWithCap(u *user, cp capSet, msg func(capSet) []byte, except *user) {
	seen := map[*user]struct{}{u: {}}
	if except != nil {
		seen[except] = struct{}{}
	}
	send := func(m *user) {
		if m.client == nil {
			return
		}
		if _, dup := seen[m]; dup {
			return
		}
		seen[m] = struct{}{}
		if caps := capSet(m.client.caps.Load()); caps&cp != 0 {
			if b := msg(caps); b != nil {
				m.client.send(b)
			}
		}
	}
	for _, ch := range u.channels {
		if ch.localCount == 0 {
			continue
		}
		for m := range ch.members {
			send(m)
		}
	}
	for w := range s.feat.monitors[store.Fold(u.nick)] {
		if w.client != nil && w.client.hasCap(capExtendedMonitor) {
			send(w)
		}
	}
}

// applyFeature applies the event kinds this file adds.
func (s *Server) applyFeature(ev *store.Event, op *pendingOp, f *fanout) {
	switch ev.Kind {
	case store.KindAway:
		u := s.sessions[param(ev.Params, 0)]
		if u == nil {
			return
		}
		u.away = ev.Text
		s.toPeersWithCap(u, capAwayNotify, f.mc.bytes, f.except)
	case store.KindSetname:
		u := s.sessions[param(ev.Params, 0)]
		if u == nil {
			return
		}
		u.realname = ev.Text
		s.toPeersWithCap(u, capSetname, f.mc.bytes, f.except)
	case store.KindWallops:
		for _, u := range s.sessions {
			if u.client != nil && u.hasMode('w') {
				if b := f.mc.bytes(capSet(u.client.caps.Load())); b != nil {
					u.client.send(b)
				}
			}
		}
	}
}

// applyUserMode applies a user MODE event (Target is the nick, Text the
// change) and shows it to the user.
func (s *Server) applyUserMode(ev *store.Event, f *fanout) {
	u := s.users[store.Fold(ev.Target)]
	if u == nil {
		return
	}
	s.setUserModes(u, userModesAfter(u.modes, ev.Text))
	f.to(u)
}

// userModesAfter is the user mode set after a change string ("+i-w").
func userModesAfter(set, change string) string {
	for _, c := range modes.User.Parse(change, nil) {
		if c.Add {
			set = modes.Add(set, string(c.Mode))
		} else {
			set = modes.Remove(set, string(c.Mode))
		}
	}
	return set
}

// setUserModes changes u's modes and the LUSERS counters.
func (s *Server) setUserModes(u *user, set string) {
	count := func(m string, sign int) {
		if strings.IndexByte(m, 'i') >= 0 {
			s.feat.invisible += sign
		}
		if strings.IndexByte(m, 'o') >= 0 {
			s.feat.opers += sign
		}
	}
	count(u.modes, -1)
	count(set, +1)
	u.modes = set
}

func mustBytes(m irc.Message) []byte {
	b, _ := m.Bytes()
	return b
}

// idleSeconds is WHOIS 317's idle time of a local user.
func (u *user) idleSeconds(now time.Time) int {
	last := u.lastActive.Load()
	if last == 0 {
		last = u.since.Unix()
	}
	return max(0, int(now.Unix()-last))
}

package chatd

import (
	"strings"

	"github.com/hachat/hachat/chatd/store"
)

// noteActive records that the sender of a PRIVMSG or NOTICE event was
// active at the event's time, so WHOIS (317) shows the idle time of a user
// on any node: every node applies every message, so every node knows when
// each user last spoke. A TAGMSG (a typing notice, a reaction) is not
// activity. The handler of a local user also records time.Now; the later
// of the two wins. s.mu held (the tailer).
func (s *Server) noteActive(ev *store.Event) {
	if ev.Kind == store.KindTagmsg {
		return
	}
	nick, _, _ := strings.Cut(ev.Sender, "!")
	u := s.users[store.Fold(nick)]
	if u == nil {
		return
	}
	if t := ev.Time.Unix(); t > u.lastActive.Load() {
		u.lastActive.Store(t)
	}
}

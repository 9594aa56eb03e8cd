package chatd

import (
	"strings"

	"github.com/hachat/hachat/chatd/irc"
	"github.com/hachat/hachat/chatd/store"
)

// maxMonitor bounds one client's MONITOR list (ISUPPORT MONITOR=100).
const maxMonitor = 100

// handleMonitor implements IRCv3 MONITOR (https://ircv3.net/specs/extensions/monitor).
// Watches are node-local, but the online/offline notices come from the
// registration, NICK and QUIT events every node applies, so a nick coming
// online on another node is seen here too.
func handleMonitor(c *Client, m irc.Message, r *response) {
	s := c.s
	u := c.u.Load()
	sub := strings.ToUpper(m.Params[0])
	s.mu.Lock()
	defer s.mu.Unlock()
	switch sub {
	case "+":
		if len(m.Params) < 2 {
			r.numeric(errNeedMoreParams, "MONITOR", "Not enough parameters")
			return
		}
		var on, off []string
		targets := strings.Split(m.Params[1], ",")
		for i, nick := range targets {
			if nick == "" {
				continue
			}
			f := store.Fold(nick)
			if _, dup := u.monitoring[f]; !dup {
				if len(u.monitoring) >= maxMonitor {
					r.numeric(errMonListFull, itoa(maxMonitor), strings.Join(targets[i:], ","), "Monitor list is full")
					break
				}
				s.monitor(u, f, nick)
			}
			if o := s.users[f]; o != nil {
				on = append(on, o.prefix())
			} else {
				off = append(off, nick)
			}
		}
		monitorReply(r, rplMonOnline, on)
		monitorReply(r, rplMonOffline, off)
	case "-":
		if len(m.Params) < 2 {
			r.numeric(errNeedMoreParams, "MONITOR", "Not enough parameters")
			return
		}
		for _, nick := range strings.Split(m.Params[1], ",") {
			s.unmonitor(u, store.Fold(nick))
		}
	case "C":
		for f := range u.monitoring {
			s.unmonitor(u, f)
		}
	case "L":
		var list []string
		for _, nick := range u.monitoring {
			list = append(list, nick)
		}
		monitorReply(r, rplMonList, list)
		r.numeric(rplEndOfMonList, "End of MONITOR list")
	case "S":
		var on, off []string
		for f, nick := range u.monitoring {
			if o := s.users[f]; o != nil {
				on = append(on, o.prefix())
			} else {
				off = append(off, nick)
			}
		}
		monitorReply(r, rplMonOnline, on)
		monitorReply(r, rplMonOffline, off)
	default:
		r.numeric(errUnknownCommand, "MONITOR", "Unknown MONITOR subcommand")
	}
}

// monitorReply sends targets in 730-732 lines kept under 512 bytes.
func monitorReply(r *response, code string, targets []string) {
	var line []string
	n := 0
	for _, t := range targets {
		if n+len(t)+1 > 400 && len(line) > 0 {
			r.numeric(code, strings.Join(line, ","))
			line, n = nil, 0
		}
		line = append(line, t)
		n += len(t) + 1
	}
	if len(line) > 0 {
		r.numeric(code, strings.Join(line, ","))
	}
}

// monitor and unmonitor change a watch. s.mu held (write).
func (s *Server) monitor(u *user, folded, nick string) {
	if u.monitoring == nil {
		u.monitoring = make(map[string]string)
	}
	u.monitoring[folded] = nick
	if s.feat.monitors == nil {
		s.feat.monitors = make(map[string]map[*user]struct{})
	}
	ws := s.feat.monitors[folded]
	if ws == nil {
		ws = make(map[*user]struct{})
		s.feat.monitors[folded] = ws
	}
	ws[u] = struct{}{}
}

func (s *Server) unmonitor(u *user, folded string) {
	delete(u.monitoring, folded)
	if ws := s.feat.monitors[folded]; ws != nil {
		delete(ws, u)
		if len(ws) == 0 {
			delete(s.feat.monitors, folded)
		}
	}
}

// monitorNotify tells u's watchers it came online (730) or went offline
// (731). Called by the tailer, s.mu held.
func (s *Server) monitorNotify(u *user, online bool) {
	ws := s.feat.monitors[store.Fold(u.nick)]
	if len(ws) == 0 {
		return
	}
	code, arg := rplMonOffline, u.nick
	if online {
		code, arg = rplMonOnline, u.prefix()
	}
	for w := range ws {
		if w.client != nil && w != u {
			w.client.sendMsg(s.numeric(w.client, code, arg))
		}
	}
}

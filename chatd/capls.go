package chatd

import (
	"strings"

	"github.com/hachat/hachat/chatd/irc"
)

// capLines is a CAP LS or LIST reply (IRCv3 capability negotiation): one
// message for a client before CAP 302, which would not understand more;
// for a 302 client as many as the 512-byte line needs, every one but the
// last marked "*".
func capLines(server, nick, sub string, names []string, v302 bool) []irc.Message {
	msg := func(ps ...string) irc.Message {
		return irc.Message{Source: server, Command: "CAP", Params: append([]string{nick, sub}, ps...)}
	}
	if !v302 {
		return []irc.Message{msg(strings.Join(names, " "))}
	}
	room := 512 - len(":"+server+" CAP "+nick+" "+sub+" * :\r\n")
	lines := packWords(names, room)
	out := make([]irc.Message, 0, len(lines))
	for i, l := range lines {
		if i < len(lines)-1 {
			out = append(out, msg("*", strings.Join(l, " ")))
		} else {
			out = append(out, msg(strings.Join(l, " ")))
		}
	}
	return out
}

func (r *response) capReply(sub string, names []string) {
	c := r.c
	for _, m := range capLines(c.s.cfg.ServerName, c.nickOrStar(), sub, names, c.capVersion >= 302) {
		r.add(m)
	}
}

package chatd

import (
	"sort"
	"strings"

	"github.com/hachat/hachat/chatd/irc"
)

// HELP and HELPOP (https://modern.ircdocs.horse/#help-message): the topic
// is a command name, answered 704 (first line), 705 (more), 706 (end); an
// unknown topic gets 524. Without a topic, the index of commands.

const (
	errHelpNotFound = "524" // "<client> <subject> :No help available on this topic"
	rplHelpStart    = "704" // "<client> <subject> :<first line of help section>"
	rplHelpTxt      = "705" // "<client> <subject> :<line of help text>"
	rplEndOfHelp    = "706" // "<client> <subject> :<last line of help text>"
)

// helpTopics are one or two lines of usage per command. Every command in the
// dispatch table has one (a test keeps it so).
var helpTopics = map[string][]string{
	"ADMIN":        {"ADMIN [<server>]", "Shows who runs this server."},
	"AUTHENTICATE": {"AUTHENTICATE <mechanism>|<data>", "SASL login (IRCv3 sasl); PLAIN is offered."},
	"AWAY":         {"AWAY [:<message>]", "Marks you away with a message; without one, back."},
	"BATCH":        {"BATCH +<ref> draft/multiline <target> | BATCH -<ref>", "Sends the PRIVMSGs tagged batch=<ref> between them as one message (IRCv3 draft/multiline)."},
	"CAP":          {"CAP LS [302] | LIST | REQ :<caps> | END", "IRCv3 capability negotiation."},
	"CHATHISTORY":  {"CHATHISTORY LATEST|BEFORE|AFTER|AROUND|BETWEEN|TARGETS ...", "Replays history (IRCv3 draft/chathistory)."},
	"HELP":         {"HELP [<command>]", "Shows how to use a command; without one, the list."},
	"HELPOP":       {"HELPOP [<command>]", "The same as HELP."},
	"INFO":         {"INFO [<server>]", "Describes this server software."},
	"INVITE":       {"INVITE [<nick> <channel>]", "Invites a user; without arguments, lists your invitations."},
	"ISON":         {"ISON <nick> [<nick>...]", "Tells which of the nicks are online."},
	"JOIN":         {"JOIN <channel>[,<channel>...] [<key>[,<key>...]]", "Joins channels; JOIN 0 parts them all."},
	"KICK":         {"KICK <channel> <nick>[,<nick>...] [:<reason>]", "Removes users from a channel (channel operators)."},
	"KILL":         {"KILL <nick> [:<reason>]", "Disconnects a user (IRC operators)."},
	"KNOCK":        {"KNOCK <channel>", "Asks the operators of a +i, +k or full +l channel for an invitation."},
	"LINKS":        {"LINKS [[<server>] <mask>]", "Lists the servers of this network."},
	"LIST":         {"LIST [<channel>[,<channel>...]] [<ELIST condition>]", "Lists channels (ISUPPORT ELIST: C, M, N, T, U)."},
	"LUSERS":       {"LUSERS", "Counts users, operators and channels."},
	"MODE":         {"MODE <channel>|<nick> [<modes> [<args>...]]", "Shows or changes channel modes or your user modes (+i, +w, +B)."},
	"MONITOR":      {"MONITOR +|-<nick>[,...] | C | L | S", "Tells you when nicks come online or go offline."},
	"MOTD":         {"MOTD [<server>]", "Shows the message of the day."},
	"NAMES":        {"NAMES [<channel>[,<channel>...]]", "Lists the members of channels."},
	"NICK":         {"NICK <nick>", "Sets or changes your nick."},
	"NOTICE":       {"NOTICE <target>[,<target>...] :<text>", "Like PRIVMSG; never answered automatically."},
	"OPER":         {"OPER <name> <password>", "Makes you an IRC operator."},
	"PART":         {"PART <channel>[,<channel>...] [:<reason>]", "Leaves channels."},
	"PASS":         {"PASS <password>", "The server password, sent before NICK and USER."},
	"PING":         {"PING <token>", "The server answers PONG <token>."},
	"PONG":         {"PONG <token>", "The answer to the server's PING."},
	"PRIVMSG":      {"PRIVMSG <target>[,<target>...] :<text>", "Sends a message to users or channels (@#chan: its operators)."},
	"QUIT":         {"QUIT [:<reason>]", "Disconnects you."},
	"REGISTER":     {"REGISTER <account>|* <email>|* <password>", "Creates an account (IRCv3 draft/account-registration)."},
	"REHASH":       {"REHASH", "Reloads operators and the MOTD (IRC operators)."},
	"SETNAME":      {"SETNAME :<realname>", "Changes your realname (IRCv3 setname)."},
	"STATS":        {"STATS <letter> [<server>]", "Server statistics: u is the uptime."},
	"TAGMSG":       {"TAGMSG <target>", "Sends only client tags (IRCv3 message-tags)."},
	"TIME":         {"TIME [<server>]", "Shows the server's time."},
	"TOPIC":        {"TOPIC <channel> [:<topic>]", "Shows or sets a channel topic."},
	"USER":         {"USER <username> 0 * :<realname>", "Registers your connection, with NICK."},
	"USERHOST":     {"USERHOST <nick> [<nick>...]", "Shows users' hosts and away status."},
	"VERSION":      {"VERSION [<server>]", "Shows the server version and ISUPPORT."},
	"WALLOPS":      {"WALLOPS :<text>", "Messages users with mode +w (IRC operators)."},
	"WHO":          {"WHO <mask>|<channel> [%<fields>[,<token>]]", "Lists users (WHOX fields after %)."},
	"WHOIS":        {"WHOIS <nick>", "Shows who a user is."},
	"WHOWAS":       {"WHOWAS <nick> [<count>]", "Shows who used a nick before."},
}

// handleHelp is HELP [<subject>] and HELPOP [<subject>].
func handleHelp(c *Client, m irc.Message, r *response) {
	word, _, _ := strings.Cut(strings.TrimLeft(m.Param(0), ":"), " ")
	subject := strings.ToUpper(word)
	if subject == "" {
		names := make([]string, 0, len(helpTopics))
		for name := range helpTopics {
			names = append(names, name)
		}
		sort.Strings(names)
		r.numeric(rplHelpStart, "*", "Commands (HELP <command> for one):")
		for len(names) > 0 {
			n := min(len(names), 10)
			r.numeric(rplHelpTxt, "*", strings.Join(names[:n], " "))
			names = names[n:]
		}
		r.numeric(rplEndOfHelp, "*", "End of /HELP")
		return
	}
	lines, ok := helpTopics[subject]
	if !ok {
		r.numeric(errHelpNotFound, word, "No help available on this topic")
		return
	}
	r.numeric(rplHelpStart, subject, lines[0])
	for _, l := range lines[1:] {
		r.numeric(rplHelpTxt, subject, l)
	}
	r.numeric(rplEndOfHelp, subject, "End of /HELP")
}

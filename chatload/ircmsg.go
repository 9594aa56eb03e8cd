package chatload

import "github.com/hachat/hachat/chatd/irc"

// Message is one IRC protocol line: chatd/irc's, so the server and the load
// generator share one parser and one serializer (RFC 1459 §2.3.1 with IRCv3
// message tags). Tags keep their wire order; Tag returns the last occurrence,
// as message-tags §Rules says.
type Message = irc.Message

// Tag is one IRCv3 message tag. Value is unescaped; an absent value and an
// empty value are the same thing per the message-tags spec.
type Tag = irc.Tag

// Errors returned by ParseMessage.
var (
	ErrEmptyLine      = irc.ErrEmpty
	ErrMissingCommand = irc.ErrNoCommand
	ErrBadCommand     = irc.ErrBadCommand
)

// ParseMessage parses one line from a server, with or without its trailing
// CR LF, leniently (irc.ParseLenient): a load generator measures servers,
// it does not police them.
func ParseMessage(line string) (Message, error) { return irc.ParseLenient(line) }

// wireString returns m's wire form without CR LF, unchecked: a load
// generator sends and reports what it is told to.
func wireString(m *Message) string {
	b := m.AppendUnchecked(nil)
	return string(b[:len(b)-2])
}

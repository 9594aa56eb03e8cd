package chatload

import (
	"errors"
	"strings"

	"github.com/hachat/hachat/chatd/irc"
)

// Message is one IRC protocol line, as laid out in RFC 1459 §2.3.1 and
// extended by IRCv3 message tags:
//
//	['@' tags SPACE] [':' source SPACE] command *( SPACE param ) [SPACE ':' trailing] CRLF
//
// Tags keep their wire order so that Marshal(Parse(x)) is stable. It is pure
// data: no I/O happens here.
type Message struct {
	Tags    []Tag
	Source  string
	Command string
	Params  []string
}

// Tag is one IRCv3 message tag (chatd/irc's). Value is unescaped; an absent
// value and an empty value are the same thing per the message-tags spec.
type Tag = irc.Tag

// Errors returned by ParseMessage.
var (
	ErrEmptyLine      = errors.New("irc: empty line")
	ErrMissingCommand = errors.New("irc: missing command")
	ErrBadCommand     = errors.New("irc: command is not a word or numeric")
)

// ParseMessage parses one line with or without its trailing CR LF.
func ParseMessage(line string) (Message, error) {
	line = strings.TrimRight(line, "\r\n")
	var m Message
	line = strings.TrimLeft(line, " ")
	if line == "" {
		return m, ErrEmptyLine
	}
	if line[0] == '@' {
		var tags string
		tags, line = cutSpace(line[1:])
		for _, t := range strings.Split(tags, ";") {
			if t == "" {
				continue
			}
			k, v, _ := strings.Cut(t, "=")
			if k == "" {
				continue // a tag without a key carries nothing
			}
			m.Tags = append(m.Tags, Tag{Key: k, Value: unescapeTag(v)})
		}
	}
	if line != "" && line[0] == ':' {
		m.Source, line = cutSpace(line[1:])
	}
	m.Command, line = cutSpace(line)
	if m.Command == "" {
		return Message{}, ErrMissingCommand
	}
	for i := 0; i < len(m.Command); i++ {
		if c := m.Command[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return Message{}, ErrBadCommand
		}
	}
	m.Command = strings.ToUpper(m.Command)
	for line != "" {
		if line[0] == ':' {
			m.Params = append(m.Params, line[1:])
			break
		}
		var p string
		p, line = cutSpace(line)
		m.Params = append(m.Params, p)
	}
	return m, nil
}

// cutSpace splits at the first space and drops the run of spaces after it,
// since RFC 1459 allows several spaces between parameters.
func cutSpace(s string) (head, rest string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i+1:], " ")
}

// Tag returns the value of tag key and whether it is present.
func (m Message) Tag(key string) (string, bool) {
	for _, t := range m.Tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return "", false
}

// Param returns parameter i or "" when there is none.
func (m Message) Param(i int) string {
	if i < len(m.Params) {
		return m.Params[i]
	}
	return ""
}

// Last returns the last parameter (the trailing one, usually) or "".
func (m Message) Last() string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

// Nick returns the nickname part of the source (nick!user@host).
func (m Message) Nick() string {
	n, _, _ := strings.Cut(m.Source, "!")
	n, _, _ = strings.Cut(n, "@")
	return n
}

// Append appends the wire form of m, with CR LF, to dst. The last parameter
// gets the ':' prefix when it needs one (empty, has a space, starts with ':').
// The serializer is chatd/irc's, without its checks: a load generator sends
// what it is told to.
func (m Message) Append(dst []byte) []byte {
	return (*irc.Message)(&m).AppendUnchecked(dst)
}

// String returns the wire form without CR LF.
func (m Message) String() string {
	b := m.Append(nil)
	return string(b[:len(b)-2])
}

// The tag escaping is chatd/irc's: one implementation of message-tags
// §Escaping values for the server and the load generator.
var unescapeTag = irc.UnescapeTag

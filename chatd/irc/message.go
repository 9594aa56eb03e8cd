package irc

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Length limits from the specifications. The body limit (RFC 1459 §2.3) counts
// the trailing CRLF; the tag limit (IRCv3 message-tags §Size limits) counts the
// leading '@' and the trailing space.
const (
	MaxBodyBytes = 512
	MaxTagBytes  = 4096
	// MaxParams is the parameter count RFC 2812 §2.3.1 allows (14 middle plus
	// one trailing).
	MaxParams = 15
)

// Errors returned by Parse. Each one is a reason a line is dropped, so a server
// can count them and answer with the right numeric.
var (
	ErrEmpty         = errors.New("irc: empty line")
	ErrNoCommand     = errors.New("irc: missing command")
	ErrBadCommand    = errors.New("irc: command is not a word or a 3-digit numeric")
	ErrBadTags       = errors.New("irc: malformed tags")
	ErrBadSource     = errors.New("irc: malformed source")
	ErrTooManyParams = errors.New("irc: more than 15 parameters")
	ErrControlChar   = errors.New("irc: NUL, CR or LF inside a line")
	ErrInvalidUTF8   = errors.New("irc: invalid UTF-8")
	ErrBodyTooLong   = errors.New("irc: message body longer than 512 bytes")
	ErrTagsTooLong   = errors.New("irc: tags longer than 4096 bytes")
)

// Tag is one message tag. Value is unescaped. A tag without a value and a tag
// with an empty value are the same thing on the wire (message-tags §Rules), so
// Value == "" serializes as a bare key.
type Tag struct {
	Key   string
	Value string
}

// Message is one IRC message. Params holds every parameter, the trailing one
// included; the serializer decides when the last one needs a ':'.
type Message struct {
	Tags    []Tag
	Source  string
	Command string
	Params  []string
}

// Tag returns the value of the last tag named key, per message-tags §Rules
// ("the last occurrence wins"), and whether it was present.
func (m *Message) Tag(key string) (string, bool) {
	for i := len(m.Tags) - 1; i >= 0; i-- {
		if m.Tags[i].Key == key {
			return m.Tags[i].Value, true
		}
	}
	return "", false
}

// Param returns the i'th parameter or "" when there are fewer.
func (m *Message) Param(i int) string {
	if i < len(m.Params) {
		return m.Params[i]
	}
	return ""
}

// Parse parses one line without its CRLF (a trailing CR or LF is tolerated and
// stripped). It enforces the byte limits above and requires valid UTF-8 in the
// body, since every client this server speaks to sends UTF-8 (modern.ircdocs
// §Character Encodings) and history must store text, not bytes.
func Parse(line string) (Message, error) { return parse(line, false) }

// ParseLenient parses one line as a client must take what a server sends:
// no length limits, no UTF-8 or parameter-count check, a command of any
// letters or digits, and a tag whose key is malformed skipped rather than the
// line refused. Tags keep their wire order; Tag returns the last occurrence.
// It is what the load generator (chatload) reads servers with.
func ParseLenient(line string) (Message, error) { return parse(line, true) }

func parse(line string, lenient bool) (Message, error) {
	line = strings.TrimRight(line, "\r\n")
	if !lenient {
		if strings.ContainsAny(line, "\x00\r\n") {
			return Message{}, ErrControlChar
		}
		if !utf8.ValidString(line) {
			return Message{}, ErrInvalidUTF8
		}
	}
	var m Message
	if lenient {
		line = trimSpaces(line)
	}
	if strings.HasPrefix(line, "@") {
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			return Message{}, ErrNoCommand
		}
		if end+1 > MaxTagBytes && !lenient {
			return Message{}, ErrTagsTooLong
		}
		tags, err := parseTags(line[1:end], lenient)
		if err != nil {
			return Message{}, err
		}
		m.Tags = tags
		line = trimSpaces(line[end:])
	}
	// The body limit includes CRLF, which the caller already removed.
	if len(line)+2 > MaxBodyBytes && !lenient {
		return Message{}, ErrBodyTooLong
	}
	if line == "" {
		if m.Tags != nil {
			return Message{}, ErrNoCommand
		}
		return Message{}, ErrEmpty
	}
	if line[0] == ':' {
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			return Message{}, ErrNoCommand
		}
		m.Source = line[1:end]
		if m.Source == "" {
			return Message{}, ErrBadSource
		}
		line = trimSpaces(line[end:])
	}
	cmd, rest, _ := strings.Cut(line, " ")
	if cmd == "" {
		return Message{}, ErrNoCommand
	}
	if !validCommand(cmd) && !(lenient && alnum(cmd)) {
		return Message{}, ErrBadCommand
	}
	m.Command = strings.ToUpper(cmd)
	for rest = trimSpaces(rest); rest != ""; rest = trimSpaces(rest) {
		if len(m.Params) == MaxParams && !lenient {
			return Message{}, ErrTooManyParams
		}
		if rest[0] == ':' {
			m.Params = append(m.Params, rest[1:])
			break
		}
		var p string
		p, rest, _ = strings.Cut(rest, " ")
		m.Params = append(m.Params, p)
	}
	return m, nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// Last returns the last parameter (usually the trailing one), or "".
func (m *Message) Last() string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

// Nick returns the nickname part of the source (nick!user@host).
func (m *Message) Nick() string {
	n, _, _ := strings.Cut(m.Source, "!")
	n, _, _ = strings.Cut(n, "@")
	return n
}

func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

// validCommand accepts a word of letters, digits and '_' (RFC 2812 §2.3.1
// has "1*letter / 3digit"; servers answer 421 to any other word, so names
// like FOO_BAR must parse to get it).
func validCommand(c string) bool {
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !isDigit(b) && b != '_' && (b|0x20 < 'a' || b|0x20 > 'z') {
			return false
		}
	}
	return true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

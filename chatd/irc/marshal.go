package irc

import (
	"errors"
	"strings"
)

// ErrUnencodable reports a Message that has no wire form: an empty command, a
// non-final parameter that is empty, starts with ':' or holds a space, or any
// field with NUL, CR or LF.
var ErrUnencodable = errors.New("irc: message cannot be serialized")

// Append appends the wire form of m, CRLF included, to dst. It does not enforce
// the length limits: a server may send long lines to clients that negotiated
// them, and truncation is the caller's policy.
func (m *Message) Append(dst []byte) ([]byte, error) {
	if err := m.check(); err != nil {
		return dst, err
	}
	return m.AppendUnchecked(dst), nil
}

// AppendUnchecked appends the wire form of m, with CR LF, without the checks
// of Append: for a client that must send whatever it was given (the load
// generator) and does its own validation.
func (m *Message) AppendUnchecked(dst []byte) []byte {
	if len(m.Tags) > 0 {
		dst = append(dst, '@')
		for i, t := range m.Tags {
			if i > 0 {
				dst = append(dst, ';')
			}
			dst = append(dst, t.Key...)
			if t.Value != "" {
				dst = append(dst, '=')
				dst = AppendEscapedTag(dst, t.Value)
			}
		}
		dst = append(dst, ' ')
	}
	if m.Source != "" {
		dst = append(dst, ':')
		dst = append(dst, m.Source...)
		dst = append(dst, ' ')
	}
	dst = append(dst, m.Command...)
	for i, p := range m.Params {
		dst = append(dst, ' ')
		if i == len(m.Params)-1 && needsTrailing(p) {
			dst = append(dst, ':')
		}
		dst = append(dst, p...)
	}
	return append(dst, '\r', '\n')
}

// Bytes is Append onto a fresh slice.
func (m *Message) Bytes() ([]byte, error) {
	return m.Append(make([]byte, 0, 64+len(m.Source)+len(m.Command)+paramLen(m.Params)))
}

// String returns the wire form without CRLF, or "" when m is unencodable.
func (m *Message) String() string {
	b, err := m.Bytes()
	if err != nil {
		return ""
	}
	return string(b[:len(b)-2])
}

func paramLen(ps []string) int {
	n := 0
	for _, p := range ps {
		n += len(p) + 2
	}
	return n
}

func needsTrailing(p string) bool {
	return p == "" || p[0] == ':' || strings.IndexByte(p, ' ') >= 0
}

func (m *Message) check() error {
	if m.Command == "" || !validCommand(m.Command) {
		return ErrUnencodable
	}
	if m.Source != "" && strings.ContainsAny(m.Source, " \x00\r\n") {
		return ErrUnencodable
	}
	for _, t := range m.Tags {
		if !validTagKey(t.Key) {
			return ErrUnencodable
		}
	}
	for i, p := range m.Params {
		if strings.ContainsAny(p, "\x00\r\n") {
			return ErrUnencodable
		}
		if i < len(m.Params)-1 && needsTrailing(p) {
			return ErrUnencodable
		}
	}
	return nil
}

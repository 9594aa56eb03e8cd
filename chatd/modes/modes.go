// Package modes parses and renders IRC mode strings as MODE carries them
// (RFC 2812 §3.1.5 and §3.2.3; https://modern.ircdocs.horse/#mode-message):
// "+o-k+l nick key 10" is a list of Changes. Pure data: what a change means
// for a channel (who may make it, whether it changes anything) is the
// server's business.
package modes

import (
	"sort"
	"strings"
)

// Change is one letter of a mode string with its argument, if any.
type Change struct {
	Add    bool
	Mode   byte
	Arg    string
	HasArg bool
}

// Type is how a mode letter takes its argument (ISUPPORT CHANMODES types
// A-D, and PREFIX).
type Type int

// Mode letter types.
const (
	Unknown Type = iota
	List         // A: a mask to add or remove; none to list (b, e, I)
	Always       // B: an argument to set and to unset (k; chatd ignores it when unsetting)
	SetOnly      // C: an argument to set only (l)
	Flag         // D: never an argument (i, m, n, s, t)
	Member       // PREFIX: a nick (o, v)
)

// Spec is a set of mode letters by type.
type Spec struct {
	Lists, Always, SetOnly, Flags, Members string
}

// Channel is chatd's channel modes; User its user modes.
var (
	Channel = Spec{Lists: "beI", Always: "k", SetOnly: "l", Flags: "imnst", Members: "ov"}
	User    = Spec{Flags: "Biow"} // B: bot (IRCv3 bot-mode)
)

// Type returns the type of mode letter m.
func (s Spec) Type(m byte) Type {
	switch {
	case strings.IndexByte(s.Lists, m) >= 0:
		return List
	case strings.IndexByte(s.Always, m) >= 0:
		return Always
	case strings.IndexByte(s.SetOnly, m) >= 0:
		return SetOnly
	case strings.IndexByte(s.Flags, m) >= 0:
		return Flag
	case strings.IndexByte(s.Members, m) >= 0:
		return Member
	}
	return Unknown
}

// Chanmodes is the ISUPPORT CHANMODES value.
func (s Spec) Chanmodes() string {
	return s.Lists + "," + s.Always + "," + s.SetOnly + "," + s.Flags
}

// TakesArg reports whether letter m consumes an argument when added (add)
// or removed, if one is there.
func (s Spec) TakesArg(m byte, add bool) bool {
	switch s.Type(m) {
	case List, Always, Member:
		return true
	case SetOnly:
		return add
	}
	return false
}

// Parse splits modes and its arguments into changes, in order. A letter
// that takes an argument gets the next one (HasArg false when they ran
// out: for a List letter that is a query). Unknown letters are returned
// too, without an argument, for the caller to report (ERR_UNKNOWNMODE).
// A string without a leading sign adds, as servers do.
func (s Spec) Parse(modes string, args []string) []Change {
	var out []Change
	add := true
	for i := 0; i < len(modes); i++ {
		m := modes[i]
		switch m {
		case '+':
			add = true
			continue
		case '-':
			add = false
			continue
		}
		c := Change{Add: add, Mode: m}
		if s.TakesArg(m, add) && len(args) > 0 {
			c.Arg, c.HasArg = args[0], true
			args = args[1:]
		}
		out = append(out, c)
	}
	return out
}

// Render returns the canonical mode string ("+o-k") of cs and the
// arguments in order.
func Render(cs []Change) (string, []string) {
	var b []byte
	var args []string
	sign := byte(0)
	for _, c := range cs {
		want := byte('-')
		if c.Add {
			want = '+'
		}
		if sign != want {
			b = append(b, want)
			sign = want
		}
		b = append(b, c.Mode)
		if c.HasArg {
			args = append(args, c.Arg)
		}
	}
	return string(b), args
}

// Add merges letters into set, a sorted string of distinct letters.
func Add(set, letters string) string {
	for i := 0; i < len(letters); i++ {
		if strings.IndexByte(set, letters[i]) < 0 {
			set += letters[i : i+1]
		}
	}
	b := []byte(set)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// Remove drops letters from set.
func Remove(set, letters string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(letters, r) {
			return -1
		}
		return r
	}, set)
}

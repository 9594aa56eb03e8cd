package chatload

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMessageGolden(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Message
		err  error
	}{
		{
			name: "RFC1459 welcome numeric",
			line: ":irc.example 001 alice :Welcome to the network alice\r\n",
			want: Message{Source: "irc.example", Command: "001", Params: []string{"alice", "Welcome to the network alice"}},
		},
		{
			name: "tags with escapes, ircv3 message-tags",
			line: `@msgid=abc;time=2026-11-27T07:00:00.000Z;+x=a\sb\:c\\d\ :bob!b@h PRIVMSG #c :hi there`,
			want: Message{
				Tags: []Tag{
					{Key: "msgid", Value: "abc"},
					{Key: "time", Value: "2026-11-27T07:00:00.000Z"},
					{Key: "+x", Value: `a b;c\d`},
				},
				Source: "bob!b@h", Command: "PRIVMSG", Params: []string{"#c", "hi there"},
			},
		},
		{
			name: "valueless tag and lowercase command",
			line: "@batch ping token",
			want: Message{Tags: []Tag{{Key: "batch"}}, Command: "PING", Params: []string{"token"}},
		},
		{
			name: "multiple spaces between params",
			line: "CAP  *   LS :a b c",
			want: Message{Command: "CAP", Params: []string{"*", "LS", "a b c"}},
		},
		{
			name: "empty trailing",
			line: "TOPIC #c :",
			want: Message{Command: "TOPIC", Params: []string{"#c", ""}},
		},
		{
			name: "a repeated tag: the last occurrence wins (message-tags §Rules)",
			line: "@a=1;a=2 PING x",
			want: Message{Tags: []Tag{{Key: "a", Value: "1"}, {Key: "a", Value: "2"}}, Command: "PING", Params: []string{"x"}},
		},
		{
			name: "lenient: a malformed tag key is skipped, not the line",
			line: "@=x;ok=1;b@d=2 :s NOTICE * :hi",
			want: Message{Tags: []Tag{{Key: "ok", Value: "1"}}, Source: "s", Command: "NOTICE", Params: []string{"*", "hi"}},
		},
		{name: "empty", line: "\r\n", err: ErrEmptyLine},
		{name: "only source", line: ":src", err: ErrMissingCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMessage(tt.line)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMessage(%q) (-want +got):\n%s", tt.line, diff)
			}
			if v, ok := got.Tag("a"); ok && v != "2" {
				t.Errorf("Tag(a) = %q, want the last occurrence", v)
			}
		})
	}
}

func TestMessageAppendGolden(t *testing.T) {
	m := Message{
		Tags:    []Tag{{Key: "msgid", Value: "x;y z"}, {Key: "draft/flag"}},
		Source:  "a!b@c",
		Command: "PRIVMSG",
		Params:  []string{"#chan", ":starts with colon"},
	}
	want := "@msgid=x\\:y\\sz;draft/flag :a!b@c PRIVMSG #chan ::starts with colon\r\n"
	if got := string(m.AppendUnchecked(nil)); got != want {
		t.Errorf("Append = %q, want %q", got, want)
	}
}

// FuzzMessageRoundTrip checks that any line that parses re-encodes to a line
// that parses to the same message.
func FuzzMessageRoundTrip(f *testing.F) {
	for _, s := range []string{
		":irc.example 001 alice :Welcome",
		`@a=b\sc;d :x PRIVMSG #c :hi`,
		"BATCH +1 chathistory #c",
		"@+x=\\ PING :",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n\x00") {
			return // a line never carries these: the reader splits on LF
		}
		m, err := ParseMessage(line)
		if err != nil {
			return
		}
		wire := m.AppendUnchecked(nil)
		m2, err := ParseMessage(string(wire))
		if err != nil {
			t.Fatalf("re-parse of %q (from %q): %v", wire, line, err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip of %q via %q (-first +second):\n%s", line, wire, diff)
		}
	})
}

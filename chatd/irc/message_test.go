package irc

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Message
		err  error
	}{
		{name: "bare command", line: "PING", want: Message{Command: "PING"}},
		{name: "lowercase command is uppercased", line: "privmsg #a :hi", want: Message{Command: "PRIVMSG", Params: []string{"#a", "hi"}}},
		{name: "CRLF stripped", line: "PING x\r\n", want: Message{Command: "PING", Params: []string{"x"}}},
		{name: "source", line: ":nick!u@h PRIVMSG #c :hello world", want: Message{Source: "nick!u@h", Command: "PRIVMSG", Params: []string{"#c", "hello world"}}},
		{name: "empty trailing", line: "TOPIC #c :", want: Message{Command: "TOPIC", Params: []string{"#c", ""}}},
		{name: "trailing with colon", line: "PRIVMSG #c ::-)", want: Message{Command: "PRIVMSG", Params: []string{"#c", ":-)"}}},
		{name: "extra spaces", line: "NICK   bob  ", want: Message{Command: "NICK", Params: []string{"bob"}}},
		{name: "numeric", line: ":srv 001 bob :Welcome", want: Message{Source: "srv", Command: "001", Params: []string{"bob", "Welcome"}}},
		{
			// message-tags §Examples
			name: "tags with escapes",
			line: `@aaa=bbb;ccc;example.com/ddd=eee;+fff=a\:b\sc\\d\r\n :nick!ident@host.com PRIVMSG me :Hello`,
			want: Message{
				Tags:    []Tag{{"aaa", "bbb"}, {"ccc", ""}, {"example.com/ddd", "eee"}, {"+fff", "a;b c\\d\r\n"}},
				Source:  "nick!ident@host.com",
				Command: "PRIVMSG",
				Params:  []string{"me", "Hello"},
			},
		},
		{name: "unknown escape drops backslash", line: `@a=\b\ PING`, want: Message{Tags: []Tag{{"a", "b"}}, Command: "PING"}},
		{name: "fifteen params", line: "X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16", want: Message{Command: "X", Params: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16"}}},
		{name: "sixteen params", line: "X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", err: ErrTooManyParams},
		{name: "empty", line: "", err: ErrEmpty},
		{name: "spaces only", line: "   ", err: ErrNoCommand},
		{name: "tags only", line: "@a=b ", err: ErrNoCommand},
		{name: "tags without space", line: "@a=b", err: ErrNoCommand},
		{name: "empty tags", line: "@ PING", err: ErrBadTags},
		{name: "bad tag key", line: "@a_b=c PING", err: ErrBadTags},
		{name: "source only", line: ":nick", err: ErrNoCommand},
		{name: "empty source", line: ": PING", err: ErrBadSource},
		{name: "bad command", line: "PRIV-MSG x", err: ErrBadCommand},
		{name: "punctuation in command", line: "PRIV.MSG x", err: ErrBadCommand},
		{name: "NUL", line: "PRIVMSG #a :a\x00b", err: ErrControlChar},
		{name: "bare CR inside", line: "PRIVMSG #a :a\rb", err: ErrControlChar},
		{name: "invalid UTF-8", line: "PRIVMSG #a :\xff\xfe", err: ErrInvalidUTF8},
		{name: "body 510 bytes", line: "PRIVMSG #a :" + strings.Repeat("x", 510-12), want: Message{Command: "PRIVMSG", Params: []string{"#a", strings.Repeat("x", 510-12)}}},
		{name: "body 511 bytes", line: "PRIVMSG #a :" + strings.Repeat("x", 511-12), err: ErrBodyTooLong},
		{name: "tags 4096 bytes", line: "@a=" + strings.Repeat("x", 4096-4) + " PING", want: Message{Tags: []Tag{{"a", strings.Repeat("x", 4096-4)}}, Command: "PING"}},
		{name: "tags 4097 bytes", line: "@a=" + strings.Repeat("x", 4096-3) + " PING", err: ErrTagsTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.line)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse error = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
		err  error
	}{
		{name: "simple", msg: Message{Command: "PING", Params: []string{"x"}}, want: "PING x\r\n"},
		{name: "trailing with space", msg: Message{Source: "a!b@c", Command: "PRIVMSG", Params: []string{"#c", "hi there"}}, want: ":a!b@c PRIVMSG #c :hi there\r\n"},
		{name: "empty trailing", msg: Message{Command: "TOPIC", Params: []string{"#c", ""}}, want: "TOPIC #c :\r\n"},
		{name: "leading colon", msg: Message{Command: "PRIVMSG", Params: []string{"#c", ":)"}}, want: "PRIVMSG #c ::)\r\n"},
		{name: "tags escaped", msg: Message{Tags: []Tag{{"time", "2026-01-01T00:00:00.000Z"}, {"+x", "a; b\\"}, {"flag", ""}}, Command: "PING"}, want: "@time=2026-01-01T00:00:00.000Z;+x=a\\:\\sb\\\\;flag PING\r\n"},
		{name: "middle param with space", msg: Message{Command: "X", Params: []string{"a b", "c"}}, err: ErrUnencodable},
		{name: "empty middle param", msg: Message{Command: "X", Params: []string{"", "c"}}, err: ErrUnencodable},
		{name: "newline in param", msg: Message{Command: "X", Params: []string{"a\nb"}}, err: ErrUnencodable},
		{name: "no command", msg: Message{Params: []string{"a"}}, err: ErrUnencodable},
		{name: "bad tag key", msg: Message{Tags: []Tag{{"a b", ""}}, Command: "X"}, err: ErrUnencodable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.msg.Bytes()
			if !errors.Is(err, tt.err) {
				t.Fatalf("Bytes() error = %v, want %v", err, tt.err)
			}
			if tt.err == nil && string(got) != tt.want {
				t.Errorf("Bytes() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTagLastWins(t *testing.T) {
	m, err := Parse("@a=1;a=2 PING")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.Tag("a"); !ok || v != "2" {
		t.Errorf(`Tag("a") = %q, %v; want "2", true`, v, ok)
	}
	if _, ok := m.Tag("b"); ok {
		t.Error(`Tag("b") present`)
	}
}

func BenchmarkParse(b *testing.B) {
	line := "@time=2026-01-01T00:00:00.000Z;msgid=0190d7a4-5b7c-7000-8000-000000000000 :nick!user@host PRIVMSG #channel :hello world, how are you"
	for b.Loop() {
		if _, err := Parse(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	m, _ := Parse("@time=2026-01-01T00:00:00.000Z;msgid=x :nick!user@host PRIVMSG #channel :hello world, how are you")
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf, _ = m.Append(buf[:0])
	}
}

// TestParseLenient: what a client must take from a server even though this
// server would refuse it from a client (limits, UTF-8, a malformed tag),
// and what no parser can make sense of.
func TestParseLenient(t *testing.T) {
	long := "PRIVMSG #c :" + strings.Repeat("x", 600)
	tooMany := "PING" + strings.Repeat(" x", MaxParams+1)
	for _, line := range []string{long, "PRIVMSG #c :\xff\xfe", "@b@d=1;ok=2 PING x", tooMany} {
		if _, err := Parse(line); err == nil {
			t.Errorf("Parse(%.40q) accepted it; the case tests nothing", line)
		}
		if _, err := ParseLenient(line); err != nil {
			t.Errorf("ParseLenient(%.40q): %v", line, err)
		}
	}
	m, _ := ParseLenient("@b@d=1;ok=2 PING x")
	if len(m.Tags) != 1 || m.Tags[0] != (Tag{Key: "ok", Value: "2"}) {
		t.Errorf("tags = %v, want the malformed one skipped", m.Tags)
	}
	for _, line := range []string{"", ":src", "@a=1"} {
		if _, err := ParseLenient(line); err == nil {
			t.Errorf("ParseLenient(%q) accepted a line without a command", line)
		}
	}
}

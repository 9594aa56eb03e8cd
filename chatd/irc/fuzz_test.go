package irc

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics and that every message it accepts
// round-trips: Parse(Append(Parse(x))) == Parse(x).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"PING :x",
		":nick!u@h PRIVMSG #chan :hello world",
		`@aaa=bbb;ccc;example.com/ddd=eee;+fff=a\:b\sc\\d :n PRIVMSG me :Hi`,
		"@label=1;+draft/reply=abc CHATHISTORY LATEST #c * 50",
		"CAP LS 302",
		"TOPIC #c :",
		"PRIVMSG #c ::)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := Parse(line)
		if err != nil {
			return
		}
		b, err := m.Bytes()
		if err != nil {
			t.Fatalf("Parse(%q) = %#v, which does not serialize: %v", line, m, err)
		}
		m2, err := Parse(string(b))
		if err != nil {
			t.Fatalf("re-Parse(%q) of %q: %v", b, line, err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("round trip of %q via %q (-first +second):\n%s", line, b, diff)
		}
	})
}

// FuzzLineReader checks the framing bound: no line longer than max comes out,
// and the reader terminates.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("A\r\nB\n"), 8)
	f.Add(bytes.Repeat([]byte("x"), 100), 16)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		max = 16 + (max&0xfff)%600
		lr := NewLineReader(bytes.NewReader(in), max)
		for range len(in) + 2 {
			l, err := lr.ReadLine()
			if errors.Is(err, ErrLineTooLong) {
				continue
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l)+1 > max {
				t.Fatalf("line of %d bytes exceeds max %d", len(l), max)
			}
		}
		t.Fatal("reader did not reach EOF")
	})
}

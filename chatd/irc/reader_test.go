package irc

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func readAll(lr *LineReader) (lines []string, tooLong int, err error) {
	for {
		l, err := lr.ReadLine()
		switch {
		case errors.Is(err, ErrLineTooLong):
			tooLong++
		case err != nil:
			return lines, tooLong, err
		default:
			lines = append(lines, string(l))
		}
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("y", 40)
	tests := []struct {
		name    string
		in      string
		max     int
		want    []string
		tooLong int
	}{
		{name: "CRLF and LF", in: "A\r\nB\nC\r\n", max: 32, want: []string{"A", "B", "C"}},
		{name: "partial line at EOF dropped", in: "A\r\nB", max: 32, want: []string{"A"}},
		{name: "empty lines kept", in: "\r\n\n", max: 32, want: []string{"", ""}},
		{name: "exact max", in: strings.Repeat("x", 30) + "\r\nok\n", max: 32, want: []string{strings.Repeat("x", 30), "ok"}},
		{name: "one over max", in: strings.Repeat("x", 31) + "\r\nok\n", max: 32, want: []string{"ok"}, tooLong: 1},
		{name: "far over max skipped", in: "a\n" + long + long + long + "\nb\n", max: 32, want: []string{"a", "b"}, tooLong: 1},
		{name: "two long lines", in: long + "\n" + long + "\nz\n", max: 32, want: []string{"z"}, tooLong: 2},
	}
	for _, tt := range tests {
		for _, r := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"bytewise", iotest.OneByteReader}, {"half", iotest.HalfReader}} {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				lines, tooLong, err := readAll(NewLineReader(r.wrap(strings.NewReader(tt.in)), tt.max))
				if err != io.EOF {
					t.Fatalf("final error = %v, want EOF", err)
				}
				if diff := cmp.Diff(tt.want, lines); diff != "" {
					t.Errorf("lines (-want +got):\n%s", diff)
				}
				if tooLong != tt.tooLong {
					t.Errorf("too-long count = %d, want %d", tooLong, tt.tooLong)
				}
			})
		}
	}
}

// TestLineReaderShrinks checks the idle-memory property: after a long line is
// consumed the reader gives back its grown buffer.
func TestLineReaderShrinks(t *testing.T) {
	in := strings.Repeat("x", 3000) + "\r\n"
	lr := NewLineReader(strings.NewReader(in+"short\r\n"), 4608)
	if l, err := lr.ReadLine(); err != nil || len(l) != 3000 {
		t.Fatalf("ReadLine = %d bytes, %v", len(l), err)
	}
	if _, err := lr.ReadLine(); err != nil {
		t.Fatal(err)
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatalf("err = %v, want EOF", err)
	}
	if c := cap(lr.buf); c > initialReadBuf {
		t.Errorf("idle buffer cap = %d, want <= %d", c, initialReadBuf)
	}
}

// waiter is an IdleWaiter over fixed input that records whether the
// LineReader held a buffer while it waited.
type waiter struct {
	lr      *LineReader
	data    []byte
	waits   int
	heldBuf int
}

func (w *waiter) WaitReadable() error {
	w.waits++
	if w.lr.buf != nil {
		w.heldBuf++
	}
	return nil
}

func (w *waiter) Read(p []byte) (int, error) {
	if len(w.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, w.data)
	w.data = w.data[n:]
	return n, nil
}

// TestLineReaderWaitsWithoutBuffer: over an IdleWaiter, a LineReader with
// nothing pending gives its buffer back before waiting for input.
func TestLineReaderWaitsWithoutBuffer(t *testing.T) {
	w := &waiter{data: []byte("PING a\r\nPING b\r\n")}
	lr := NewLineReader(w, 512)
	w.lr = lr
	for _, want := range []string{"PING a", "PING b"} {
		line, err := lr.ReadLine()
		if err != nil || string(line) != want {
			t.Fatalf("ReadLine = %q, %v; want %q", line, err, want)
		}
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
	if w.waits == 0 || w.heldBuf != 0 {
		t.Errorf("%d waits, %d of them holding a buffer; want some, none", w.waits, w.heldBuf)
	}
}
